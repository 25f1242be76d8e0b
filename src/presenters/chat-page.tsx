import type { Context } from 'hono'
import type { AppEnv } from '../app.ts'
import type { Config } from '../config.ts'
import type { Conversation } from '../db/schema.ts'
import { ACCEPT_ATTRIBUTE, ATTACHMENT_HINT } from '../services/chat/index.ts'
import { DEFAULT_THINKING_BUDGET, effectiveSettings } from '../services/chat/index.ts'
import { ownerOf, type ThreadEntry } from '../services/chat/index.ts'
import type { renderMarkdown as RenderMarkdown } from '../services/markdown/index.ts'
import { costFor } from '../services/models.ts'
import { listedModels, modelInfo } from '../services/models.ts'
import { maskAccessKey, type Session } from '../services/chat/index.ts'
import {
  ChatPage,
  type ConversationListItem,
  type CredentialsView,
  type SearchView,
  type SettingsView,
  type ThreadMessageView,
} from '../../views/chat.tsx'
import { renderPage } from '../http/render.tsx'

export const ATTACHMENTS_VIEW = { accept: ACCEPT_ATTRIBUTE, hint: ATTACHMENT_HINT }

/** The browser's key for its conversations. */
export function ownerFor(c: Context<AppEnv>): string {
  return ownerOf(c.var.session.id)
}

/** What the sidebar shows about a session's credentials: never a secret, only a masked key id. */
export function credentialsView(session: Session, config: Config, extra: Partial<CredentialsView> = {}): CredentialsView {
  return {
    maskedAccessKey: session.credentials ? maskAccessKey(session.credentials.accessKeyId) : null,
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
    text: entry.text,
    status: entry.status,
    error: entry.error,
    modelId: entry.modelId,
    reasoning: entry.reasoning,
    droppedTurns: entry.droppedTurns,
    poll:
      entry.status === 'streaming'
        ? { url: `/c/${conversationId}/replies/${entry.id}`, stopId: activeReplyId === entry.id ? entry.id : undefined }
        : undefined,
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
          costUsd: inv.inputTokens === null ? null : costFor(inv.modelId, inv.inputTokens ?? 0, inv.outputTokens ?? 0),
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
    temperature: s.temperature,
    maxTokens: s.maxTokens,
    thinking: Boolean(conversation.thinkingBudget),
    thinkingBudget: conversation.thinkingBudget ?? DEFAULT_THINKING_BUDGET,
    thinkingAvailable: s.info.thinking,
    maxOutput: s.info.maxOutput,
    notice,
  }
}

/** The browser's conversations; `current` first when it is not saved yet (a new chat's first reply). */
export function conversationList(c: Context<AppEnv>, current?: ConversationListItem): ConversationListItem[] {
  const list = c.var.deps.conversations.list(ownerFor(c))
  return current && !list.some((item) => item.id === current.id) ? [{ id: current.id, title: current.title }, ...list] : list
}

export type ChatPageExtra = {
  composer?: { text?: string; error?: string }
  credentials?: Partial<CredentialsView>
  settingsNotice?: SettingsView['notice']
  search?: SearchView
}

/** The whole chat page: a conversation, or a new chat when there is none. */
export async function chatPage(c: Context<AppEnv>, conversation: Conversation | null, extra: ChatPageExtra = {}, status: 200 | 409 | 422 = 200) {
  const { session, deps } = c.var
  const defaultModel = deps.config.BEDROCK_MODEL_ID
  const thread = conversation ? deps.conversations.thread(conversation.id) : []
  if (thread.some(rendersMarkdown)) await markdownReady()
  else setImmediate(markdownReady)
  return renderPage(
    c,
    <ChatPage
      credentials={credentialsView(session, deps.config, extra.credentials)}
      models={listedModels().map((m) => ({ id: m.id, name: m.name }))}
      modelId={conversation?.modelId ?? defaultModel}
      conversations={conversationList(c)}
      conversation={conversation ? { id: conversation.id, title: conversation.title } : undefined}
      settings={conversation ? settingsView(conversation, defaultModel, extra.settingsNotice) : undefined}
      messages={conversation ? thread.map((m) => messageView(m, conversation.id, session.activeReply?.id)) : []}
      streaming={Boolean(session.activeReply)}
      composer={extra.composer}
      attachments={ATTACHMENTS_VIEW}
      search={extra.search}
      chatTitle={conversation?.title ?? 'New chat'}
    />,
    status,
  )
}

/** The same-origin page a form was posted from (where a form without JavaScript returns to). */
export function refererPath(c: Context<AppEnv>): string {
  const referer = c.req.header('Referer')
  if (!referer) return '/'
  try {
    const url = new URL(referer)
    return url.origin === new URL(c.req.url).origin && /^\/(c\/[\w-]+)?$/.test(url.pathname) ? url.pathname : '/'
  } catch {
    return '/'
  }
}

/** The conversation of the page a form was posted from, if it is this browser's. */
export function refererConversation(c: Context<AppEnv>): Conversation | null {
  const id = refererPath(c).match(/^\/c\/([\w-]+)$/)?.[1]
  return id ? c.var.deps.conversations.get(ownerFor(c), id) : null
}
