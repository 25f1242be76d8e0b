import { ATTACHMENT_LIMITS } from './attachments/index.ts'

/**
 * Decides which turns of a conversation are sent with the newest message. When the history no
 * longer fits the model's context window (or carries more images or documents than Bedrock takes
 * in one request), the oldest turns are left out, whole, and the caller is told how many and why:
 * nothing is dropped silently. The system prompt is always kept, and the result still starts
 * with a user turn and ends with the newest one.
 *
 * Tokens are estimated without a tokenizer, conservatively on purpose: a high estimate leaves
 * out a turn the model could have read; a low one gets the whole request refused.
 */

export type ContextAttachment = {
  kind: 'image' | 'document'
  /** Bytes. */
  size: number
  width?: number
  height?: number
  /** The Converse format (pdf, csv, docx...): documents are estimated per format when it is known. */
  format?: string
  /** A PDF's page count, when known: a better measure than its bytes. */
  pages?: number
}

export type ContextMessage = { role: 'user' | 'assistant'; text: string; attachments?: ContextAttachment[] }

export type DropReason = 'tokens' | 'images' | 'documents'

/**
 * The heuristic's numbers.
 * - Text: UTF-8 bytes / 3. English runs about 4 characters a token; bytes rather than characters
 *   make non-Latin scripts count more (a CJK character is 3 bytes, about one token), where a
 *   characters-based rule would fall short by a factor of three.
 * - Images: Claude's documented cost, width × height / 750, capped at ~1,600 tokens since Claude
 *   scales a larger image down to that; 1,600 when the size is unknown.
 *   https://docs.claude.com/en/docs/build-with-claude/vision
 * - PDFs: per page when the page count is known. Converse without citations reads a PDF's text
 *   only ("approximately 1,000 tokens for a 3-page PDF"); 1,500 a page covers dense pages too.
 *   With citations on, Claude also reads each page as an image (~7,000 tokens for 3 pages): raise
 *   this if the app turns citations on.
 *   https://docs.claude.com/en/docs/build-with-claude/pdf-support
 * - Other documents, and PDFs of unknown length: bytes / a per-format ratio. Plain text as text;
 *   CSV denser (digits and commas split into many tokens); DOCX and XLSX are compressed XML,
 *   so each byte holds more text than a plain file (XLSX most: a cell takes a few bytes and
 *   several tokens); the old binary formats in between. These err high for files full of
 *   pictures, which cost bytes and no tokens.
 * - Per message and per attachment, a small overhead for the role and block framing.
 * - Room is kept for the reply (maxTokens) and a margin of 5% of the window (at least 256).
 */
export const TOKEN_ESTIMATE = {
  textBytesPerToken: 3,
  messageOverhead: 8,
  attachmentOverhead: 16,
  imagePixelsPerToken: 750,
  imageMaxTokens: 1_600,
  pdfTokensPerPage: 1_500,
  documentBytesPerToken: { txt: 3, md: 3, html: 3, csv: 2, pdf: 3, doc: 3, xls: 2, docx: 2, xlsx: 1 } as Readonly<Record<string, number>>,
  /** For a document of unknown format. */
  unknownDocumentBytesPerToken: 2,
  marginRatio: 0.05,
  minMargin: 256,
} as const

/** A system prompt's estimated tokens (0 when there is none). */
export function estimateSystemTokens(system: string | undefined): number {
  return system ? TOKEN_ESTIMATE.messageOverhead + textTokens(system) : 0
}

export function estimateTokens(message: ContextMessage): number {
  const attachments = Array.isArray(message?.attachments) ? message.attachments : []
  return TOKEN_ESTIMATE.messageOverhead + textTokens(message?.text) + attachments.reduce((sum, a) => sum + attachmentTokens(a), 0)
}

export type FitInput = {
  system?: string
  /** The history to send, oldest first, ending with the newest user message. */
  messages: ContextMessage[]
  /** The model's context window, in tokens. */
  contextWindow: number
  /** The most the reply may take. Newer Claude models refuse a request whose input plus maxTokens exceeds the window. */
  maxTokens: number
  /** Per request; Bedrock's limits by default. */
  maxImages?: number
  maxDocuments?: number
}

export type FitResult = {
  messages: ContextMessage[]
  /** Messages left out, oldest first: say so on the page. */
  dropped: number
  /** Why turns were left out (empty when none were for these reasons). */
  droppedFor: DropReason[]
  /** System prompt and kept messages. */
  estimatedInputTokens: number
  /** Tokens the input may take: the window less the reply and the margin. */
  inputBudget: number
  /** False when even the newest turn alone is over the budget or the attachment limits. */
  fits: boolean
}

