import type { SqlError } from './write-protocol.ts'

/**
 * What the server's thread and a read thread say to each other (see read-pool.ts and
 * read-thread.ts). Everything crosses the thread boundary by structured clone: a call names a
 * function of the read module by its path ("metrics.summary") with plain arguments, and gets back
 * plain values (Dates survive; a Buffer arrives as a Uint8Array).
 */

export type ToReader =
  /** The database to read, and the module whose `readers(db, init)` makes the functions to call. */
  | { type: 'open'; path: string; readonly: boolean; busyTimeoutMs: number; module: string; init: unknown }
  | { type: 'call'; id: number; name: string; args: unknown[] }
  /** The next items of a streamed result (a generator's), up to `max`. */
  | { type: 'next'; id: number; stream: number; max: number }
  /** The caller stopped reading a stream: its statement is let go. */
  | { type: 'drop'; stream: number }
  | { type: 'close' }

export type FromReader =
  | { type: 'value'; id: number; value: unknown }
  /** A generator's result: its first items, and whether it is over; the rest come with `next`. */
  | { type: 'items'; id: number; stream: number; items: unknown[]; done: boolean }
  | { type: 'error'; id: number; error: SqlError }

/** Items a stream sends per message at most, */
export const STREAM_ITEMS_MAX = 500
/** and text of string items (a CSV export's chunks) at most, give or take one item. */
export const STREAM_TEXT_MAX = 256 * 1024
