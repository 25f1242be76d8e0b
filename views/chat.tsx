import type { Child } from 'hono/jsx'
import { Layout } from './layout.tsx'

/** What the chat page shows; built by the route from the session, with no secret in it. */
export type ThreadMessageView = {
  id: string
  role: 'user' | 'assistant'
  text: string
  status: 'streaming' | 'done' | 'error' | 'stopped'
  error?: string
  modelId?: string
}

export type ModelOption = { id: string; name: string }

export type CredentialsView = {
  /** "AKIA…WXYZ" for a browser's own keys; null when the server's credentials are in use. */
  maskedAccessKey: string | null
  region: string
  defaultRegion: string
  /** What the last save said: a confirmation or a refusal. */
  notice?: { kind: 'ok' | 'error'; text: string }
  /** Field values to keep after a refused save; secrets are never sent back. */
  values?: { accessKeyId?: string; region?: string }
}

export type ChatPageProps = {
  credentials: CredentialsView
  models: ModelOption[]
  modelId: string
  messages: ThreadMessageView[]
  streaming: boolean
  composer?: { text?: string; error?: string }
}

export const MESSAGE_MAX_LENGTH = 100_000

export function ChatPage(props: ChatPageProps) {
  return (
    <Layout title="Bedrock Chat" scripts={['/public/chat.js']}>
      <div class="app">
        <aside class="sidebar" aria-label="Settings">
          <header class="brand">
            <h1>Bedrock Chat</h1>
            <form method="post" action="/new">
              <button type="submit" class="secondary">
                New chat
              </button>
            </form>
          </header>
          <ModelSelect models={props.models} modelId={props.modelId} />
          <CredentialsPanel {...props.credentials} />
        </aside>
        <main class="chat">
          <Thread messages={props.messages} />
          <Composer {...props.composer} streaming={props.streaming} />
        </main>
      </div>
    </Layout>
  )
}

export function ModelSelect({ models, modelId }: { models: ModelOption[]; modelId: string }) {
  const known = models.some((m) => m.id === modelId)
  return (
    <section class="panel">
      <label for="model">Model</label>
      <select id="model" name="modelId" form="composer">
        {!known && (
          <option value={modelId} selected>
            {modelId}
          </option>
        )}
        {models.map((m) => (
          <option value={m.id} selected={m.id === modelId}>
            {m.name}
          </option>
        ))}
      </select>
    </section>
  )
}

export function CredentialsPanel(props: CredentialsView) {
  const using = props.maskedAccessKey ? `your key ${props.maskedAccessKey}` : 'server credentials'
  return (
    <section class="panel" id="credentials" aria-labelledby="credentials-heading">
      <h2 id="credentials-heading">AWS credentials</h2>
      <p class="using" id="credentials-in-use">
        Using <strong>{using}</strong> in <strong>{props.region}</strong>
      </p>
      {props.notice && (
        <p class={`notice ${props.notice.kind}`} role={props.notice.kind === 'error' ? 'alert' : 'status'}>
          {props.notice.text}
        </p>
      )}
      <form
        method="post"
        action="/credentials"
        hx-post="/credentials"
        hx-target="#credentials"
        hx-swap="outerHTML"
        autocomplete="off"
      >
        <label for="access-key-id">AWS Access Key ID</label>
        <input
          id="access-key-id"
          name="accessKeyId"
          value={props.values?.accessKeyId ?? ''}
          spellcheck={false}
          autocapitalize="off"
          placeholder="AKIA…"
        />
        <label for="secret-access-key">AWS Secret Access Key</label>
        <input id="secret-access-key" name="secretAccessKey" type="password" autocomplete="off" />
        <label for="session-token">AWS Session Token</label>
        <input id="session-token" name="sessionToken" type="password" autocomplete="off" placeholder="only for temporary keys" />
        <label for="region">AWS Region</label>
        <input id="region" name="region" value={props.values?.region ?? props.region} placeholder={props.defaultRegion} />
        <div class="row">
          <button type="submit">Save credentials</button>
        </div>
      </form>
      {props.maskedAccessKey && (
        <form method="post" action="/credentials/clear" hx-post="/credentials/clear" hx-target="#credentials" hx-swap="outerHTML">
          <button type="submit" class="secondary">
            Use server credentials
          </button>
        </form>
      )}
      <p class="hint">Kept in this server's memory for this browser only; never stored or logged.</p>
    </section>
  )
}

export function Thread({ messages }: { messages: ThreadMessageView[] }) {
  return (
    <div id="thread" class="thread" role="log" aria-live="polite" aria-label="Conversation">
      {messages.length === 0 ? <EmptyThread /> : messages.map((m) => <Message message={m} />)}
    </div>
  )
}

function EmptyThread() {
  return (
    <div class="empty" id="empty-thread">
      <h2>Ask anything</h2>
      <p>Type a message below. Enter sends, Shift+Enter starts a new line.</p>
    </div>
  )
}

export function Message({ message }: { message: ThreadMessageView }) {
  return message.role === 'user' ? <UserMessage message={message} /> : <AssistantMessage message={message} />
}

export function UserMessage({ message }: { message: ThreadMessageView }) {
  return (
    <article class="msg user" id={`m-${message.id}`} aria-label="You">
      <div class="msg-text">{message.text}</div>
    </article>
  )
}

const STATUS_TEXT: Record<ThreadMessageView['status'], string> = {
  streaming: 'Waiting for the model…',
  done: '',
  error: 'The reply failed.',
  stopped: 'Stopped.',
}

export function AssistantMessage({ message, turnId }: { message: ThreadMessageView; turnId?: string }) {
  const streaming = message.status === 'streaming'
  return (
    <article
      class={`msg assistant ${message.status}`}
      id={`m-${message.id}`}
      aria-label="Assistant"
      aria-busy={streaming ? 'true' : 'false'}
      data-status={message.status}
    >
      <div class="msg-text" id={`m-${message.id}-text`}>
        {message.text}
      </div>
      {message.status === 'error' && message.error && (
        <p class="msg-error" role="alert">
          {message.error}
        </p>
      )}
      {message.status !== 'error' && message.error && <p class="msg-warning">{message.error}</p>}
      <p class="msg-status" id={`m-${message.id}-status`}>
        {message.status === 'error' && message.error ? '' : STATUS_TEXT[message.status]}
      </p>
      {streaming && turnId && (
        <div class="msg-actions">
          <button type="button" class="stop" hx-post={`/turns/${turnId}/stop`} hx-swap="none">
            Stop
          </button>
        </div>
      )}
      {message.modelId && !streaming && <p class="msg-meta">{message.modelId}</p>}
    </article>
  )
}

export function Composer({ text, error, streaming }: { text?: string; error?: string; streaming?: boolean }) {
  return (
    <form
      id="composer"
      class="composer"
      method="post"
      action="/messages"
      hx-post="/messages"
      hx-target="#thread"
      hx-swap="beforeend"
    >
      <label for="message">Message</label>
      <p id="composer-error" class="form-error" role="alert">
        {error}
      </p>
      <div class="composer-row">
        <textarea
          id="message"
          name="message"
          rows={3}
          required
          maxlength={MESSAGE_MAX_LENGTH}
          placeholder="Message the model (Enter to send, Shift+Enter for a new line)"
          autofocus
        >
          {text ?? ''}
        </textarea>
        <button type="submit" id="send" disabled={streaming}>
          Send
        </button>
      </div>
    </form>
  )
}

/** A notice appended to the thread (a refused message, a busy session). */
export function ThreadNotice({ children }: { children?: Child }) {
  return (
    <p class="thread-notice" role="alert">
      {children}
    </p>
  )
}