/**
 * Keeps the newest turns that fit. A turn is a user message and what follows it up to the next
 * user message, so dropping whole turns from the front keeps the alternation the history
 * already has; assistant messages before the first user message are always left out.
 */
export function fitToContext(input: FitInput): FitResult {
  const messages = Array.isArray(input?.messages) ? input.messages : []
  const systemTokens = estimateSystemTokens(input?.system)
  const window = finiteOr(input?.contextWindow, 0)
  const margin = Math.max(TOKEN_ESTIMATE.minMargin, Math.ceil(window * TOKEN_ESTIMATE.marginRatio))
  const inputBudget = window - Math.max(0, finiteOr(input?.maxTokens, 0)) - margin
  const limits = {
    tokens: inputBudget - systemTokens,
    images: finiteOr(input?.maxImages, ATTACHMENT_LIMITS.maxImages),
    documents: finiteOr(input?.maxDocuments, ATTACHMENT_LIMITS.maxDocuments),
  }

  const starts = messages.flatMap((m, i) => (m?.role === 'user' ? [i] : []))
  if (starts.length === 0) {
    return { messages: [], dropped: messages.length, droppedFor: [], estimatedInputTokens: systemTokens, inputBudget, fits: false }
  }

  const from = suffixTotals(messages)
  const over = (start: number): DropReason[] => {
    const totals = from[start]!
    return (['tokens', 'images', 'documents'] as const).filter((key) => totals[key] > limits[key])
  }

  const droppedFor = new Set<DropReason>()
  let turn = 0
  while (turn < starts.length - 1) {
    const reasons = over(starts[turn]!)
    if (reasons.length === 0) break
    for (const reason of reasons) droppedFor.add(reason)
    turn += 1
  }
  const start = starts[turn]!
  return {
    messages: messages.slice(start),
    dropped: start,
    droppedFor: [...droppedFor],
    estimatedInputTokens: systemTokens + from[start]!.tokens,
    inputBudget,
    fits: over(start).length === 0,
  }
}

type Totals = Record<DropReason, number>

/** Totals from each index to the end, so each candidate start is checked in constant time. */
function suffixTotals(messages: ContextMessage[]): Totals[] {
  const totals: Totals[] = Array.from({ length: messages.length + 1 }, () => ({ tokens: 0, images: 0, documents: 0 }))
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    const attachments = Array.isArray(message?.attachments) ? message.attachments : []
    const next = totals[i + 1]!
    totals[i] = {
      tokens: next.tokens + estimateTokens(message),
      images: next.images + attachments.filter((a) => a?.kind === 'image').length,
      documents: next.documents + attachments.filter((a) => a?.kind === 'document').length,
    }
  }
  return totals
}

function attachmentTokens(a: ContextAttachment): number {
  const overhead = TOKEN_ESTIMATE.attachmentOverhead
  if (a?.kind === 'image') return overhead + imageTokens(a)
  return overhead + documentTokens(a)
}

function imageTokens(a: ContextAttachment): number {
  const { imageMaxTokens, imagePixelsPerToken } = TOKEN_ESTIMATE
  const width = finiteOr(a.width, 0)
  const height = finiteOr(a.height, 0)
  if (width <= 0 || height <= 0) return imageMaxTokens
  return Math.min(imageMaxTokens, Math.ceil((width * height) / imagePixelsPerToken))
}

function documentTokens(a: ContextAttachment): number {
  const pages = finiteOr(a?.pages, 0)
  if (a?.format === 'pdf' && pages > 0) return Math.ceil(pages) * TOKEN_ESTIMATE.pdfTokensPerPage
  const ratio = (typeof a?.format === 'string' ? TOKEN_ESTIMATE.documentBytesPerToken[a.format] : undefined) ?? TOKEN_ESTIMATE.unknownDocumentBytesPerToken
  return Math.ceil(Math.max(0, finiteOr(a?.size, 0)) / ratio)
}

function textTokens(text: unknown): number {
  return Math.ceil(utf8Length(typeof text === 'string' ? text : String(text ?? '')) / TOKEN_ESTIMATE.textBytesPerToken)
}

/** UTF-8 length without encoding the string. */
function utf8Length(text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4 // a surrogate pair: one code point above U+FFFF
      i += 1
    } else bytes += 3
  }
  return bytes
}

function finiteOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback
}
