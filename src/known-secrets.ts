/**
 * The literal secrets the process holds right now (each session's secret access key and session
 * token), masked wherever they appear in a log line: the last line of defence behind the logger's
 * key masking.
 *
 * Why not one regex of them all, as before: every save or expiry of credentials changed the
 * regex, and the next log line compiled it afresh inside `String.prototype.replace`, at about
 * 0.1 ms per secret held, on the server's only thread (a profile with 1,500 secrets: 99% of
 * samples in that `replace`). Saving credentials got slower with every credential saved.
 *
 * Here registering and forgetting cost the same whatever the count, and so does masking a line:
 * each secret is indexed by its first ANCHOR_LENGTH characters, and a line is read once, window
 * by window. A rolling hash of the window picks a slot in a table of counts; only a window whose
 * slot is taken is looked up among the anchors (a map), and only a known anchor is compared with
 * the secrets that start with it, one lookup per distinct length. The count of secrets never
 * enters the loop; it only raises the share of windows that need the map lookup, a little.
 */

/** Shorter values are not masked: too likely to match ordinary text. */
export const MIN_SECRET_LENGTH = 8

/** The window the line is read with: every secret is at least this long. */
const ANCHOR_LENGTH = MIN_SECRET_LENGTH

/** Slots in the table of counts: 256 KB; with 10,000 secrets about 1 window in 7 needs a map lookup. */
const SLOT_BITS = 16

const HASH_BASE = 31
/** HASH_BASE ** (ANCHOR_LENGTH - 1), modulo 2 ** 32: what the character leaving the window weighed. */
const LEAVING_WEIGHT = (HASH_BASE ** (ANCHOR_LENGTH - 1)) | 0

/** How many times each secret is registered: two sessions may hold the same credentials. */
const holders = new Map<string, number>()
/** anchor → length → the secrets of that length that start with the anchor. */
const anchors = new Map<string, Map<number, Set<string>>>()
/** slot of an anchor's hash → how many anchors (with their secrets) hash there. */
const slots = new Uint32Array(1 << SLOT_BITS)

/** Masks `value` in every line from now on, until it is forgotten as many times as it was registered. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < MIN_SECRET_LENGTH) return
  const held = holders.get(value) ?? 0
  holders.set(value, held + 1)
  if (held > 0) return
  const anchor = value.slice(0, ANCHOR_LENGTH)
  let byLength = anchors.get(anchor)
  if (!byLength) anchors.set(anchor, (byLength = new Map()))
  let sameLength = byLength.get(value.length)
  if (!sameLength) byLength.set(value.length, (sameLength = new Set()))
  sameLength.add(value)
  slots[slotOf(windowHash(anchor, 0))]! += 1
}

/** Undoes one registerSecret: the value stays masked while another holder still has it. */
export function forgetSecret(value: string | undefined): void {
  const held = value ? holders.get(value) : undefined
  if (!value || held === undefined) return
  if (held > 1) {
    holders.set(value, held - 1)
    return
  }
  holders.delete(value)
  const anchor = value.slice(0, ANCHOR_LENGTH)
  const byLength = anchors.get(anchor)!
  const sameLength = byLength.get(value.length)!
  sameLength.delete(value)
  if (sameLength.size === 0) byLength.delete(value.length)
  if (byLength.size === 0) anchors.delete(anchor)
  slots[slotOf(windowHash(anchor, 0))]! -= 1
}

/** The line with every registered secret in it replaced by `placeholder` (the longest, where two overlap). */
export function maskKnownSecrets(line: string, placeholder: string): string {
  if (holders.size === 0 || line.length < ANCHOR_LENGTH) return line
  let masked = ''
  let copied = 0
  let at = 0
  let hash = windowHash(line, 0)
  for (;;) {
    const length = slots[slotOf(hash)] ? longestSecretAt(line, at) : 0
    if (length > 0) {
      masked += line.slice(copied, at) + placeholder
      at += length
      copied = at
      if (at + ANCHOR_LENGTH > line.length) break
      hash = windowHash(line, at)
      continue
    }
    if (at + ANCHOR_LENGTH >= line.length) break
    hash = (Math.imul(hash - Math.imul(line.charCodeAt(at), LEAVING_WEIGHT), HASH_BASE) + line.charCodeAt(at + ANCHOR_LENGTH)) | 0
    at += 1
  }
  return copied === 0 ? line : masked + line.slice(copied)
}

/** The length of the longest registered secret that starts at `at`, or 0. */
function longestSecretAt(line: string, at: number): number {
  const byLength = anchors.get(line.slice(at, at + ANCHOR_LENGTH))
  if (!byLength) return 0
  let longest = 0
  for (const [length, secrets] of byLength) {
    if (length > longest && at + length <= line.length && secrets.has(line.slice(at, at + length))) longest = length
  }
  return longest
}

/** A polynomial hash of the ANCHOR_LENGTH characters from `at` (UTF-16 code units, modulo 2 ** 32). */
function windowHash(text: string, at: number): number {
  let hash = 0
  for (let i = at; i < at + ANCHOR_LENGTH; i++) hash = (Math.imul(hash, HASH_BASE) + text.charCodeAt(i)) | 0
  return hash
}

/** The hash's slot: its bits mixed first, as a polynomial hash of similar windows differs in few bits. */
function slotOf(hash: number): number {
  return Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> (32 - SLOT_BITS)
}
