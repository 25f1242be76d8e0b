/**
 * Attachments: which files a message may carry to Bedrock's Converse API, and as what.
 * policy.ts holds the limits, the sentences and `checkAttachments`; sniff.ts says what a file
 * really is (file-type and image-dimensions, plus compound-file.ts for legacy Office files);
 * pdf-pages.ts counts a PDF's pages; names.ts makes names Converse takes.
 */
export {
  ACCEPT_ATTRIBUTE,
  ATTACHMENT_HINT,
  ATTACHMENT_LIMITS,
  checkAttachments,
  type AcceptedAttachment,
  type AcceptedDocument,
  type AcceptedImage,
  type ExistingAttachments,
  type IncomingFile,
  type RefusedAttachment,
} from './policy.ts'
export type { AttachmentKind, DocumentFormat, ImageFormat } from './formats.ts'
export { converseName, uniqueConverseNames } from './names.ts'
