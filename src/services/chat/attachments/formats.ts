/**
 * The formats Converse takes, as a person and the page name them: one table, so the file input's
 * accept list, the sentences and the detection agree on what "a Word document" is.
 */

export type AttachmentKind = 'image' | 'document'
export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp'
export type DocumentFormat = 'pdf' | 'csv' | 'doc' | 'docx' | 'xls' | 'xlsx' | 'html' | 'txt' | 'md'
export type Format = ImageFormat | DocumentFormat

/** `label` with its article, as it reads in a sentence: "an HTML file". */
export type TypeInfo = { label: string; mediaType: string; extensions: readonly string[] }

export const IMAGE_TYPES: Record<ImageFormat, TypeInfo> = {
  png: { label: 'a PNG image', mediaType: 'image/png', extensions: ['png'] },
  jpeg: { label: 'a JPEG image', mediaType: 'image/jpeg', extensions: ['jpg', 'jpeg'] },
  gif: { label: 'a GIF image', mediaType: 'image/gif', extensions: ['gif'] },
  webp: { label: 'a WebP image', mediaType: 'image/webp', extensions: ['webp'] },
}

export const DOCUMENT_TYPES: Record<DocumentFormat, TypeInfo> = {
  pdf: { label: 'a PDF document', mediaType: 'application/pdf', extensions: ['pdf'] },
  csv: { label: 'a CSV file', mediaType: 'text/csv', extensions: ['csv'] },
  txt: { label: 'a text file', mediaType: 'text/plain', extensions: ['txt'] },
  md: { label: 'a Markdown file', mediaType: 'text/markdown', extensions: ['md', 'markdown'] },
  html: { label: 'an HTML file', mediaType: 'text/html', extensions: ['html', 'htm'] },
  docx: {
    label: 'a Word document',
    mediaType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    extensions: ['docx'],
  },
  xlsx: {
    label: 'an Excel workbook',
    mediaType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    extensions: ['xlsx'],
  },
  doc: { label: 'a Word 97-2003 document', mediaType: 'application/msword', extensions: ['doc'] },
  xls: { label: 'an Excel 97-2003 workbook', mediaType: 'application/vnd.ms-excel', extensions: ['xls'] },
}

/** Formats with no signature in their bytes: told by name, and checked as UTF-8. */
export const TEXT_FORMATS = ['csv', 'txt', 'md', 'html'] as const satisfies readonly DocumentFormat[]
export type TextFormat = (typeof TEXT_FORMATS)[number]

export function isTextFormat(format: string): format is TextFormat {
  return (TEXT_FORMATS as readonly string[]).includes(format)
}

export function typeInfo(format: Format): TypeInfo {
  return format in IMAGE_TYPES ? IMAGE_TYPES[format as ImageFormat] : DOCUMENT_TYPES[format as DocumentFormat]
}

/** The supported format a file's extension names ("jpg" → jpeg), if any. */
export function formatForExtension(extension: string): Format | undefined {
  if (!extension) return undefined
  for (const [format, info] of [...Object.entries(IMAGE_TYPES), ...Object.entries(DOCUMENT_TYPES)]) {
    if (info.extensions.includes(extension)) return format as Format
  }
  return undefined
}
