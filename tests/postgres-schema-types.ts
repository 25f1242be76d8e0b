/**
 * Compile-time check, run by `tsc --noEmit` (and so by tests/architecture.test.ts): every table of
 * the PostgreSQL schema has exactly the select and insert types of its SQLite twin, so code written
 * against one store's rows compiles against the other's. A column whose type, nullability or
 * default differs between src/db/schema.ts and src/db/pg/schema.ts fails here, naming the table.
 * Nothing runs: this file has no test in it.
 */
import type * as pg from '../src/db/pg/schema.ts'
import type * as sqlite from '../src/db/schema.ts'

/** True only when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type Expect<T extends true> = T

type Tables =
  | 'invocations'
  | 'invocationRollup'
  | 'invocationGenAiRollup'
  | 'invocationErrorRollup'
  | 'conversations'
  | 'messages'
  | 'attachments'
  | 'serverSecrets'
  | 'signIns'

type SameRows<K extends Tables> = Equal<(typeof pg)[K]['$inferSelect'], (typeof sqlite)[K]['$inferSelect']>
type SameInserts<K extends Tables> = Equal<(typeof pg)[K]['$inferInsert'], (typeof sqlite)[K]['$inferInsert']>
type SameName<K extends Tables> = Equal<(typeof pg)[K]['_']['name'], (typeof sqlite)[K]['_']['name']>

export type Checks = [
  Expect<SameRows<'signIns'>>,
  Expect<SameInserts<'signIns'>>,
  Expect<SameName<'signIns'>>,
  Expect<SameRows<'invocations'>>,
  Expect<SameInserts<'invocations'>>,
  Expect<SameName<'invocations'>>,
  Expect<SameRows<'invocationRollup'>>,
  Expect<SameInserts<'invocationRollup'>>,
  Expect<SameName<'invocationRollup'>>,
  Expect<SameRows<'invocationGenAiRollup'>>,
  Expect<SameInserts<'invocationGenAiRollup'>>,
  Expect<SameName<'invocationGenAiRollup'>>,
  Expect<SameRows<'invocationErrorRollup'>>,
  Expect<SameInserts<'invocationErrorRollup'>>,
  Expect<SameName<'invocationErrorRollup'>>,
  Expect<SameRows<'conversations'>>,
  Expect<SameInserts<'conversations'>>,
  Expect<SameName<'conversations'>>,
  Expect<SameRows<'messages'>>,
  Expect<SameInserts<'messages'>>,
  Expect<SameName<'messages'>>,
  Expect<SameRows<'attachments'>>,
  Expect<SameInserts<'attachments'>>,
  Expect<SameName<'attachments'>>,
  Expect<SameRows<'serverSecrets'>>,
  Expect<SameInserts<'serverSecrets'>>,
  Expect<SameName<'serverSecrets'>>,
  // the exported row types too
  Expect<Equal<pg.Invocation, sqlite.Invocation>>,
  Expect<Equal<pg.NewInvocation, sqlite.NewInvocation>>,
  Expect<Equal<pg.InvocationRollup, sqlite.InvocationRollup>>,
  Expect<Equal<pg.Conversation, sqlite.Conversation>>,
  Expect<Equal<pg.Message, sqlite.Message>>,
  Expect<Equal<pg.Attachment, sqlite.Attachment>>,
]
