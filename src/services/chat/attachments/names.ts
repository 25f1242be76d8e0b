import type { AttachmentKind } from './formats.ts'

/**
 * File names as Converse takes them. DocumentBlock.name allows alphanumerics, whitespace (no more
 * than one in a row), hyphens, parentheses and square brackets, 1 to 200 characters, and Bedrock
 * refuses a request that repeats a document name anywhere in its messages.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html
 */

/** Bedrock allows 200; shorter leaves less room for text aimed at the model (the reference warns the name is open to prompt injection). */
export const MAX_NAME_LENGTH = 100

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

/**
 * `base`, or `base (2)`, `base (3)`... whichever is not yet in `taken` (lower-cased), which it
 * then joins. Case-insensitive, since two names differing only in case read as the same to a
 * person and the model.
 */
export function uniqueName(base: string, taken: Set<string>): string {
  let name = base
  for (let n = 2; taken.has(name.toLowerCase()); n++) {
    const suffix = ` (${n})`
    name = base.slice(0, MAX_NAME_LENGTH - suffix.length).trim() + suffix
  }
  taken.add(name.toLowerCase())
  return name
}

/** Browsers send a bare name; some older ones a path (C:\fakepath\photo.png). */
export function displayName(name: unknown): string {
  const text = typeof name === 'string' ? name : ''
  const base = text.split(/[\\/]/).pop()?.trim() ?? ''
  return base || 'unnamed file'
}

/** Lower-cased, without the dot; empty when the name has none, or only something odd after its last dot. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.')
  if (dot <= 0) return ''
  const extension = name.slice(dot + 1)
  return /^[A-Za-z0-9]{1,10}$/.test(extension) ? extension.toLowerCase() : ''
}

function stemOf(name: string): string {
  const extension = extensionOf(name)
  return extension ? name.slice(0, -(extension.length + 1)) : name
}

function cleanName(text: string): string {
  const folded = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
  const cleaned = folded
    .replace(/[^A-Za-z0-9\-()[\] ]+/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim()
  if (!/[A-Za-z0-9]/.test(cleaned)) return ''
  return cleaned.slice(0, MAX_NAME_LENGTH).trim()
}
