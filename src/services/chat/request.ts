import type { Attachment, Conversation } from '../../db/schema.ts'
import { uniqueConverseNames } from './attachments/index.ts'
import type { HistoryFile, HistoryMessage, ModelRequest } from './bedrock.ts'
import { placeCachePoints } from './cache-points.ts'
import { fitToContext, type ContextMessage } from './context-window.ts'
import type { ThreadEntry } from './conversations.ts'
import { historyForModel } from './history.ts'
import { modelInfo, type EffortLevel, type ModelInfo } from '../models.ts'

export const DEFAULT_MAX_TOKENS = 2048
export const DEFAULT_TEMPERATURE = 0.7
export const DEFAULT_THINKING_BUDGET = 4096

/**
 * Whether a conversation thinks: `thinking_budget` null means never chosen (the model's default),
 * 0 means turned off, a number means on (with that budget, for models that take one).
 */
export function thinkingOn(conversation: Pick<Conversation, 'thinkingBudget'>, info: ModelInfo): boolean {
  if (info.thinking === 'none') return false
  return conversation.thinkingBudget === null ? info.thinkingByDefault : conversation.thinkingBudget > 0
}

/**
 * The settings a conversation's next call uses, its own or the defaults, within what the model
 * accepts (the catalogue's request rules): no temperature to a model that refuses it or while it
 * thinks, and to a model the catalogue does not know only the one the person set; a budget only
 * for extended thinking, adaptive thinking with its effort where that is the model's way.
 */
export function effectiveSettings(conversation: Conversation, defaultModelId: string) {
  const modelId = conversation.modelId ?? defaultModelId
  const info = modelInfo(modelId)
  const thinks = thinkingOn(conversation, info)
  const temperature = info.sampling === 'none' || thinks ? undefined : (conversation.temperature ?? (info.known ? DEFAULT_TEMPERATURE : undefined))
  return {
    modelId,
    info,
    system: conversation.systemPrompt ?? undefined,
    temperature,
    maxTokens: Math.min(conversation.maxTokens ?? DEFAULT_MAX_TOKENS, info.maxOutput),
    thinkingBudget: thinks && info.thinking === 'budget' ? (conversation.thinkingBudget ?? DEFAULT_THINKING_BUDGET) : undefined,
    adaptiveThinking: thinks && info.thinking === 'adaptive' ? { effort: info.effort ?? DEFAULT_EFFORT } : undefined,
    /** The minimum tokens per cache checkpoint when cache points are sent: the model takes them and the conversation did not turn them off. */
    cacheMinTokens: conversation.promptCaching !== false ? info.cacheMinTokens : undefined,
  }
}

/** The effort level sent with adaptive thinking when the catalogue names none: Bedrock's own default. */
export const DEFAULT_EFFORT: EffortLevel = 'high'

/** Room a thinking reply needs beside its budget: Bedrock wants maxTokens above the budget. */
export const THINKING_ANSWER_ROOM = 1024

/** The maxTokens a request asks for: with thinking, the budget plus room for the answer, within the model's limit. */
export function requestMaxTokens(settings: ReturnType<typeof effectiveSettings>): number {
  if (!settings.thinkingBudget) return settings.maxTokens
  return Math.min(Math.max(settings.maxTokens, settings.thinkingBudget + THINKING_ANSWER_ROOM), settings.info.maxOutput)
}

function toFile(a: Attachment): HistoryFile {
  return a.kind === 'image'
    ? { kind: 'image', format: a.format as 'png', bytes: new Uint8Array(a.bytes) }
    : { kind: 'document', format: a.format as 'pdf', name: a.name, bytes: new Uint8Array(a.bytes) }
}

/**
 * The request for the next reply: the thread's history (with its files), trimmed from the oldest
 * turn when it no longer fits the model's context window, never silently: `droppedTurns` says
 * how many messages were left out, and `fits` is false when even the newest message is too big.
 */
export async function buildModelRequest(
  conversation: Conversation,
  thread: Pick<ThreadEntry, 'id' | 'role' | 'text' | 'status' | 'attachments'>[],
  defaultModelId: string,
  filesOf: (messageIds: string[]) => Promise<Attachment[]>,
): Promise<{ request: ModelRequest; droppedTurns: number; fits: boolean }> {
  const settings = effectiveSettings(conversation, defaultModelId)
  const maxTokens = requestMaxTokens(settings)
  const kept = historyForModel(thread)
  const context = kept.map((m) => ({
    id: m.id,
    role: m.role,
    text: m.text,
    attachments: m.attachments.map((a) => ({
      kind: a.kind,
      size: a.size,
      width: a.width ?? undefined,
      height: a.height ?? undefined,
      format: a.format,
      pages: a.pages ?? undefined,
    })),
  })) satisfies (ContextMessage & { id: string })[]
  const fit = fitToContext({
    system: settings.system,
    messages: context,
    contextWindow: settings.info.contextWindow,
    maxTokens,
  })
  const sent = fit.messages as typeof context
  // only the files of the messages that fit are read (a long conversation's old files stay on disk)
  const files = await filesOf(sent.map((m) => m.id))
  // Bedrock refuses two documents with the same name anywhere in one request
  const documents = files.filter((f) => f.kind === 'document')
  const names = uniqueConverseNames(documents.map((d) => d.name))
  const renamed = new Map(documents.map((d, i) => [d.id, names[i] ?? d.name]))
  const messages: HistoryMessage[] = sent.map((m) => ({
    role: m.role,
    text: m.text,
    files: files.filter((f) => f.messageId === m.id).map((f) => toFile({ ...f, name: renamed.get(f.id) ?? f.name })),
  }))
  return {
    request: {
      modelId: settings.modelId,
      messages,
      system: settings.system,
      temperature: settings.temperature,
      maxTokens,
      adaptiveThinking: settings.adaptiveThinking,
      // a budget saved for an earlier model never exceeds what this one can give
      thinkingBudget: settings.thinkingBudget && Math.min(settings.thinkingBudget, maxTokens - THINKING_ANSWER_ROOM),
      cachePoints: placeCachePoints({ minTokens: settings.cacheMinTokens, system: settings.system, messages: sent }),
    },
    droppedTurns: fit.dropped,
    fits: fit.fits,
  }
}
