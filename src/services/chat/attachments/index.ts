import { inflateSync } from 'node:zlib'

/**
 * Checks the files a person attaches to a message against what Bedrock's Converse API accepts,
 * and describes each accepted file as plain data that the Bedrock module maps to an `image` block
 * ({ format, source: { bytes } }) or a `document` block ({ format, name, source: { bytes } }).
 *
 * The real type comes from the bytes (magic numbers, a zip's central directory, a compound file's
 * directory), never from the browser's MIME type or the extension alone. Text types have no magic
 * number, so they are told by their extension (or MIME type when there is no extension) and must
 * be UTF-8 with no NUL bytes. Nothing here throws: a file that cannot be read is refused with a
 * sentence the person can act on.
 */

export type AttachmentKind = 'image' | 'document'
export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp'
export type DocumentFormat = 'pdf' | 'csv' | 'doc' | 'docx' | 'xls' | 'xlsx' | 'html' | 'txt' | 'md'

type AcceptedCommon = {
  /** Converse-safe (letters, digits, single spaces, hyphens, parentheses, square brackets), unique within the message. */
  name: string
  /** The file's own name, for display. */
  originalName: string
  mediaType: string
  size: number
  bytes: Uint8Array
  /** Set when the file is not what its name says (a PDF named .png): say so next to the attachment. */
  note?: string
}
export type AcceptedImage = AcceptedCommon & { kind: 'image'; format: ImageFormat; width: number; height: number }
/** `pages` is known for most PDFs; the context-window estimate uses it. */
export type AcceptedDocument = AcceptedCommon & { kind: 'document'; format: DocumentFormat; pages?: number }
export type AcceptedAttachment = AcceptedImage | AcceptedDocument

export type RefusedAttachment = { originalName: string; reason: string }
export type IncomingFile = { name: string; type?: string; bytes: Uint8Array }
/**
 * What the message already carries (files added in an earlier batch), so the counts and the
 * names stay within the limits across batches.
 */
export type ExistingAttachments = { images: number; documents: number; names?: readonly string[] }

const MB = 1_000_000

/**
 * Converse's limits, from the Amazon Bedrock API reference:
 * - Message.content: "You can include up to 20 images. Each image's size, height, and width must
 *   be no more than 3.75 MB, 8000 px, and 8000 px, respectively. You can include up to five
 *   documents. Each document's size must be no more than 4.5 MB."
 *   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html
 * - DocumentBlock.name: alphanumerics, whitespace (no more than one in a row), hyphens,
 *   parentheses and square brackets; length 1 to 200. DocumentBlock.format: pdf | csv | doc |
 *   docx | xls | xlsx | html | txt | md.
 *   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html
 *
 * The reference states the counts on a message, but Bedrock enforces them on the whole request
 * ("You can't include more than 5 documents in a request."; "too many images and documents:
 * 21 + 0 > 20"; "Messages can't contain duplicate document names.", reported in
 * aws-samples/generative-ai-use-cases#1685 and cline/cline#1844): the history sent with a message
 * must stay within them too, which fitToContext (context-window.ts) takes care of.
 *
 * MB is taken as 1,000,000 bytes: if Bedrock means MiB, we refuse a few files it would take,
 * rather than send one it refuses.
 */
export const ATTACHMENT_LIMITS = {
  maxImageBytes: 3.75 * MB,
  /** Pixels, on each side. */
  maxImageSide: 8000,
  maxImages: 20,
  maxDocumentBytes: 4.5 * MB,
  maxDocuments: 5,
  /** Bedrock allows 200; shorter leaves less room for text aimed at the model (the reference warns the name is open to prompt injection). */
  maxNameLength: 100,
} as const

/** `label` with its article, as it reads in a sentence: "an HTML file". */
type TypeInfo = { label: string; mediaType: string; extensions: readonly string[] }

