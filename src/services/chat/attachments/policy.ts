import {
  DOCUMENT_TYPES,
  IMAGE_TYPES,
  formatForExtension,
  isTextFormat,
  typeInfo,
  type DocumentFormat,
  type Format,
  type ImageFormat,
  type TypeInfo,
} from './formats.ts'
import { MAX_NAME_LENGTH, converseName, displayName, extensionOf, uniqueName } from './names.ts'
import { pdfPageCount } from './pdf-pages.ts'
import { imageSize, sniff, textProblem, textType, type TextProblem, type Unsupported } from './sniff.ts'

/**
 * Checks the files a person attaches to a message against what Bedrock's Converse API accepts,
 * and describes each accepted file as plain data that the Bedrock module maps to an `image` block
 * ({ format, source: { bytes } }) or a `document` block ({ format, name, source: { bytes } }).
 *
 * What a file is comes from its bytes (sniff.ts). Nothing here throws: a file that cannot be read
 * is refused with a sentence the person can act on, and every such sentence is in this module.
 */

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
 * - DocumentBlock.name and format: see names.ts and formats.ts.
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
  /** Characters in a document's Converse name: Bedrock allows 200, names.ts says why fewer. */
  maxNameLength: MAX_NAME_LENGTH,
} as const

/** For the file input: every extension we accept. */
export const ACCEPT_ATTRIBUTE = [...Object.values(IMAGE_TYPES), ...Object.values(DOCUMENT_TYPES)].flatMap((t) => t.extensions.map((e) => `.${e}`)).join(',')

const IMAGE_ADVICE = 'use PNG, JPEG, GIF or WebP'
const SUPPORTED_SENTENCE = 'attach PNG, JPEG, GIF or WebP images, or PDF, CSV, TXT, Markdown, HTML, Word or Excel documents'

/** For the hint next to the file input. */
export const ATTACHMENT_HINT =
  `Images (PNG, JPEG, GIF, WebP) up to ${megabytes(ATTACHMENT_LIMITS.maxImageBytes)} and ` +
  `${ATTACHMENT_LIMITS.maxImageSide} pixels a side, ${ATTACHMENT_LIMITS.maxImages} per message; documents ` +
  `(PDF, CSV, TXT, Markdown, HTML, Word, Excel) up to ${megabytes(ATTACHMENT_LIMITS.maxDocumentBytes)}, ` +
  `${ATTACHMENT_LIMITS.maxDocuments} per message.`

const UNSUPPORTED: Record<Unsupported, string> = {
  bmp: `BMP images are not supported; ${IMAGE_ADVICE}.`,
  tiff: `TIFF images are not supported; ${IMAGE_ADVICE}.`,
  heic: `HEIC images are not supported; ${IMAGE_ADVICE}.`,
  avif: `AVIF images are not supported; ${IMAGE_ADVICE}.`,
  rtf: 'RTF documents are not supported; save it as Word (DOCX), PDF or plain text and attach that.',
  powerpoint: 'PowerPoint presentations are not supported; save it as PDF and attach that.',
  opendocument: 'OpenDocument files are not supported; save it as Word (DOCX), Excel (XLSX) or PDF and attach that.',
  encrypted: 'password-protected files are not supported; remove the password and attach it again.',
}

const TEXT_PROBLEMS: Record<TextProblem, string> = {
  utf16: 'the file is saved as UTF-16; save it as UTF-8 and attach it again.',
  binary: 'the file holds binary data, not text.',
  'not-utf8': 'the file is not UTF-8 text (it may use an older encoding such as Windows-1252); save it as UTF-8 and attach it again.',
}

type Candidate = Omit<AcceptedImage, 'name'> | Omit<AcceptedDocument, 'name'>

/**
 * Sorts files into accepted and refused, in the order given. Counts are checked against the
 * limits after adding `existing`, and only accepted files count: the 21st good image is refused,
 * a damaged one takes no place, and documents still fit after the images are full. Asynchronous
 * because file-type is; it never rejects.
 */
