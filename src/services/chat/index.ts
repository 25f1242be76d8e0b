export { createReplies, BUSY, type Replies, type Reply, type ReplyEvent, type ReplyStart, type Refusal } from './reply.ts'
export { createModelCalls, type CallEvent, type CallResult, type ModelCalls } from './model-call.ts'
export { effectiveSettings, DEFAULT_THINKING_BUDGET, THINKING_ANSWER_ROOM } from './request.ts'
