import type { Child } from 'hono/jsx'
import { raw } from 'hono/html'
import type { FormLimits } from '../src/http/forms.ts'
import type { CallEvent } from '../src/services/chat/index.ts'
import { Layout } from './layout.tsx'
import { Partial } from './partial.tsx'
import { SignOutForm } from './sign-in.tsx'
import { chunkedStream } from './stream-chunks.tsx'

/** A message as the page shows it; built by the route, with no secret in it. */
export type ThreadMessageView = {
  id: string
  role: 'user' | 'assistant'
  text: string
  status: 'streaming' | 'done' | 'error' | 'stopped'
  error?: string | null
  modelId?: string | null
  /** The reply rendered from Markdown and sanitized (src/services/markdown/index.ts, sanitize-html last). */
  html?: string
  reasoning?: string | null
  attachments?: AttachmentView[]
  details?: ReplyDetails
  /** Earlier messages left out of what was sent (the context window was full). */
  droppedTurns?: number | null
  /** The guardrail blocked this reply: `error` is its note, with the guardrail's own message. */
  blocked?: boolean
  /**
   * A reply still streaming on a page loaded meanwhile (a reload, a second tab): it polls this
   * address until it is finished, and offers Stop when this browser's turn can be stopped.
   */
  poll?: { url: string; stopId?: string }
}

export type AttachmentView = { id: string; kind: 'image' | 'document'; name: string; size: number; url: string; note?: string }

export type ReplyDetails = {
  model: string
  latencyMs: number
  timeToFirstTokenMs: number | null
  inputTokens: number | null
  outputTokens: number | null
  /** Prompt caching: tokens read from and written to the cache (null when none were reported). */
  cacheReadInputTokens: number | null
  cacheWriteInputTokens: number | null
  costUsd: number | null
  attempts: number
}

export type ModelOption = { id: string; name: string }

export type CredentialsView = {
  /** "AKIA…WXYZ" for a browser's own keys; null when the server's credentials are in use. */
  maskedAccessKey: string | null
  /** The kind of the browser's own Bedrock API key (none of it is ever shown); null when it saved none. */
  apiKey: 'long-term' | 'short-term' | null
  /** The server's own credential is a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK), not access keys. */
  serverApiKey: boolean
  region: string
  defaultRegion: string
  /** What the last save said: a confirmation or a refusal. */
  notice?: { kind: 'ok' | 'error'; text: string }
  /** The browser saved credentials this server does not hold (a restart, another instance): "Use server credentials" dismisses it. */
  lost?: boolean
  /** Field values to keep after a refused save; secrets are never sent back. */
  values?: { accessKeyId?: string; region?: string }
}

export type ConversationListItem = { id: string; title: string }
export type SearchView = { query: string; hits: { conversationId: string; title: string; snippet: string }[] }

export type SettingsView = {
  conversationId: string
  systemPrompt: string
  temperature: number
  /** False for a model that refuses a temperature: the field is left out. */
  temperatureAvailable: boolean
  maxTokens: number
  thinking: boolean
  thinkingBudget: number
  /** How the chosen model thinks: not at all, with a budget, or adaptively at an effort level. */
  thinkingMode: 'none' | 'budget' | 'adaptive'
  effort: string
  promptCaching: boolean
  promptCachingAvailable: boolean
  maxOutput: number
  notice?: { kind: 'ok' | 'error'; text: string }
  limits: FormLimits
}

export type ChatPageProps = {
  credentials: CredentialsView
  models: ModelOption[]
  modelId: string
  /** One line when the Model select shows the catalogue instead of the account's own list. */
  modelsNote?: string
  conversations: ConversationListItem[]
  /** The open conversation; absent on a new chat. */
  conversation?: { id: string; title: string }
  settings?: SettingsView
  messages: ThreadMessageView[]
  streaming: boolean
  composer?: { text?: string; error?: string }
  attachments: { accept: string; hint: string }
  search?: SearchView
  chatTitle: string
  /** What the forms accept (the server's schemas): the fields' maxlength, min and max. */
  limits: FormLimits
  /** Signed in with the password: the sidebar offers "Sign out". */
  signOut?: boolean
  /** Today's spend against the daily budgets that are on; absent when none is. */
  budget?: BudgetView
}

