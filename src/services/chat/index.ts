export { createReplies, BUSY, TOO_LONG, type Replies, type Reply, type ReplyEvent, type ReplyStart, type Refusal } from './reply.ts'
export { createModelCalls, IDLE_TIMEOUT_MS, stopType, type CallEvent, type CallResult, type ModelCalls } from './model-call.ts'
export { buildModelRequest, effectiveSettings, requestMaxTokens, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, DEFAULT_THINKING_BUDGET, THINKING_ANSWER_ROOM } from './request.ts'
