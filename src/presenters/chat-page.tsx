import type { Config } from '../config.ts'
import type { Conversation } from '../db/schema.ts'
import { ACCEPT_ATTRIBUTE, ATTACHMENT_HINT } from '../services/chat/index.ts'
import { DEFAULT_EFFORT, DEFAULT_TEMPERATURE, DEFAULT_THINKING_BUDGET, effectiveSettings, thinkingOn } from '../services/chat/index.ts'
import type { ThreadEntry } from '../services/chat/index.ts'
import type { renderMarkdown as RenderMarkdown } from '../services/markdown/index.ts'
import { costFor } from '../services/models.ts'
import { modelInfo } from '../services/models.ts'
import { apiKeyKind, GUARDRAIL_INTERVENED, isApiKey, maskAccessKey, usd, type Session } from '../services/chat/index.ts'
import {
  ChatPage,
  NEW_CHAT_TITLE,
  type BudgetView,
  type ConversationListItem,
  type CredentialsView,
  type SearchView,
  type SettingsView,
  type ThreadMessageView,
} from '../../views/chat.tsx'
import type { AppEnv } from '../http/env.ts'
import { FORM_LIMITS } from '../http/forms.ts'
import { withoutBidiControls } from '../services/bidi.ts'

export const ATTACHMENTS_VIEW = { accept: ACCEPT_ATTRIBUTE, hint: ATTACHMENT_HINT }

/**
 * The chat page's presenter: stored conversations, messages, settings and credentials turned into
 * the views' props, and the whole page. It reads what a request has (`Viewer`: the services and
 * the browser's session), never the request itself, so routes stay the only place that speaks HTTP.
 */
export type Viewer = Pick<AppEnv['Variables'], 'deps' | 'session'>

/** What the sidebar says to a browser whose saved credentials this server does not hold. */
export const CREDENTIALS_LOST =
  'This server does not hold the credentials you saved (it restarted, or your browser was moved to another server): enter them again, or use the server credentials.'

/** What the sidebar shows about a session's credentials: never a secret, only a masked key id or an API key's kind. */
export function credentialsView(session: Session, config: Config, extra: Partial<CredentialsView> = {}): CredentialsView {
  const saved = session.credentials
  return {
    ...(session.credentialsLost && !saved ? { lost: true, notice: { kind: 'error' as const, text: CREDENTIALS_LOST } } : {}),
    maskedAccessKey: saved && !isApiKey(saved) ? maskAccessKey(saved.accessKeyId) : null,
    apiKey: saved && isApiKey(saved) ? apiKeyKind(saved.apiKey) : null,
    serverApiKey: config.AWS_BEARER_TOKEN_BEDROCK !== undefined,
    region: session.region ?? config.AWS_REGION,
    defaultRegion: config.AWS_REGION,
    ...extra,
  }
}

let renderMarkdown: typeof RenderMarkdown | undefined
let markdownLoading: Promise<void> | undefined

/**
 * The Markdown stack (markdown-it, highlight.js, sanitize-html) is about half of the app's start-up
 * time, and the first page a person sees (a new chat) needs none of it. It loads when the first
 * page has been rendered; whatever shows a finished reply waits for it first.
 */
export function markdownReady(): Promise<void> {
  return (markdownLoading ??= import('../services/markdown/index.ts').then((m) => {
    renderMarkdown = m.renderMarkdown
  }))
}

/** A stored message that is shown rendered from Markdown (a finished, non-empty reply). */
function rendersMarkdown(entry: Pick<ThreadEntry, 'role' | 'status' | 'text'>): boolean {
  return entry.role === 'assistant' && entry.status !== 'streaming' && entry.text !== ''
}

/** Rendered replies, by message and text: a page showing a long thread renders each reply once. */
const rendered = new Map<string, string>()
const RENDER_CACHE_SIZE = 2000

function renderReply(id: string, text: string): string | undefined {
  // only before markdownReady() has settled, which every caller awaits: then the text shows as it streamed
  if (!renderMarkdown) return undefined
  const key = `${id}:${text.length}:${Bun.hash(text)}`
  let html = rendered.get(key)
  if (html === undefined) {
    html = renderMarkdown(text, { idPrefix: `m${id.replace(/[^A-Za-z0-9]/g, '')}` })
    if (rendered.size >= RENDER_CACHE_SIZE) rendered.delete(rendered.keys().next().value!)
    rendered.set(key, html)
  }
  return html
}