/** Dollars already formatted ("$0.42"): today's spend and the budget, for the person and for the server. */
export type BudgetView = { user?: { spent: string; budget: string }; server?: { spent: string; budget: string } }

/** The sidebar's line "Today: $0.42 of $5.00" (and the server's, when it has a budget too). */
export function BudgetLine({ budget }: { budget: BudgetView }) {
  return (
    <p id="budget" class="budget hint">
      {budget.user && <span class="budget-user">{`Today: ${budget.user.spent} of ${budget.user.budget}`}</span>}
      {budget.server && <span class="budget-server">{`The whole server today: ${budget.server.spent} of ${budget.server.budget}`}</span>}
    </p>
  )
}

/** Where a conversation's messages are posted: a new chat creates its conversation on the first one. */
export const postUrl = (conversationId?: string) => `/c/${conversationId ?? 'new'}/messages`

/**
 * Where chat.js finds the open conversation: its page (for the address bar once a new chat is
 * saved) and where its messages are posted.
 */
/** The heading of a chat not saved yet. */
export const NEW_CHAT_TITLE = 'New chat'

/** Where the page is and where its composer posts: a saved conversation, or a new chat. */
export function ConversationMeta({ conversationId }: { conversationId?: string }) {
  return <div id="conversation-meta" hidden data-url={conversationId ? `/c/${conversationId}` : '/'} data-post={postUrl(conversationId)}></div>
}

export function ChatPage(props: ChatPageProps) {
  return (
    <Layout
      title={props.conversation ? `${props.conversation.title} · Bedrock Chat` : 'Bedrock Chat'}
      styles={['/public/markdown.css']}
      scripts={['/public/chat.js', '/public/copy.js']}
    >
      <div class="app">
        <aside class="sidebar" aria-label="Conversations and settings">
          <header class="brand">
            <h1>Bedrock Chat</h1>
            <a href="/" class="button secondary" id="new-chat">
              New chat
            </a>
          </header>
          <SearchBox query={props.search?.query} />
          <ConversationList conversations={props.conversations} currentId={props.conversation?.id} search={props.search} />
          {props.budget && <BudgetLine budget={props.budget} />}
          {/* always open on a wide screen; chat.js folds it on a phone, so the chat comes first */}
          <details class="sidebar-more" open>
            <summary>Model, settings and credentials</summary>
            <ModelSelect models={props.models} modelId={props.modelId} note={props.modelsNote} />
            {props.settings && <SettingsPanel {...props.settings} />}
            <CredentialsPanel {...props.credentials} />
            <p class="hint">
              <a href="/dashboard">Monitoring dashboard</a>
            </p>
            {props.signOut && <SignOutForm />}
          </details>
        </aside>
        <main class="chat">
          <ChatHeader conversation={props.conversation} title={props.chatTitle} titleMax={props.limits.title} />
          <Thread messages={props.messages} />
          <ThreadActions conversationId={props.conversation?.id} messages={props.messages} streaming={props.streaming} messageMax={props.limits.message} />
          <Composer
            {...props.composer}
            streaming={props.streaming}
            conversationId={props.conversation?.id}
            attachments={props.attachments}
            messageMax={props.limits.message}
          />
          <ConversationMeta conversationId={props.conversation?.id} />
        </main>
      </div>
    </Layout>
  )
}

export function SearchBox({ query }: { query?: string }) {
  return (
    <form
      method="get"
      action="/search"
      role="search"
      class="search"
      hx-get="/search"
      hx-target="#conversation-list"
      hx-swap="outerHTML"
      hx-trigger="input changed delay:250ms from:find input, submit"
    >
      <label for="search">Search conversations</label>
      <input id="search" name="q" type="search" value={query ?? ''} placeholder="Words in your messages" autocomplete="off" />
    </form>
  )
}

