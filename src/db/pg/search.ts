import { sql } from 'drizzle-orm'
import type { PgDb } from './open.ts'

/**
 * Full-text search over messages on PostgreSQL: what SQLite's FTS5 query in the conversations
 * store does (every word, a prefix match on the last, newest conversation first, a snippet around
 * the match), over the GIN index `messages_search` on to_tsvector('simple', text).
 *
 * The query is cut at white space, not at SQLite's word characters, and each piece is handed to
 * to_tsquery quoted: PostgreSQL's parser then splits it exactly as it split the message text (an
 * e-mail address, a number like 3.14 or a path stays one token on both sides; foo_bar becomes
 * the phrase foo <-> bar), so what a person types finds the text it came from. Quoting means no
 * input is tsquery syntax (& | ! : * ( ) are just characters).
 */

/** The tsquery text for what a person typed: every piece, the last one as a prefix; null when there is none. */
export function toTsQuery(query: string): string | null {
  const pieces = query.split(/\s+/u).filter((p) => p.length > 0)
  if (pieces.length === 0) return null
  // inside '…' a tsquery lexeme escapes ' by doubling it and \ by a backslash
  const quote = (p: string) => `'${p.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`
  return pieces.map((p, i) => `${quote(p)}${i === pieces.length - 1 ? ':*' : ''}`).join(' & ')
}

/**
 * ts_headline's options: about 12 words around the first match (as SQLite's snippet(..., 12)),
 * matches marked with control characters, which never clash with message text.
 */
const HEADLINE = 'StartSel=\u0001, StopSel=\u0002, MaxWords=12, MinWords=4, ShortWord=0, MaxFragments=1, FragmentDelimiter=…'

export type PgSearchHit = { conversationId: string; title: string; messageId: string; updatedAt: Date; snippet: string }

/**
 * The owner's conversations whose messages match, newest first, one hit per conversation (its
 * best-ranked message), each with a snippet. ts_headline reads the whole text, so it runs only on
 * the hits returned. A query of nothing but punctuation matches nothing.
 */
export async function searchMessages(db: PgDb, owner: string, query: string, limit = 30): Promise<PgSearchHit[]> {
  const tsQuery = toTsQuery(query)
  if (tsQuery === null) return []
  const rows = await db.execute<{ conversationId: string; title: string; messageId: string; updatedAt: string; snippet: string }>(sql`
    SELECT best.conversation_id AS "conversationId", best.title, best.message_id AS "messageId",
           best.updated_at AS "updatedAt", ts_headline('simple', best.text, best.q, ${HEADLINE}) AS snippet
    FROM (
      SELECT DISTINCT ON (c.id) c.id AS conversation_id, c.title, c.updated_at, m.id AS message_id, m.text, q.q
      FROM to_tsquery('simple', ${tsQuery}) AS q(q)
      JOIN messages m ON to_tsvector('simple', m.text) @@ q.q
      JOIN conversations c ON c.id = m.conversation_id
      WHERE c.owner = ${owner}
      ORDER BY c.id, ts_rank(to_tsvector('simple', m.text), q.q) DESC, m.seq
    ) AS best
    ORDER BY best.updated_at DESC, best.conversation_id
    LIMIT ${limit}
  `)
  return rows.map((row) => ({ ...row, updatedAt: new Date(row.updatedAt) }))
}