/** A stored message as the page shows it: finished replies rendered from Markdown, details from its call. */
export function messageView(entry: ThreadEntry, conversationId: string, activeReplyId?: string): ThreadMessageView {
  const inv = entry.invocation
  const finished = rendersMarkdown(entry)
  return {
    id: entry.id,
    role: entry.role,
    // model output never shows bidi controls, also while it is still streaming or cut off
    text: entry.role === 'assistant' ? withoutBidiControls(entry.text) : entry.text,
    status: entry.status,
    error: entry.error,
    modelId: entry.modelId,
    reasoning: entry.reasoning === null ? null : withoutBidiControls(entry.reasoning),
    droppedTurns: entry.droppedTurns,
    blocked: entry.invocation?.errorType === GUARDRAIL_INTERVENED,
    poll:
      entry.status === 'streaming' ? { url: `/c/${conversationId}/replies/${entry.id}`, stopId: activeReplyId === entry.id ? entry.id : undefined } : undefined,
    html: finished ? renderReply(entry.id, entry.text) : undefined,
    attachments: entry.attachments.map((a) => ({
      id: a.id,
      kind: a.kind,
      name: a.originalName,
      size: a.size,
      url: `/c/${conversationId}/attachments/${a.id}`,
    })),
    details: inv
      ? {
          model: modelInfo(inv.modelId).name,
          latencyMs: inv.latencyMs,
          timeToFirstTokenMs: inv.timeToFirstTokenMs,
          inputTokens: inv.inputTokens,
          outputTokens: inv.outputTokens,
          cacheReadInputTokens: inv.cacheReadInputTokens,
          cacheWriteInputTokens: inv.cacheWriteInputTokens,
          costUsd:
            inv.inputTokens === null
              ? null
              : costFor(inv.modelId, inv.inputTokens ?? 0, inv.outputTokens ?? 0, inv.cacheReadInputTokens ?? 0, inv.cacheWriteInputTokens ?? 0),
          attempts: inv.attempts,
        }
      : undefined,
  }
}

export function settingsView(conversation: Conversation, defaultModelId: string, notice?: SettingsView['notice']): SettingsView {
  const s = effectiveSettings(conversation, defaultModelId)
  return {
    conversationId: conversation.id,
    systemPrompt: conversation.systemPrompt ?? '',
    temperature: conversation.temperature ?? DEFAULT_TEMPERATURE,
    temperatureAvailable: s.info.sampling !== 'none',
    maxTokens: s.maxTokens,
    thinking: thinkingOn(conversation, s.info),
    thinkingBudget: conversation.thinkingBudget || DEFAULT_THINKING_BUDGET,
    thinkingMode: s.info.thinking,
    effort: s.adaptiveThinking?.effort ?? s.info.effort ?? DEFAULT_EFFORT,
    promptCaching: conversation.promptCaching,
    promptCachingAvailable: s.info.cacheMinTokens !== undefined,
    maxOutput: s.info.maxOutput,
    notice,
    limits: FORM_LIMITS,
  }
}

/** Today's spend against the daily budgets that are on (BUDGET_USD_PER_DAY, SERVER_BUDGET_USD_PER_DAY); undefined when none is. */
export async function budgetView({ deps, session }: Viewer): Promise<BudgetView | undefined> {
  const { user, server } = await deps.limits.today(session.owner)
  if (!user && !server) return undefined
  const shown = (spend: typeof user) => spend && { spent: usd(spend.spentUsd), budget: usd(spend.budgetUsd) }
  return { user: shown(user), server: shown(server) }
}

/** The browser's conversations; `current` first when it is not saved yet (a new chat's first reply). */
export async function conversationList({ deps, session }: Viewer, current?: ConversationListItem): Promise<ConversationListItem[]> {
  const list = await deps.conversations.list(session.owner)
  return current && !list.some((item) => item.id === current.id) ? [{ id: current.id, title: current.title }, ...list] : list
}

export type ChatPageExtra = {
  composer?: { text?: string; error?: string }
  credentials?: Partial<CredentialsView>
  settingsNotice?: SettingsView['notice']
  search?: SearchView
}

/** The whole chat page: a conversation, or a new chat when there is none. */
export async function chatPage(viewer: Viewer, conversation: Conversation | null, extra: ChatPageExtra = {}) {
  const { session, deps } = viewer
  const defaultModel = deps.config.BEDROCK_MODEL_ID
  // the page's reads go to the read threads together
  const [menu, thread, conversations, budget] = await Promise.all([
    modelMenu(viewer),
    conversation ? deps.conversations.thread(conversation.id) : [],
    conversationList(viewer),
    budgetView(viewer),
  ])
  if (thread.some(rendersMarkdown)) await markdownReady()
  else setImmediate(markdownReady)
  return (
    <ChatPage
      credentials={credentialsView(session, deps.config, extra.credentials)}
      models={menu.models}
      modelId={conversation?.modelId ?? menu.defaultModelId}
      modelsNote={menu.note}
      conversations={conversations}
      conversation={conversation ? { id: conversation.id, title: conversation.title } : undefined}
      settings={conversation ? settingsView(conversation, defaultModel, extra.settingsNotice) : undefined}
      messages={conversation ? thread.map((m) => messageView(m, conversation.id, session.activeReply?.id)) : []}
      streaming={Boolean(session.activeReply)}
      composer={extra.composer}
      attachments={ATTACHMENTS_VIEW}
      search={extra.search}
      chatTitle={conversation?.title ?? NEW_CHAT_TITLE}
      limits={FORM_LIMITS}
      signOut={deps.access.passwordOn && session.signedIn}
      budget={budget}
    />
  )
}

/** The Model select's list for this browser: its own credentials' or the server's, in its region. */
export function modelMenu({ deps, session }: Viewer) {
  return deps.models.menu(session.region ?? deps.config.AWS_REGION, session.credentials)
}

/** The conversation of the page a form was posted from (a `refererPath`), if it is this browser's. */
export async function conversationAt({ deps, session }: Viewer, path: string): Promise<Conversation | null> {
  const id = path.match(/^\/c\/([\w-]+)$/)?.[1]
  return id ? deps.conversations.get(session.owner, id) : null
}
