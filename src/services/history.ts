import type { HistoryMessage } from './bedrock.ts'
import type { ThreadMessage } from './sessions.ts'

/**
 * What the model is sent for a thread: alternating user and assistant turns, starting with a user
 * turn. An exchange whose reply failed or came back empty is left out (the person sees it, the
 * model does not), so a retry does not send the same question twice; a stopped reply's partial
 * text is kept, since the person saw it.
 */
export function historyForModel(thread: ThreadMessage[]): HistoryMessage[] {
  const out: HistoryMessage[] = []
  for (let i = 0; i < thread.length; i++) {
    const message = thread[i]!
    if (message.role !== 'user') continue
    const reply = thread[i + 1]
    if (!reply || reply.role !== 'assistant') {
      // the newest message, not answered yet
      if (i === thread.length - 1) out.push({ role: 'user', text: message.text })
      continue
    }
    if (reply.text.trim() === '' || reply.status === 'error' || reply.status === 'streaming') continue
    out.push({ role: 'user', text: message.text }, { role: 'assistant', text: reply.text })
  }
  return out
}
