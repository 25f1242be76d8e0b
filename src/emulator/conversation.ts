// Validation of a Converse / ConverseStream request body, with messages
// modelled on the ones Bedrock returns, and helpers to read the conversation.

/** Largest inferenceConfig.maxTokens accepted for a model model-rules.ts gives no other limit. */
export const MAX_TOKENS_LIMIT = 64000

export interface ConverseBody {
  messages: { role: string; content: Record<string, unknown>[] }[]
  system?: { text?: string }[]
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number }
}

/** Content block kinds accepted without checking (the emulator only reads text). */
const OTHER_BLOCKS = ['image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent'] as const

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function constraint(value: unknown, at: string, rule: string): string {
  return `1 validation error detected: Value '${JSON.stringify(value)}' at '${at}' failed to satisfy constraint: ${rule}`
}

/** Returns the Bedrock-like ValidationException message, or null if the body is acceptable. */
export function validateBody(body: unknown, maxTokensLimit = MAX_TOKENS_LIMIT): string | null {
  if (!isRecord(body)) return 'Malformed input request, please reformat your input and try again.'
  const messages = body.messages
  if (!Array.isArray(messages)) return constraint(null, 'messages', 'Member must not be null')
  if (messages.length === 0) {
    return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.'
  }
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i]
    if (!isRecord(message)) return constraint(message, `messages.${i + 1}.member`, 'Member must not be null')
    const role = message.role
    if (role !== 'user' && role !== 'assistant') {
      return constraint(role, `messages.${i + 1}.member.role`, 'Member must satisfy enum value set: [user, assistant]')
    }
    if (i === 0 && role !== 'user') {
      return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.'
    }
    const previous: unknown = messages[i - 1]
    if (i > 0 && isRecord(previous) && previous.role === role) {
      return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.'
    }
    const content = message.content
    if (!Array.isArray(content) || content.length === 0) {
      return constraint(content ?? null, `messages.${i + 1}.member.content`, 'Member must have length greater than or equal to 1')
    }
    for (let j = 0; j < content.length; j++) {
      const problem = checkBlock(content[j], i, j)
      if (problem) return problem
    }
  }
  const system = body.system
  if (system !== undefined) {
    if (!Array.isArray(system)) return constraint(system, 'system', 'Member must be a list')
    for (let j = 0; j < system.length; j++) {
      const block: unknown = system[j]
      if (isRecord(block) && typeof block.text === 'string' && block.text.trim() === '') {
        return `The text field in the SystemContentBlock object at system.${j} is blank. Add text to the text field, and try again.`
      }
    }
  }
  return checkInferenceConfig(body.inferenceConfig, maxTokensLimit)
}

function checkBlock(block: unknown, i: number, j: number): string | null {
  if (!isRecord(block)) return constraint(block, `messages.${i + 1}.member.content.${j + 1}.member`, 'Member must not be null')
  if ('text' in block) {
    if (typeof block.text !== 'string' || block.text.trim() === '') {
      return `The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`
    }
    return null
  }
  if (OTHER_BLOCKS.some((kind) => kind in block)) return null
  return `The content field in the Message object at messages.${i}.content.${j} is empty. Add a ContentBlock object to the content field and try again.`
}

function checkInferenceConfig(config: unknown, limit: number): string | null {
  if (config === undefined) return null
  if (!isRecord(config)) return constraint(config, 'inferenceConfig', 'Member must be a structure')
  const { maxTokens, temperature, topP } = config
  if (maxTokens !== undefined) {
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
      return constraint(maxTokens, 'inferenceConfig.maxTokens', 'Member must have value greater than or equal to 1')
    }
    if (maxTokens > limit) {
      return `The maximum tokens you requested exceeds the model limit of ${limit}. Try again with a maximum tokens value that is lower than ${limit}.`
    }
  }
  for (const [name, value] of [
    ['temperature', temperature],
    ['topP', topP],
  ] as const) {
    if (value === undefined) continue
    if (typeof value !== 'number' || value < 0) {
      return constraint(value, `inferenceConfig.${name}`, 'Member must have value greater than or equal to 0')
    }
    if (value > 1) {
      return constraint(value, `inferenceConfig.${name}`, 'Member must have value less than or equal to 1')
    }
  }
  return null
}

/** Text of a message: its text blocks joined by newlines. */
export function messageText(message: { content: Record<string, unknown>[] }): string {
  return message.content
    .map((block) => (typeof block.text === 'string' ? block.text : ''))
    .filter((text) => text !== '')
    .join('\n')
}

export interface ConversationSummary {
  /** Text of the last user message (directives still in it). */
  lastUserText: string
  userMessageCount: number
  /** Whitespace-separated words in every message and the system prompt. */
  inputWords: number
}

/** Summarise a body that already passed validateBody. */
export function summarise(body: ConverseBody, countWords: (text: string) => number): ConversationSummary {
  const users = body.messages.filter((m) => m.role === 'user')
  const last = users[users.length - 1]
  let inputWords = 0
  for (const message of body.messages) inputWords += countWords(messageText(message))
  for (const block of body.system ?? []) if (typeof block.text === 'string') inputWords += countWords(block.text)
  return {
    lastUserText: last ? messageText(last) : '',
    userMessageCount: users.length,
    inputWords,
  }
}

/** Best-effort last user text of any JSON body (used to read directives before validation). */
export function lastUserTextOf(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body.messages)) return ''
  for (let i = body.messages.length - 1; i >= 0; i--) {
    const message: unknown = body.messages[i]
    if (isRecord(message) && message.role === 'user' && Array.isArray(message.content)) {
      return messageText({ content: message.content.filter(isRecord) })
    }
  }
  return ''
}