const IMAGE_TYPES: Record<ImageFormat, TypeInfo> = {
  png: { label: 'a PNG image', mediaType: 'image/png', extensions: ['png'] },
  jpeg: { label: 'a JPEG image', mediaType: 'image/jpeg', extensions: ['jpg', 'jpeg'] },
  gif: { label: 'a GIF image', mediaType: 'image/gif', extensions: ['gif'] },
  webp: { label: 'a WebP image', mediaType: 'image/webp', extensions: ['webp'] },
}

const DOCUMENT_TYPES: Record<DocumentFormat, TypeInfo> = {
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

const TEXT_FORMATS = ['csv', 'txt', 'md', 'html'] as const satisfies readonly DocumentFormat[]
type TextFormat = (typeof TEXT_FORMATS)[number]

/** For the file input: every extension we accept. */
export const ACCEPT_ATTRIBUTE = [...Object.values(IMAGE_TYPES), ...Object.values(DOCUMENT_TYPES)]
  .flatMap((t) => t.extensions.map((e) => `.${e}`))
  .join(',')

const IMAGE_ADVICE = 'use PNG, JPEG, GIF or WebP'
const SUPPORTED_SENTENCE =
  'attach PNG, JPEG, GIF or WebP images, or PDF, CSV, TXT, Markdown, HTML, Word or Excel documents'

/** For the hint next to the file input. */
export const ATTACHMENT_HINT =
  `Images (PNG, JPEG, GIF, WebP) up to ${megabytes(ATTACHMENT_LIMITS.maxImageBytes)} and ` +
  `${ATTACHMENT_LIMITS.maxImageSide} pixels a side, ${ATTACHMENT_LIMITS.maxImages} per message; documents ` +
  `(PDF, CSV, TXT, Markdown, HTML, Word, Excel) up to ${megabytes(ATTACHMENT_LIMITS.maxDocumentBytes)}, ` +
  `${ATTACHMENT_LIMITS.maxDocuments} per message.`

// ---------------------------------------------------------------------------------------------
// Checking

type Candidate = Omit<AcceptedImage, 'name'> | Omit<AcceptedDocument, 'name'>

/**
 * Sorts files into accepted and refused, in the order given. Counts are checked against the
 * limits after adding `existing`, and only accepted files count: the 21st good image is refused,
 * a damaged one takes no place, and documents still fit after the images are full.
 */
export function checkAttachments(
  files: readonly IncomingFile[],
  existing: ExistingAttachments = { images: 0, documents: 0 },
): { accepted: AcceptedAttachment[]; refused: RefusedAttachment[] } {
  const accepted: AcceptedAttachment[] = []
  const refused: RefusedAttachment[] = []
  let images = count(existing?.images)
  let documents = count(existing?.documents)
  const taken = new Set((Array.isArray(existing?.names) ? existing.names : []).map((n) => String(n).toLowerCase()))

  for (const file of Array.isArray(files) ? files : []) {
    const originalName = displayName(file?.name)
    const outcome = checkSafely(file, originalName)
    if ('reason' in outcome) {
      refused.push(outcome)
      continue
    }
    if (outcome.kind === 'image' && images >= ATTACHMENT_LIMITS.maxImages) {
      refused.push(refuse(originalName, `a message can carry at most ${ATTACHMENT_LIMITS.maxImages} images.`))
      continue
    }
    if (outcome.kind === 'document' && documents >= ATTACHMENT_LIMITS.maxDocuments) {
      refused.push(refuse(originalName, `a message can carry at most ${ATTACHMENT_LIMITS.maxDocuments} documents.`))
      continue
    }
    if (outcome.kind === 'image') images += 1
    else documents += 1
    const name = uniqueName(converseName(originalName, outcome.kind), taken)
    accepted.push({ ...outcome, name } as AcceptedAttachment)
  }
  return { accepted, refused }
}

function checkSafely(file: IncomingFile, originalName: string): Candidate | RefusedAttachment {
  try {
    return checkOne(file, originalName)
  } catch {
    return refuse(originalName, 'the file could not be read.')
  }
}

function checkOne(file: IncomingFile, originalName: string): Candidate | RefusedAttachment {
  const bytes = asBytes(file?.bytes)
  if (!bytes) return refuse(originalName, 'the file could not be read.')
  if (bytes.length === 0) return refuse(originalName, 'the file is empty.')
  const extension = extensionOf(originalName)
  const sniffed = sniff(bytes) ?? textType(extension, file?.type)

  if (!sniffed) return refuse(originalName, unknownReason(extension))
  if ('unsupported' in sniffed) return refuse(originalName, sniffed.unsupported)
  if (sniffed.kind === 'image') return checkImage(bytes, sniffed.format, originalName, extension)
  return checkDocument(bytes, sniffed.format, originalName, extension)
}

function checkImage(bytes: Uint8Array, format: ImageFormat, originalName: string, extension: string): Candidate | RefusedAttachment {
  const { maxImageBytes, maxImageSide } = ATTACHMENT_LIMITS
  if (bytes.length > maxImageBytes) {
    return refuse(originalName, `the image is ${megabytes(bytes.length)}; images can be at most ${megabytes(maxImageBytes)}.`)
  }
  const size = imageSize(bytes, format)
  if (!size) return refuse(originalName, `the ${noun(IMAGE_TYPES[format])}'s size could not be read; it may be damaged.`)
  if (size.width > maxImageSide || size.height > maxImageSide) {
    return refuse(
      originalName,
      `the image is ${size.width} × ${size.height} pixels; images can be at most ${maxImageSide} pixels on each side.`,
    )
  }
  return {
    kind: 'image',
    format,
    originalName,
    mediaType: IMAGE_TYPES[format].mediaType,
    size: bytes.length,
    bytes,
    width: size.width,
    height: size.height,
    ...mismatchNote(originalName, extension, format, IMAGE_TYPES[format]),
  }
}

function checkDocument(bytes: Uint8Array, format: DocumentFormat, originalName: string, extension: string): Candidate | RefusedAttachment {
  const { maxDocumentBytes } = ATTACHMENT_LIMITS
  if (bytes.length > maxDocumentBytes) {
    return refuse(originalName, `the document is ${megabytes(bytes.length)}; documents can be at most ${megabytes(maxDocumentBytes)}.`)
  }
  if (isTextFormat(format)) {
    const problem = textProblem(bytes)
    if (problem) return refuse(originalName, problem)
  }
  const pages = format === 'pdf' ? pdfPageCount(bytes) : undefined
  return {
    kind: 'document',
    format,
    originalName,
    mediaType: DOCUMENT_TYPES[format].mediaType,
    size: bytes.length,
    bytes,
    ...(pages ? { pages } : {}),
    ...mismatchNote(originalName, extension, format, DOCUMENT_TYPES[format]),
  }
}

/**
 * A file whose name says one supported type and whose bytes say another is sent as what it
 * really is: the bytes are what Bedrock reads, and a PDF named .png is still a readable PDF. The
 * note lets the page say so rather than change the type silently.
 */
function mismatchNote(originalName: string, extension: string, format: string, info: TypeInfo): { note?: string } {
  const claimed = typeForExtension(extension)
  if (!claimed || claimed.format === format) return {}
  return { note: `${originalName} is ${info.label}, not ${claimed.info.label}; it is sent as ${info.label}.` }
}

function unknownReason(extension: string): string {
  const claimed = typeForExtension(extension)
  if (claimed) return `this is not a valid ${noun(claimed.info)}; it may be damaged, or a different kind of file.`
  return `this kind of file is not supported; ${SUPPORTED_SENTENCE}.`
}

function noun(info: TypeInfo): string {
  return info.label.replace(/^an? /, '')
}

function refuse(originalName: string, sentence: string): RefusedAttachment {
  return { originalName, reason: `${originalName}: ${sentence}` }
}

// ---------------------------------------------------------------------------------------------
// Names

/**
 * A Converse-safe name from a file name: the extension dropped, accents folded (é → e), every
 * other disallowed run turned into one space. Non-Latin names fold to nothing and fall back to
 * "document" or "image" (made unique by the caller).
 */
export function converseName(fileName: string, kind: AttachmentKind = 'document'): string {
  return cleanName(stemOf(String(fileName ?? ''))) || kind
}

/**
 * Makes names unique for one request: Bedrock refuses a request whose messages repeat a document
 * name, even across turns. The Bedrock module can pass every document name of the history it
 * sends; the second "report" becomes "report (2)".
 */
export function uniqueConverseNames(names: readonly string[]): string[] {
  const taken = new Set<string>()
  return names.map((n) => uniqueName(cleanName(String(n ?? '')) || 'document', taken))
}

function cleanName(text: string): string {
  const folded = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
  const cleaned = folded
    .replace(/[^A-Za-z0-9\-()[\] ]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim()
  if (!/[A-Za-z0-9]/.test(cleaned)) return ''
  return cleaned.slice(0, ATTACHMENT_LIMITS.maxNameLength).trim()
}

/** Case-insensitive, since two names differing only in case read as the same to a person and the model. */
function uniqueName(base: string, taken: Set<string>): string {
  let name = base
  for (let n = 2; taken.has(name.toLowerCase()); n++) {
    const suffix = ` (${n})`
    name = base.slice(0, ATTACHMENT_LIMITS.maxNameLength - suffix.length).trim() + suffix
  }
  taken.add(name.toLowerCase())
  return name
}

/** Browsers send a bare name; some older ones a path (C:\fakepath\photo.png). */
function displayName(name: unknown): string {
  const text = typeof name === 'string' ? name : ''
  const base = text.split(/[\\/]/).pop()?.trim() ?? ''
  return base || 'unnamed file'
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return ''
  const extension = name.slice(dot + 1)
  return /^[A-Za-z0-9]{1,10}$/.test(extension) ? extension.toLowerCase() : ''
}

function stemOf(name: string): string {
  const extension = extensionOf(name)
  return extension ? name.slice(0, -(extension.length + 1)) : name
}

function typeForExtension(extension: string): { format: ImageFormat | DocumentFormat; info: TypeInfo } | undefined {
  if (!extension) return undefined
  for (const [format, info] of [...Object.entries(IMAGE_TYPES), ...Object.entries(DOCUMENT_TYPES)]) {
    if (info.extensions.includes(extension)) return { format: format as ImageFormat | DocumentFormat, info }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Detection

type Sniffed =
  | { kind: 'image'; format: ImageFormat }
  | { kind: 'document'; format: DocumentFormat }
  | { unsupported: string }

/** The type the bytes announce, for every format with a signature; undefined for text and the unknown. */
function sniff(b: Uint8Array): Sniffed | undefined {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', format: 'png' }
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { kind: 'image', format: 'jpeg' }
  if (startsWith(b, 'GIF87a') || startsWith(b, 'GIF89a')) return { kind: 'image', format: 'gif' }
  if (startsWith(b, 'RIFF') && startsWith(b, 'WEBP', 8)) return { kind: 'image', format: 'webp' }
  if (startsWith(b, '%PDF-')) return { kind: 'document', format: 'pdf' }
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06])) return sniffZip(b)
  if (startsWith(b, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return sniffCompoundFile(b)
  return sniffUnsupported(b)
}

/** Common formats people try, named so the refusal can say what to do instead. */
function sniffUnsupported(b: Uint8Array): Sniffed | undefined {
  const image = (what: string) => ({ unsupported: `${what} images are not supported; ${IMAGE_ADVICE}.` })
  // BMP: "BM", then a DIB header whose size is one of the known ones (a text starting "BM" is not one)
  if (startsWith(b, 'BM') && [12, 40, 52, 56, 64, 108, 124].includes(u32le(b, 14))) return image('BMP')
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return image('TIFF')
  if (startsWith(b, 'ftyp', 4)) {
    const brand = ascii(b, 8, 4)
    if (['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return image('HEIC')
    if (brand === 'avif' || brand === 'avis') return image('AVIF')
  }
  if (startsWith(b, '{\\rtf')) {
    return { unsupported: 'RTF documents are not supported; save it as Word (DOCX), PDF or plain text and attach that.' }
  }
  return undefined
}

function sniffZip(b: Uint8Array): Sniffed | undefined {
  const names = zipEntryNames(b)
  if (!names) return undefined
  if (names.includes('[Content_Types].xml')) {
    if (names.some((n) => n.startsWith('word/'))) return { kind: 'document', format: 'docx' }
    if (names.some((n) => n.startsWith('xl/'))) return { kind: 'document', format: 'xlsx' }
    if (names.some((n) => n.startsWith('ppt/'))) {
      return { unsupported: 'PowerPoint presentations are not supported; save it as PDF and attach that.' }
    }
  }
  if (names.includes('mimetype') && names.includes('content.xml')) {
    return { unsupported: 'OpenDocument files are not supported; save it as Word (DOCX), Excel (XLSX) or PDF and attach that.' }
  }
  return undefined
}

function sniffCompoundFile(b: Uint8Array): Sniffed | undefined {
  const names = compoundFileNames(b)
  if (!names) return undefined
  if (names.includes('WordDocument')) return { kind: 'document', format: 'doc' }
  if (names.includes('Workbook') || names.includes('Book')) return { kind: 'document', format: 'xls' }
  if (names.includes('PowerPoint Document')) {
    return { unsupported: 'PowerPoint presentations are not supported; save it as PDF and attach that.' }
  }
  // Office encrypts a password-protected DOCX or XLSX into a compound file with this stream
  if (names.includes('EncryptedPackage')) {
    return { unsupported: 'password-protected files are not supported; remove the password and attach it again.' }
  }
  return undefined
}

const TEXT_MEDIA_TYPES: Record<string, TextFormat> = {
  'text/plain': 'txt',
  'text/csv': 'csv',
  'text/markdown': 'md',
  'text/html': 'html',
}

/** Text has no signature: the extension says which kind, or the MIME type when there is no extension. */
function textType(extension: string, mediaType: unknown): Sniffed | undefined {
  const claimed = typeForExtension(extension)
  if (claimed) return isTextFormat(claimed.format) ? { kind: 'document', format: claimed.format } : undefined
  if (extension) return undefined
  const base = typeof mediaType === 'string' ? mediaType.split(';')[0]!.trim().toLowerCase() : ''
  const format = TEXT_MEDIA_TYPES[base]
  return format ? { kind: 'document', format } : undefined
}

function isTextFormat(format: string): format is TextFormat {
  return (TEXT_FORMATS as readonly string[]).includes(format)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function textProblem(b: Uint8Array): string | undefined {
  if (startsWith(b, [0xff, 0xfe]) || startsWith(b, [0xfe, 0xff])) {
    return 'the file is saved as UTF-16; save it as UTF-8 and attach it again.'
  }
  if (b.includes(0)) return 'the file holds binary data, not text.'
  try {
    strictUtf8.decode(b)
    return undefined
  } catch {
    return 'the file is not UTF-8 text (it may use an older encoding such as Windows-1252); save it as UTF-8 and attach it again.'
  }
}

// ---------------------------------------------------------------------------------------------
// Image dimensions, from the headers only

type Size = { width: number; height: number }

function imageSize(b: Uint8Array, format: ImageFormat): Size | undefined {
  const size = format === 'png' ? pngSize(b) : format === 'gif' ? gifSize(b) : format === 'webp' ? webpSize(b) : jpegSize(b)
  return size && size.width > 0 && size.height > 0 ? size : undefined
}

/** The IHDR chunk comes first: width and height, big-endian, at 16 and 20. */
function pngSize(b: Uint8Array): Size | undefined {
  if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR') return undefined
  return { width: u32be(b, 16), height: u32be(b, 20) }
}

/** The logical screen: width and height, little-endian, at 6 and 8. */
function gifSize(b: Uint8Array): Size | undefined {
  if (b.length < 10) return undefined
  return { width: u16le(b, 6), height: u16le(b, 8) }
}

/** The first chunk after "WEBP" is VP8 (lossy), VP8L (lossless) or VP8X (extended). */
function webpSize(b: Uint8Array): Size | undefined {
  const chunk = ascii(b, 12, 4)
  if (chunk === 'VP8 ' && b.length >= 30 && startsWith(b, [0x9d, 0x01, 0x2a], 23)) {
    return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff }
  }
  if (chunk === 'VP8L' && b.length >= 25 && b[20] === 0x2f) {
    const bits = u32le(b, 21)
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 }
  }
  if (chunk === 'VP8X' && b.length >= 30) {
    return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 }
  }
  return undefined
}

/** Walks the marker segments to the first start-of-frame (SOF0-SOF15 but DHT, JPG and DAC). */
function jpegSize(b: Uint8Array): Size | undefined {
  let p = 2
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) return undefined
    const marker = b[p + 1]!
    if (marker === 0xff) {
      p += 1 // fill byte
      continue
    }
    p += 2
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue // no length
    if (marker === 0xd9 || marker === 0xda) return undefined // end of image, or scan data before any frame
    const length = u16be(b, p)
    if (length < 2) return undefined
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (p + 7 > b.length) return undefined
      return { height: u16be(b, p + 3), width: u16be(b, p + 5) }
    }
    p += length
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Containers: a zip's central directory, a compound file's directory, a PDF's page objects

/** Entry names from the central directory (found through the end record), or undefined if it cannot be read. */
function zipEntryNames(b: Uint8Array): string[] | undefined {
  const lowest = Math.max(0, b.length - 22 - 0xffff) // the end record sits before a comment of at most 64 KiB
  for (let end = b.length - 22; end >= lowest; end--) {
    if (u32le(b, end) !== 0x06054b50) continue
    const entries = u16le(b, end + 10)
    let p = u32le(b, end + 16)
    const names: string[] = []
    for (let i = 0; i < entries; i++) {
      if (p + 46 > b.length || u32le(b, p) !== 0x02014b50) return undefined
      const nameLength = u16le(b, p + 28)
      names.push(ascii(b, p + 46, nameLength))
      p += 46 + nameLength + u16le(b, p + 30) + u16le(b, p + 32)
    }
    return names
  }
  return undefined
}

const END_OF_CHAIN = 0xfffffffe

/**
 * Names in a compound file's (OLE2) directory, following the directory's sector chain through the
 * FAT. Only the 109 FAT sectors listed in the header are read: with 512-byte sectors they cover
 * 7 MB, more than a document may weigh.
 */
function compoundFileNames(b: Uint8Array): string[] | undefined {
  const shift = u16le(b, 30)
  if (b.length < 512 || (shift !== 9 && shift !== 12)) return undefined
  const sectorSize = 1 << shift
  const offset = (sector: number) => (sector + 1) * sectorSize
  const fat = Array.from({ length: Math.min(u32le(b, 44), 109) }, (_, i) => u32le(b, 76 + 4 * i))
  const perFatSector = sectorSize / 4
  const next = (sector: number) => {
    const fatSector = fat[Math.floor(sector / perFatSector)]
    return fatSector === undefined ? END_OF_CHAIN : u32le(b, offset(fatSector) + (sector % perFatSector) * 4)
  }
  const names: string[] = []
  const maxSectors = Math.ceil(b.length / sectorSize)
  let sector = u32le(b, 48)
  for (let seen = 0; sector < 0xfffffffa && seen < maxSectors; seen++) {
    const start = offset(sector)
    if (start + sectorSize > b.length) break
    for (let entry = start; entry < start + sectorSize; entry += 128) {
      const nameBytes = u16le(b, entry + 64) // including the terminating NUL
      if (nameBytes >= 4 && nameBytes <= 64) names.push(utf16le(b, entry, nameBytes - 2))
    }
    sector = next(sector)
  }
  return names.length > 0 ? names : undefined
}

const PAGE_OBJECT = /\/Type\s*\/Page(?![A-Za-z])/g
const OBJECT_STREAM = /\/Type\s*\/ObjStm(?![A-Za-z])/g
/** A bound on what one PDF may inflate to while counting, against compression bombs. */
const MAX_INFLATED_BYTES = 64 * MB

/**
 * Page objects in a PDF: those in plain sight, plus those inside compressed object streams
 * (PDF 1.5+, which most PDF writers now use). Earlier revisions kept by incremental updates can
 * be counted twice, which errs on the high side, as an estimate should. Undefined when none are
 * found (an encrypted or unusual file).
 */
export function pdfPageCount(b: Uint8Array): number | undefined {
  try {
    const text = latin1.decode(b) // one character per byte: indexes are offsets
    let pages = text.match(PAGE_OBJECT)?.length ?? 0
    let budget = MAX_INFLATED_BYTES
    for (const match of text.matchAll(OBJECT_STREAM)) {
      const data = streamData(text, b, match.index)
      if (!data || budget <= 0) continue
      try {
        const inflated = inflateSync(data, { maxOutputLength: budget })
        budget -= inflated.length
        pages += latin1.decode(inflated).match(PAGE_OBJECT)?.length ?? 0
      } catch {
        // not Flate, encrypted, or over the bound: these pages go uncounted
      }
    }
    return pages > 0 ? pages : undefined
  } catch {
    return undefined
  }
}

/** The bytes between the "stream" keyword that follows a dictionary and its "endstream". */
function streamData(text: string, b: Uint8Array, from: number): Uint8Array | undefined {
  const keyword = text.indexOf('stream', from)
  if (keyword < 0) return undefined
  let start = keyword + 'stream'.length
  if (text[start] === '\r') start += 1
  if (text[start] === '\n') start += 1
  const end = text.indexOf('endstream', start)
  return end < 0 ? undefined : b.subarray(start, end)
}

// ---------------------------------------------------------------------------------------------
// Bytes

function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  return undefined
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0
}

function startsWith(b: Uint8Array, signature: string | readonly number[], at = 0): boolean {
  const codes = typeof signature === 'string' ? [...signature].map((c) => c.charCodeAt(0)) : signature
  if (at + codes.length > b.length) return false
  return codes.every((code, i) => b[at + i] === code)
}

const latin1 = new TextDecoder('latin1')

function ascii(b: Uint8Array, at: number, length: number): string {
  return latin1.decode(b.subarray(at, Math.min(b.length, at + length)))
}

function utf16le(b: Uint8Array, at: number, length: number): string {
  let text = ''
  for (let i = 0; i + 1 < length; i += 2) text += String.fromCharCode(u16le(b, at + i))
  return text
}

const byte = (b: Uint8Array, i: number) => b[i] ?? 0
const u16le = (b: Uint8Array, i: number) => byte(b, i) | (byte(b, i + 1) << 8)
const u16be = (b: Uint8Array, i: number) => (byte(b, i) << 8) | byte(b, i + 1)
const u24le = (b: Uint8Array, i: number) => byte(b, i) | (byte(b, i + 1) << 8) | (byte(b, i + 2) << 16)
const u32le = (b: Uint8Array, i: number) => (u24le(b, i) | (byte(b, i + 3) << 24)) >>> 0
const u32be = (b: Uint8Array, i: number) => ((byte(b, i) << 24) | (byte(b, i + 1) << 16) | (byte(b, i + 2) << 8) | byte(b, i + 3)) >>> 0

/** "3.75 MB", "5.21 MB": rounded up, so a file just over a limit never reads as equal to it. */
function megabytes(bytes: number): string {
  return `${Math.ceil(bytes / 10_000) / 100} MB`
}
