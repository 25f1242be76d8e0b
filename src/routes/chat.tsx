import { Hono, type Context } from 'hono'
import { streamSSE } from 'hono/streaming'
import { z } from 'zod'
import type { AppEnv } from '../app.ts'
import type { TurnEvent } from '../services/chat-turn.ts'
import { historyForModel } from '../services/history.ts'
import { MODEL_ID_PATTERN } from '../services/models.ts'
import { finishExchange, startExchange } from '../services/thread.ts'
import { AssistantMessage, MESSAGE_MAX_LENGTH, UserMessage } from '../../views/chat.tsx'
import { Partial } from '../../views/partial.tsx'
import { chatPage, modelIdFor } from './pages.tsx'
import { renderFragment } from './render.tsx'
import { validForm } from './validate.ts'

/** Sent on an idle event stream well inside Bun's 10 s idle timeout, and to notice a gone browser. */
export const HEARTBEAT_MS = 5_000
/** Every request sets maxTokens: without it Bedrock reserves quota for the model's maximum. */
export const DEFAULT_MAX_TOKENS = 2048

const messageForm = z.object({
  message: z
    .string({ error: 'Type a message first.' })
    .trim()
    .min(1, 'Type a message first.')
    .max(MESSAGE_MAX_LENGTH, `A message can be at most ${MESSAGE_MAX_LENGTH.toLocaleString('en')} characters.`),
  modelId: z.string().trim().regex(MODEL_ID_PATTERN, 'Choose a model from the list.').optional(),
})

const chat = new Hono<AppEnv>()

/** A refused message: next to the composer for htmx, the whole page (text kept) without it. */
function refuse(c: Context<AppEnv>, message: string, status: 409 | 422, text?: string) {
  if (c.var.partial) {
    return c.html(
      renderFragment(
        <Partial target="#composer-error" swap="innerHTML">
          {message}
        </Partial>,
      ),
      status,
    )
  }
  return chatPage(c, { composer: { text, error: message } }, status)
}

chat.get('/', (c) => chatPage(c))

chat.post('/new', (c) => {
  const { session } = c.var
  session.activeTurn?.controller.abort('stop')
  session.messages = []
  return c.redirect('/', 303)
})

chat.post(
  '/messages',
  validForm(messageForm, (c, { message, fields }) => refuse(c, message, 422, fields['message'])),
  async (c) => {
    const { session, deps } = c.var
    const form = c.req.valid('form')
    if (session.activeTurn) {
      return refuse(c, 'A reply is still streaming: wait for it, or press Stop.', 409, form.message)
    }
    if (form.modelId) session.modelId = form.modelId
    const modelId = modelIdFor(c)
    const { user, reply } = startExchange(session, form.message, modelId)
    const controller = new AbortController()
    session.activeTurn = { id: reply.id, controller }
    const turn = {
      request: { modelId, messages: historyForModel(session.messages.slice(0, -1)), maxTokens: DEFAULT_MAX_TOKENS },
      credentials: session.credentials,
      region: session.region ?? deps.config.AWS_REGION,
      signal: controller.signal,
    }
    const settle = (result: Awaited<ReturnType<typeof deps.turns.run>>) => {
      finishExchange(reply, result)
      if (session.activeTurn?.id === reply.id) session.activeTurn = undefined
    }

    deps.keepOpen?.(c.req.raw)
    if (!c.var.partial) {
      // Without JavaScript: wait for the whole reply, then show the page again.
      c.req.raw.signal.addEventListener('abort', () => controller.abort('disconnected'))
      settle(await deps.turns.run({ ...turn, emit: () => {} }))
      return c.redirect(`/#m-${reply.id}`, 303)
    }

    return streamSSE(c, async (stream) => {
      const gone = () => controller.abort('disconnected')
      stream.onAbort(gone)
      c.req.raw.signal.addEventListener('abort', gone)
      const send = async (html: string) => {
        if (stream.aborted || stream.closed) return
        try {
          await stream.writeSSE({ data: html })
        } catch {
          gone()
        }
      }
      const heartbeat = setInterval(() => {
        if (!stream.aborted && !stream.closed) stream.write(': keep-alive\n\n').catch(gone)
      }, HEARTBEAT_MS)
      try {
        await send(
          renderFragment(
            <>
              <UserMessage message={user} />
              <AssistantMessage message={reply} turnId={reply.id} />
              <Partial target="#empty-thread" swap="delete"></Partial>
            </>,
          ),
        )
        let first = true
        const result = await deps.turns.run({
          ...turn,
          emit: (event) => {
            const html = eventFragment(reply.id, event, first)
            if (event.type !== 'retry') first = false
            return send(html)
          },
        })
        settle(result)
        await send(
          renderFragment(
            <Partial target={`#m-${reply.id}`} swap="outerHTML">
              <AssistantMessage message={reply} />
            </Partial>,
          ),
        )
      } finally {
        clearInterval(heartbeat)
        c.req.raw.signal.removeEventListener('abort', gone)
        if (session.activeTurn?.id === reply.id) settle(failedTurn(reply.text))
      }
    })
  },
)

/** Stop: aborts the Bedrock call itself; the stream then ends with the partial reply marked stopped. */
chat.post('/turns/:id/stop', (c) => {
  const { session } = c.var
  const active = session.activeTurn
  if (!active || active.id !== c.req.param('id')) {
    if (!c.var.partial) return c.redirect('/', 303)
    return c.body(null, 204)
  }
  active.controller.abort('stop')
  if (!c.var.partial) return c.redirect(`/#m-${active.id}`, 303)
  return c.body(null, 204)
})

/** The stream message for one turn event: text appended to the bubble, or a status line. */
function eventFragment(replyId: string, event: TurnEvent, first: boolean): string {
  if (event.type === 'retry') {
    return renderFragment(
      <Partial target={`#m-${replyId}-status`} swap="innerHTML">
        {`Bedrock answered ${event.errorName || 'with an error'}; retrying (attempt ${event.attempt} of ${event.maxAttempts})…`}
      </Partial>,
    )
  }
  if (event.type === 'reasoning') {
    return renderFragment(
      <Partial target={`#m-${replyId}-status`} swap="innerHTML">
        Thinking…
      </Partial>,
    )
  }
  return renderFragment(
    <>
      <Partial target={`#m-${replyId}-text`} swap="beforeend">
        {event.text}
      </Partial>
      {first && <Partial target={`#m-${replyId}-status`} swap="innerHTML"></Partial>}
    </>,
  )
}

/** The turn ended without a result (the stream itself failed): keep what arrived and say so. */
function failedTurn(text: string) {
  return {
    outcome: 'error' as const,
    text,
    error: { type: 'StreamError', category: 'server' as const, message: 'The reply stream broke off.' },
    attempts: 1,
    latencyMs: 0,
    timeToFirstTokenMs: null,
    inputTokens: null,
    outputTokens: null,
  }
}

export default chat
