import { fileTypeFromBuffer } from 'file-type'
import { imageDimensionsFromData } from 'image-dimensions'
import { compoundFileEntryNames } from './compound-file.ts'
import { formatForExtension, isTextFormat, type DocumentFormat, type ImageFormat, type TextFormat } from './formats.ts'

/**
 * What a file really is, from its bytes, never from the browser's MIME type or the extension
 * alone (text aside: it has no signature). The bytes are read by libraries made for untrusted
 * input: file-type (signatures, and the entries of a zip, which is how it tells DOCX from XLSX
 * from PPTX) and image-dimensions (width and height from the headers). What they do not say is
 * small and bounded here: which Office program wrote a compound file (compound-file.ts), a PNG cut
 * inside its first chunk, and the GIF and BMP signatures, which file-type reads more loosely than
 * text files allow (see `confirmed`).
 */

/** Formats people often try that Converse does not take: each gets a sentence saying what to do. */
export type Unsupported = 'bmp' | 'tiff' | 'heic' | 'avif' | 'rtf' | 'powerpoint' | 'opendocument' | 'encrypted'

export type Sniffed = { kind: 'image'; format: ImageFormat } | { kind: 'document'; format: DocumentFormat } | { unsupported: Unsupported }

const image = (format: ImageFormat): Sniffed => ({ kind: 'image', format })
const doc = (format: DocumentFormat): Sniffed => ({ kind: 'document', format })
const unsupported = (what: Unsupported): Sniffed => ({ unsupported: what })

/**
 * file-type's `ext` for what it recognises, mapped to what we do with it. Office's macro-enabled
 * and template variants are the same formats inside (a DOCM is a DOCX with a macro part) and were
 * taken as such before; camera RAW files are TIFF files. Anything not listed is treated as
 * unrecognised: text by its name, or refused as an unknown kind.
 */
const DETECTED: Record<string, Sniffed> = {
  png: image('png'),
  apng: image('png'), // an animated PNG is a PNG; viewers show its first frame
  jpg: image('jpeg'),
  gif: image('gif'),
  webp: image('webp'),
  pdf: doc('pdf'),
  ...each(['docx', 'docm', 'dotx', 'dotm'], doc('docx')),
  ...each(['xlsx', 'xlsm', 'xltx', 'xltm'], doc('xlsx')),
  ...each(['pptx', 'pptm', 'ppsx', 'ppsm', 'potx', 'potm'], unsupported('powerpoint')),
  ...each(['odt', 'ott', 'ods', 'ots', 'odp', 'otp', 'odg', 'otg'], unsupported('opendocument')),
  bmp: unsupported('bmp'),
  ...each(['tif', 'cr2', 'nef', 'arw', 'dng'], unsupported('tiff')),
  heic: unsupported('heic'),
  avif: unsupported('avif'),
  rtf: unsupported('rtf'),
}

function each(extensions: readonly string[], sniffed: Sniffed): Record<string, Sniffed> {
  return Object.fromEntries(extensions.map((e) => [e, sniffed]))
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
/** Sizes of the DIB headers a BMP can have, right after its 14-byte file header. */
const BMP_HEADER_SIZES = [12, 40, 52, 56, 64, 108, 124]

/** The type the bytes announce, for every format with a signature; undefined for text and the unknown. */
export async function sniff(bytes: Uint8Array): Promise<Sniffed | undefined> {
  const detected = await fileTypeFromBuffer(bytes)
  if (!detected) {
    // file-type reads a PNG's chunks and says nothing when even the first is cut off; the
    // signature still says what the file meant to be, so the refusal can call it damaged
    return startsWith(bytes, PNG_SIGNATURE) ? image('png') : undefined
  }
  if (detected.ext === 'cfb') return compoundFile(bytes)
  const sniffed = DETECTED[detected.ext]
  return sniffed && confirmed(detected.ext, bytes) ? sniffed : undefined
}

/**
 * file-type takes "GIF" and "BM" alone for a GIF and a BMP, and plenty of text starts so ("GIF
 * exports", "BMI,weight"): a CSV would be refused as an image. The GIF version and the BMP's
 * header size tell them apart, as before.
 */
function confirmed(ext: string, b: Uint8Array): boolean {
  if (ext === 'gif') return startsWith(b, 'GIF87a') || startsWith(b, 'GIF89a')
  if (ext === 'bmp') return b.length >= 18 && BMP_HEADER_SIZES.includes(new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(14, true))
  return true
}

function compoundFile(bytes: Uint8Array): Sniffed | undefined {
  const names = compoundFileEntryNames(bytes)
  if (!names) return undefined
  if (names.has('WordDocument')) return doc('doc')
  if (names.has('Workbook') || names.has('Book')) return doc('xls')
  if (names.has('PowerPoint Document')) return unsupported('powerpoint')
  // Office encrypts a password-protected DOCX or XLSX into a compound file with this stream
  if (names.has('EncryptedPackage')) return unsupported('encrypted')
  return undefined
}

const TEXT_MEDIA_TYPES: Record<string, TextFormat> = {
  'text/plain': 'txt',
  'text/csv': 'csv',
  'text/markdown': 'md',
  'text/html': 'html',
}

/** Text has no signature: the extension says which kind, or the MIME type when there is no extension. */
export function textType(extension: string, mediaType: unknown): { kind: 'document'; format: TextFormat } | undefined {
  const claimed = formatForExtension(extension)
  if (claimed) return isTextFormat(claimed) ? { kind: 'document', format: claimed } : undefined
  if (extension) return undefined
  const base = typeof mediaType === 'string' ? mediaType.split(';')[0]!.trim().toLowerCase() : ''
  const format = TEXT_MEDIA_TYPES[base]
  return format ? { kind: 'document', format } : undefined
}

export type TextProblem = 'utf16' | 'binary' | 'not-utf8'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Converse reads text documents as UTF-8. */
export function textProblem(b: Uint8Array): TextProblem | undefined {
  if (startsWith(b, [0xff, 0xfe]) || startsWith(b, [0xfe, 0xff])) return 'utf16'
  if (b.includes(0)) return 'binary'
  try {
    strictUtf8.decode(b)
    return undefined
  } catch {
    return 'not-utf8'
  }
}

/** Width and height as the image's headers state them (EXIF rotation not applied, as before); undefined for a cut or damaged file. */
export function imageSize(bytes: Uint8Array, format: ImageFormat): { width: number; height: number } | undefined {
  const size = imageDimensionsFromData(bytes)
  if (!size || size.type !== format || !(size.width > 0 && size.height > 0)) return undefined
  return { width: size.width, height: size.height }
}

function startsWith(b: Uint8Array, signature: string | readonly number[]): boolean {
  const codes = typeof signature === 'string' ? [...signature].map((c) => c.charCodeAt(0)) : signature
  return codes.length <= b.length && codes.every((code, i) => b[i] === code)
}
