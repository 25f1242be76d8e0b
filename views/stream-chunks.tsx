import { raw } from 'hono/html'
import { escapeToBuffer } from 'hono/utils/html'
import { Partial } from './partial.tsx'

/**
 * Streamed text goes into a run of block elements of a few thousand characters ("chunks"), each
 * token appended to the newest one, rather than into one element. The browser lays out the
 * element a token lands in again, all of it: with every token in one element a 500 KB line cost
 * Chromium ~220 ms per token, so the stream took time quadratic in its length (minutes). Once a
 * chunk is full the next token starts a new one, and a token costs the same (<1 ms) at 5 KB or
 * 500 KB.
 *
 * A chunk ends after a newline once it holds STREAM_CHUNK_CHARS, which changes nothing on screen
 * (pre-wrap text split after a newline into blocks looks the same). A line that long with no
 * newline is cut between two tokens at STREAM_CHUNK_MAX_CHARS, which wraps it early there until
 * the finished reply replaces the streamed text.
 */
export const STREAM_CHUNK_CHARS = 2_000
export const STREAM_CHUNK_MAX_CHARS = 4_000

/**
 * The event-stream pieces that append tokens to the element `#parentId`: chunk N is a
 * `<div class="stream-chunk" id="parentId-N">`, created by the piece that carries its first token.
 * Each token is only escaped (as JSX escapes) and wrapped in tags rendered once per chunk.
 */
export function chunkedStream(parentId: string): (text: string) => string {
  const [parentOpen, parentClose] = partialTags(`#${parentId}`, 'beforeend')
  let chunks = 0
  let chars = 0
  let endsLine = false
  let [open, close] = ['', '']
  return (text) => {
    const escaped = [''] as [string]
    escapeToBuffer(text, escaped)
    const startsChunk = chunks === 0 || chars >= STREAM_CHUNK_MAX_CHARS || (chars >= STREAM_CHUNK_CHARS && endsLine)
    endsLine = text.endsWith('\n')
    if (!startsChunk) {
      chars += text.length
      return open + escaped[0] + close
    }
    chunks += 1
    chars = text.length
    const id = `${parentId}-${chunks}`
    ;[open, close] = partialTags(`#${id}`, 'beforeend')
    return `${parentOpen}${String(
      <div class="stream-chunk" id={id}>
        {raw(escaped[0])}
      </div>,
    )}${parentClose}`
  }
}

/** A partial's opening and closing tags, rendered once from the component itself. */
function partialTags(target: string, swap: string): [string, string] {
  const [open = '', close = ''] = String(
    <Partial target={target} swap={swap}>
      {'\u0000'}
    </Partial>,
  ).split('\u0000')
  return [open, close]
}
