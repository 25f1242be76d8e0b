import { inflateSync } from 'node:zlib'

/**
 * A PDF's page count, for the context-window estimate (context-window.ts: a PDF's tokens follow
 * its pages, not its bytes). No small, well-kept library counts pages without parsing the whole file (pdf.js and
 * pdf-lib do, at a far larger size and attack surface), so this stays a scan, bounded because the
 * file is untrusted:
 * - the text is scanned once, left to right, and each object stream is inflated at most once;
 * - no more than MAX_OBJECT_STREAMS are tried, none inflates past MAX_STREAM_BYTES, and no more
 *   than MAX_INFLATED_BYTES are inflated in all;
 * - a stream that fails is charged what it could have produced (Flate expands at most 1032 to 1),
 *   so a short broken stream costs little, a bomb its full share, and failures cannot repeat work.
 * The earlier scan let many object-stream headers share one stream, inflated it again for each,
 * and charged nothing when it failed: 80 KB blocked for most of a second, and 4.5 MB would have
 * blocked for over an hour. The worst 4.5 MB files we could make now take about 0.1 s; peak
 * memory is the file as text plus one stream's output.
 */

const MB = 1_000_000
const PAGE_OBJECT = /\/Type\s*\/Page(?![A-Za-z])/g
const OBJECT_STREAM = /\/Type\s*\/ObjStm(?![A-Za-z])/g
/** Inflated in all, for one PDF (the earlier scan's bound). */
const MAX_INFLATED_BYTES = 64 * MB
/** Inflated from one stream: an object stream holds some hundred small objects, far less than this. */
const MAX_STREAM_BYTES = 8 * MB
/** Each try costs a zlib set-up even when it fails at once; at some hundred objects each, 2,000 streams is a very large PDF. */
const MAX_OBJECT_STREAMS = 2_000
/** Deflate's largest possible expansion, output bytes per input byte. */
const MAX_FLATE_RATIO = 1032

const latin1 = new TextDecoder('latin1')

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
    let readUpTo = 0
    let tries = 0
    for (const match of text.matchAll(OBJECT_STREAM)) {
      if (budget <= 0 || tries >= MAX_OBJECT_STREAMS) break
      if (match.index < readUpTo) continue // inside, or sharing, a stream already read
      const stream = streamAfter(text, match.index)
      if (!stream) break // no stream follows: none follows any later header either
      readUpTo = stream.end
      tries += 1
      const data = b.subarray(stream.start, stream.end)
      const limit = Math.min(budget, MAX_STREAM_BYTES)
      try {
        const inflated = inflateSync(data, { maxOutputLength: limit })
        budget -= inflated.length
        pages += latin1.decode(inflated).match(PAGE_OBJECT)?.length ?? 0
      } catch {
        // not Flate, encrypted, or over the bound: these pages go uncounted
        budget -= Math.min(limit, data.length * MAX_FLATE_RATIO)
      }
    }
    return pages > 0 ? pages : undefined
  } catch {
    return undefined
  }
}

/** Where the bytes between the next "stream" keyword and its "endstream" are. */
function streamAfter(text: string, from: number): { start: number; end: number } | undefined {
  const keyword = text.indexOf('stream', from)
  if (keyword < 0) return undefined
  let start = keyword + 'stream'.length
  if (text[start] === '\r') start += 1
  if (text[start] === '\n') start += 1
  const end = text.indexOf('endstream', start)
  return end < 0 ? undefined : { start, end }
}
