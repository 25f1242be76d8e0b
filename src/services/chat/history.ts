/**
 * Which messages the model is sent for a thread: alternating user and assistant turns, starting
 * with a user turn. An exchange whose reply failed or came back empty is left out (the person
 * sees it, the model does not), so a retry does not send the same question twice; a stopped
 * reply's partial text is kept, since the person saw it. The newest unanswered user message ends
 * the list.
 */
export function historyForModel<M extends { role: 'user' | 'assistant'; text: string; status: string }>(thread: M[]): M[] {
  const out: M[] = []
  for (let i = 0; i < thread.length; i++) {
    const message = thread[i]!
    if (message.role !== 'user') continue
    const reply = thread[i + 1]
    if (!reply || reply.role !== 'assistant') {
      if (i === thread.length - 1) out.push(message)
      continue
    }
    if (reply.text.trim() === '' || reply.status === 'error' || reply.status === 'streaming') continue
    out.push(message, reply)
  }
  return out
}