/** A snippet with the matched words marked (between \u0001 and \u0002): the text is escaped, only the <mark> is markup. */
function Snippet({ text }: { text: string }) {
  const parts = text.split(/\u0001|\u0002/)
  return <span class="snippet">{parts.map((part, i) => (i % 2 === 1 ? <mark>{part}</mark> : part))}</span>
}

export function ConversationList({ conversations, currentId, search }: { conversations: ConversationListItem[]; currentId?: string; search?: SearchView }) {
  if (search && search.query.trim() !== '') {
    return (
      <nav id="conversation-list" class="conversations" aria-label="Search results">
        <p class="list-heading">
          {search.hits.length === 0
            ? `Nothing found for “${search.query}”.`
            : `Found in ${search.hits.length} conversation${search.hits.length === 1 ? '' : 's'}:`}
        </p>
        <ul>
          {search.hits.map((hit) => (
            <li>
              <a href={`/c/${hit.conversationId}`} aria-current={hit.conversationId === currentId ? 'page' : undefined}>
                <span class="title">{hit.title}</span>
                <Snippet text={hit.snippet} />
              </a>
            </li>
          ))}
        </ul>
      </nav>
    )
  }
  return (
    <nav id="conversation-list" class="conversations" aria-label="Conversations">
      {conversations.length === 0 ? (
        <p class="list-heading">Your conversations will be listed here.</p>
      ) : (
        <ul>
          {conversations.map((c) => (
            <li>
              <a href={`/c/${c.id}`} aria-current={c.id === currentId ? 'page' : undefined}>
                <span class="title">{c.title}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </nav>
  )
}

/** Where Refresh models posts: the account's list asked for again. */
export const REFRESH_MODELS_URL = '/models/refresh'

export function ModelSelect({ models, modelId, note }: { models: ModelOption[]; modelId: string; note?: string }) {
  const known = models.some((m) => m.id === modelId)
  return (
    <section class="panel" id="model-panel">
      <label for="model">Model</label>
      <div class="model-row">
        <select id="model" name="modelId" form="composer">
          {models.map((m) => (
            <option value={m.id} selected={m.id === modelId}>
              {m.name}
            </option>
          ))}
          <option value="custom" selected={!known}>
            Custom model ID…
          </option>
        </select>
        {/* the current choice goes along, so the fresh list keeps it selected */}
        <form
          method="post"
          action={REFRESH_MODELS_URL}
          hx-post={REFRESH_MODELS_URL}
          hx-target="#model-panel"
          hx-swap="outerHTML"
          hx-include="#model, #custom-model-id"
        >
          <button type="submit" class="secondary small" id="refresh-models">
            Refresh models
          </button>
        </form>
      </div>
      {note && (
        <p class="hint" id="models-note" role="status">
          {note}
        </p>
      )}
      <div class="custom-model" data-show-when-custom>
        <label for="custom-model-id">Custom model ID</label>
        <input
          id="custom-model-id"
          name="customModelId"
          form="composer"
          value={known ? '' : modelId}
          placeholder="model id, inference profile id or ARN"
          spellcheck={false}
          autocapitalize="off"
        />
      </div>
    </section>
  )
}

export function SettingsPanel(props: SettingsView) {
  const action = `/c/${props.conversationId}/settings`
  return (
    <section class="panel" id="settings" aria-labelledby="settings-heading">
      <details open={props.notice?.kind === 'error'}>
        <summary id="settings-heading">Settings for this conversation</summary>
        {props.notice && (
          <p class={`notice ${props.notice.kind}`} role={props.notice.kind === 'error' ? 'alert' : 'status'}>
            {props.notice.text}
          </p>
        )}
        <form method="post" action={action} hx-post={action} hx-target="#settings" hx-swap="outerHTML">
          <label for="system-prompt">System prompt</label>
          <textarea id="system-prompt" name="systemPrompt" rows={3} maxlength={props.limits.systemPrompt} placeholder="How the assistant should behave">
            {props.systemPrompt}
          </textarea>
          {props.temperatureAvailable && (
            <>
              <label for="temperature">Temperature</label>
              <input
                id="temperature"
                name="temperature"
                type="number"
                min={String(props.limits.temperature.min)}
                max={String(props.limits.temperature.max)}
                step="0.1"
                value={String(props.temperature)}
              />
            </>
          )}
          <label for="max-tokens">Max tokens</label>
          <input
            id="max-tokens"
            name="maxTokens"
            type="number"
            min={String(props.limits.maxTokens.min)}
            max={String(Math.min(props.maxOutput, props.limits.maxTokens.max))}
            step="1"
            value={String(props.maxTokens)}
          />
          {props.thinkingMode !== 'none' && (
            <fieldset class="thinking-settings">
              <legend>Thinking</legend>
              <label class="inline">
                <input type="checkbox" name="thinking" value="on" checked={props.thinking} /> Let the model think before answering
              </label>
              {props.thinkingMode === 'budget' ? (
                <>
                  <label for="thinking-budget">Thinking budget (tokens)</label>
                  <input
                    id="thinking-budget"
                    name="thinkingBudget"
                    type="number"
                    min={String(props.limits.thinkingBudget.min)}
                    step="256"
                    value={String(props.thinkingBudget)}
                  />
                </>
              ) : (
                <p class="hint" id="thinking-effort">{`Adaptive: the model decides how much to think, at effort ${props.effort}.`}</p>
              )}
              {props.temperatureAvailable && <p class="hint">No temperature is sent while the model thinks.</p>}
            </fieldset>
          )}
          {props.promptCachingAvailable && (
            <label class="inline">
              <input type="checkbox" id="prompt-caching" name="promptCaching" value="on" checked={props.promptCaching} /> Prompt caching
            </label>
          )}
          <div class="row">
            <button type="submit">Save settings</button>
          </div>
        </form>
      </details>
    </section>
  )
}

export function CredentialsPanel(props: CredentialsView) {
  const server = props.serverApiKey ? "server credentials (the server's Bedrock API key)" : 'server credentials'
  const using = props.apiKey ? `your Bedrock API key (${props.apiKey})` : props.maskedAccessKey ? `your key ${props.maskedAccessKey}` : server
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
      <form method="post" action="/credentials" hx-post="/credentials" hx-target="#credentials" hx-swap="outerHTML" autocomplete="off">
        <label for="access-key-id">AWS Access Key ID</label>
        <input id="access-key-id" name="accessKeyId" value={props.values?.accessKeyId ?? ''} spellcheck={false} autocapitalize="off" placeholder="AKIA…" />
        <label for="secret-access-key">AWS Secret Access Key</label>
        <input id="secret-access-key" name="secretAccessKey" type="password" autocomplete="off" />
        <label for="session-token">AWS Session Token</label>
        <input id="session-token" name="sessionToken" type="password" autocomplete="off" placeholder="only for temporary keys" />
        <label for="api-key">Bedrock API key</label>
        <input id="api-key" name="apiKey" type="password" autocomplete="off" placeholder="instead of access keys: ABSK… or bedrock-api-key-…" />
        <label for="region">AWS Region</label>
        <input id="region" name="region" value={props.values?.region ?? props.region} placeholder={props.defaultRegion} />
        <div class="row">
          <button type="submit">Save credentials</button>
        </div>
      </form>
      {(props.maskedAccessKey || props.apiKey || props.lost) && (
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

export function ChatHeader({ conversation, title, titleMax }: { conversation?: { id: string; title: string }; title: string; titleMax: number }) {
  return (
    <header class="chat-header" id="chat-header">
      <h2 id="chat-title">{title}</h2>
      {conversation && (
        <div class="chat-tools">
          <details class="rename">
            <summary>Rename</summary>
            <form method="post" action={`/c/${conversation.id}/rename`} hx-post={`/c/${conversation.id}/rename`} hx-swap="none">
              <p id="rename-error" class="form-error" role="alert"></p>
              <label for="rename-title">New title</label>
              <input id="rename-title" name="title" value={conversation.title} required maxlength={titleMax} />
              <button type="submit">Save title</button>
            </form>
          </details>
          <a
            href={`/c/${conversation.id}/delete`}
            class="button danger"
            hx-post={`/c/${conversation.id}/delete`}
            hx-confirm="Delete this conversation and its messages? This cannot be undone."
            hx-swap="none"
          >
            Delete
          </a>
        </div>
      )}
    </header>
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

export function Message({ message, stopId }: { message: ThreadMessageView; stopId?: string }) {
  return message.role === 'user' ? <UserMessage message={message} /> : <AssistantMessage message={message} stopId={stopId} />
}

function formatSize(bytes: number): string {
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1000))} KB`
}

function Attachments({ files }: { files: AttachmentView[] }) {
  return (
    <ul class="attachments" aria-label="Attachments">
      {files.map((f) => (
        <li>
          {f.kind === 'image' ? (
            <a href={f.url} target="_blank" rel="noopener">
              <img src={f.url} alt={f.name} loading="lazy" />
            </a>
          ) : (
            <a href={f.url} download={f.name}>
              📄 {f.name}
            </a>
          )}
          <span class="size">{formatSize(f.size)}</span>
          {f.note && <span class="note">{f.note}</span>}
        </li>
      ))}
    </ul>
  )
}

export function UserMessage({ message }: { message: ThreadMessageView }) {
  return (
    <article class="msg user" id={`m-${message.id}`} aria-label="You">
      {message.attachments && message.attachments.length > 0 && <Attachments files={message.attachments} />}
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

function money(usd: number): string {
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(3)}`
}

/** Thousands separated, as toLocaleString('en-US') writes them (one formatter: it is costly to make). */
const count = new Intl.NumberFormat('en-US')

export function Details({ details }: { details: ReplyDetails }) {
  const parts = [
    details.model,
    `${count.format(Math.round(details.latencyMs))} ms`,
    details.timeToFirstTokenMs === null ? null : `first token ${count.format(details.timeToFirstTokenMs)} ms`,
    details.inputTokens === null ? null : `${count.format(details.inputTokens)} in / ${count.format(details.outputTokens ?? 0)} out tokens`,
    details.cacheReadInputTokens || details.cacheWriteInputTokens
      ? `cache ${count.format(details.cacheReadInputTokens ?? 0)} read / ${count.format(details.cacheWriteInputTokens ?? 0)} written`
      : null,
    details.inputTokens === null ? null : details.costUsd === null ? 'cost unknown' : `≈ ${money(details.costUsd)}`,
    details.attempts > 1 ? `${details.attempts} attempts` : null,
  ].filter(Boolean)
  return <p class="msg-meta">{parts.join(' · ')}</p>
}

/** The collapsed "Thinking" block: the model's reasoning, shown apart from its answer. */
export function ThinkingBox({ replyId, text }: { replyId: string; text?: string }) {
  return (
    <details class="thinking" id={`m-${replyId}-thinking-box`}>
      <summary>Thinking</summary>
      <div class="thinking-text" id={`m-${replyId}-thinking`}>
        {text}
      </div>
    </details>
  )
}

/** A reply; `stopId` names the reply streaming in this very response, which gets a Stop button. */
export function AssistantMessage({ message, stopId: streamingHere }: { message: ThreadMessageView; stopId?: string }) {
  const streaming = message.status === 'streaming'
  const polling = streaming && !streamingHere && message.poll
  const stopId = streamingHere ?? message.poll?.stopId
  const poll = polling ? { 'hx-get': message.poll!.url, 'hx-trigger': 'every 1s', 'hx-swap': 'outerHTML' } : {}
  return (
    <article
      class={`msg assistant ${message.status}`}
      id={`m-${message.id}`}
      aria-label="Assistant"
      aria-busy={streaming ? 'true' : 'false'}
      data-status={message.status}
      {...poll}
    >
      {message.droppedTurns ? (
        <p class="msg-warning">
          {message.droppedTurns} earlier message{message.droppedTurns === 1 ? ' was' : 's were'} left out: the conversation no longer fits the model's context
          window.
        </p>
      ) : null}
      {message.reasoning ? (
        <ThinkingBox replyId={message.id} text={message.reasoning} />
      ) : streaming ? (
        <div id={`m-${message.id}-thinking-box`} hidden></div>
      ) : null}
      {message.html !== undefined ? (
        // sanitized by src/services/markdown/index.ts (sanitize-html with an allowlist, the last step)
        <div class="msg-text md-reply" id={`m-${message.id}-text`}>
          {raw(message.html)}
        </div>
      ) : (
        <div class="msg-text md-streaming" id={`m-${message.id}-text`}>
          {message.text}
        </div>
      )}
      {message.status === 'error' && message.error && (
        <p class={message.blocked ? 'msg-blocked' : 'msg-error'} role="alert">
          {message.error}
        </p>
      )}
      {message.status !== 'error' && message.error && <p class="msg-warning">{message.error}</p>}
      <p class="msg-status" id={`m-${message.id}-status`}>
        {message.status === 'error' && message.error ? '' : polling ? 'Still answering: this reply fills in when it is done…' : STATUS_TEXT[message.status]}
      </p>
      {streaming && stopId && (
        <div class="msg-actions">
          <button type="button" class="stop" hx-post={`/replies/${stopId}/stop`} hx-swap="none">
            Stop
          </button>
        </div>
      )}
      {!streaming && (
        <div class="msg-actions">
          {message.text !== '' && (
            <button type="button" class="secondary small" data-copy-text-of={`#m-${message.id}-text`}>
              Copy
            </button>
          )}
          {message.details && <Details details={message.details} />}
        </div>
      )}
    </article>
  )
}

/**
 * Regenerate, Retry and Edit act on the last exchange. They live outside the thread so they stay
 * on the page while a new reply streams in (htmx ends a stream whose source element is removed).
 */
export function ThreadActions({
  conversationId,
  messages,
  streaming,
  messageMax,
}: {
  conversationId?: string
  messages: ThreadMessageView[]
  streaming: boolean
  messageMax: number
}) {
  const last = messages.at(-1)
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')
  if (!conversationId || !last || last.role !== 'assistant' || streaming || last.status === 'streaming') {
    return <div id="thread-actions" class="thread-actions"></div>
  }
  const base = `/c/${conversationId}`
  // the Model select belongs to the composer: these forms take its current choice along
  const stream = { 'hx-target': '#thread', 'hx-swap': 'beforeend', 'hx-include': '#model, #custom-model-id' }
  return (
    <div id="thread-actions" class="thread-actions">
      <form method="post" action={`${base}/regenerate`} hx-post={`${base}/regenerate`} {...stream}>
        <button type="submit" class="secondary">
          {last.status === 'error' ? 'Retry' : 'Regenerate'}
        </button>
      </form>
      {lastUser && (
        <details class="edit">
          <summary>Edit</summary>
          <form method="post" action={`${base}/edit`} hx-post={`${base}/edit`} {...stream}>
            {/* worded so "Message" and "Send" stay unique labels on the page */}
            <label for="edit-message">Edited text</label>
            <textarea id="edit-message" name="message" rows={3} required maxlength={messageMax}>
              {lastUser.text}
            </textarea>
            <button type="submit">Save and ask again</button>
          </form>
        </details>
      )}
    </div>
  )
}

export function Composer({
  text,
  error,
  streaming,
  conversationId,
  attachments,
  messageMax,
}: {
  text?: string
  error?: string
  streaming?: boolean
  conversationId?: string
  attachments: { accept: string; hint: string }
  messageMax: number
}) {
  const url = postUrl(conversationId)
  return (
    <form id="composer" class="composer" method="post" action={url} hx-post={url} hx-target="#thread" hx-swap="beforeend" enctype="multipart/form-data">
      <label for="message">Message</label>
      <p id="composer-error" class="form-error" role="alert">
        {error}
      </p>
      <div class="composer-row">
        <textarea
          id="message"
          name="message"
          rows={3}
          maxlength={messageMax}
          placeholder="Message the model (Enter to send, Shift+Enter for a new line)"
          autofocus
        >
          {text ?? ''}
        </textarea>
        <button type="submit" id="send" disabled={streaming}>
          Send
        </button>
      </div>
      <div class="composer-files">
        <label for="files" class="inline">
          Attach files
        </label>
        <input id="files" name="files" type="file" multiple accept={attachments.accept} />
        <span class="hint">{attachments.hint}</span>
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

/** The first message of a streamed reply: the person's message, the empty reply, and the page catching up. */
export function StreamStart({
  user,
  reply,
  replaced,
  conversation,
  conversations,
  isNew,
}: {
  user?: ThreadMessageView
  reply: ThreadMessageView
  /** Messages this turn replaces (Regenerate, Edit): removed from the thread first. */
  replaced: string[]
  conversation: { id: string; title: string }
  conversations: ConversationListItem[]
  isNew: boolean
}) {
  return (
    <>
      {replaced.map((id) => (
        <Partial target={`#m-${id}`} swap="delete"></Partial>
      ))}
      {user && <UserMessage message={user} />}
      <AssistantMessage message={reply} stopId={reply.id} />
      <Partial target="#empty-thread" swap="delete"></Partial>
      {/* #thread-actions stays: it may hold the form this stream came from (chat.js hides it meanwhile) */}
      {isNew && (
        <>
          <Partial target="#conversation-list" swap="outerHTML">
            <ConversationList conversations={conversations} currentId={conversation.id} />
          </Partial>
          <Partial target="#chat-title" swap="innerHTML">
            {conversation.title}
          </Partial>
          <Partial target="#conversation-meta" swap="outerHTML">
            <ConversationMeta conversationId={conversation.id} />
          </Partial>
        </>
      )}
    </>
  )
}

/**
 * The event-stream messages of one streaming reply. The answer and the thinking each stream into
 * chunks (views/stream-chunks.tsx), so a token costs the browser the same however long the reply
 * already is; no component tree is rendered per token.
 */
export function replyStreamRenderer(replyId: string) {
  const answer = chunkedStream(`m-${replyId}-text`)
  const thought = chunkedStream(`m-${replyId}-thinking`)
  const status = (text: string) =>
    String(
      <Partial target={`#m-${replyId}-status`} swap="innerHTML">
        {text}
      </Partial>,
    )
  let firstText = true
  let firstThought = true
  return (event: CallEvent): string => {
    if (event.type === 'retry') {
      return status(`Bedrock answered ${event.errorName || 'with an error'}; retrying (attempt ${event.attempt} of ${event.maxAttempts})…`)
    }
    if (event.type === 'reasoning') {
      const first = firstThought
      firstThought = false
      const piece = thought(event.text)
      if (!first) return piece
      const box = String(
        <Partial target={`#m-${replyId}-thinking-box`} swap="outerHTML">
          <ThinkingBox replyId={replyId} />
        </Partial>,
      )
      return box + piece + status('Thinking…')
    }
    const piece = answer(event.text)
    if (!firstText) return piece
    firstText = false
    return piece + status('')
  }
}