export async function checkAttachments(
  files: readonly IncomingFile[],
  existing: ExistingAttachments = { images: 0, documents: 0 },
): Promise<{ accepted: AcceptedAttachment[]; refused: RefusedAttachment[] }> {
  const accepted: AcceptedAttachment[] = []
  const refused: RefusedAttachment[] = []
  let images = count(existing?.images)
  let documents = count(existing?.documents)
  const taken = new Set((Array.isArray(existing?.names) ? existing.names : []).map((n) => String(n).toLowerCase()))

  for (const file of Array.isArray(files) ? files : []) {
    const originalName = displayName(file?.name)
    const outcome = await checkSafely(file, originalName)
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

async function checkSafely(file: IncomingFile, originalName: string): Promise<Candidate | RefusedAttachment> {
  try {
    return await checkOne(file, originalName)
  } catch {
    return refuse(originalName, 'the file could not be read.')
  }
}

async function checkOne(file: IncomingFile, originalName: string): Promise<Candidate | RefusedAttachment> {
  const bytes = asBytes(file?.bytes)
  if (!bytes) return refuse(originalName, 'the file could not be read.')
  if (bytes.length === 0) return refuse(originalName, 'the file is empty.')
  const extension = extensionOf(originalName)
  const sniffed = (await sniff(bytes)) ?? textType(extension, file?.type)

  if (!sniffed) return refuse(originalName, unknownReason(extension))
  if ('unsupported' in sniffed) return refuse(originalName, UNSUPPORTED[sniffed.unsupported])
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
    return refuse(originalName, `the image is ${size.width} × ${size.height} pixels; images can be at most ${maxImageSide} pixels on each side.`)
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
    ...mismatchNote(originalName, extension, format),
  }
}

function checkDocument(bytes: Uint8Array, format: DocumentFormat, originalName: string, extension: string): Candidate | RefusedAttachment {
  const { maxDocumentBytes } = ATTACHMENT_LIMITS
  if (bytes.length > maxDocumentBytes) {
    return refuse(originalName, `the document is ${megabytes(bytes.length)}; documents can be at most ${megabytes(maxDocumentBytes)}.`)
  }
  if (isTextFormat(format)) {
    const problem = textProblem(bytes)
    if (problem) return refuse(originalName, TEXT_PROBLEMS[problem])
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
    ...mismatchNote(originalName, extension, format),
  }
}

/**
 * A file whose name says one supported type and whose bytes say another is sent as what it
 * really is: the bytes are what Bedrock reads, and a PDF named .png is still a readable PDF. The
 * note lets the page say so rather than change the type silently.
 */
function mismatchNote(originalName: string, extension: string, format: Format): { note?: string } {
  const claimed = formatForExtension(extension)
  if (!claimed || claimed === format) return {}
  const { label } = typeInfo(format)
  return { note: `${originalName} is ${label}, not ${typeInfo(claimed).label}; it is sent as ${label}.` }
}

function unknownReason(extension: string): string {
  const claimed = formatForExtension(extension)
  if (claimed) return `this is not a valid ${noun(typeInfo(claimed))}; it may be damaged, or a different kind of file.`
  return `this kind of file is not supported; ${SUPPORTED_SENTENCE}.`
}

function noun(info: TypeInfo): string {
  return info.label.replace(/^an? /, '')
}

function refuse(originalName: string, sentence: string): RefusedAttachment {
  return { originalName, reason: `${originalName}: ${sentence}` }
}

function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value
  if (value instanceof ArrayBuffer) return new Uint8Array(value)
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  return undefined
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0
}

/** "3.75 MB", "5.21 MB": rounded up, so a file just over a limit never reads as equal to it. */
function megabytes(bytes: number): string {
  return `${Math.ceil(bytes / 10_000) / 100} MB`
}
