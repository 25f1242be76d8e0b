import type { TurnResult } from './chat-turn.ts'
import { newId, type Session, type ThreadMessage } from './sessions.ts'

/** Adds the person's message and an empty, streaming reply to the session's thread. */
export function startExchange(session: Session, text: string, modelId: string) {
  const user: ThreadMessage = { id: newId(9), role: 'user', text, status: 'done' }
  const reply: ThreadMessage = { id: newId(9), role: 'assistant', text: '', status: 'streaming', modelId }
  session.messages.push(user, reply)
  return { user, reply }
}

/** Settles the reply with what the turn produced: full text, partial text and a reason, or an error. */
export function finishExchange(reply: ThreadMessage, result: TurnResult): ThreadMessage {
  reply.text = result.text
  if (result.outcome === 'ok') {
    reply.status = 'done'
    if (result.stopReason === 'max_tokens') reply.error = 'The reply reached the max tokens limit and was cut off.'
  } else if (result.outcome === 'stopped') {
    reply.status = 'stopped'
  } else {
    reply.status = 'error'
    reply.error = result.error?.message ?? 'The model call failed.'
  }
  return reply
}
