/**
 * The chat side: a reply from the person's message to the saved answer (reply.ts), the model call
 * and its one metrics row (model-call.ts), the request (request.ts, history.ts, context-window.ts),
 * Bedrock itself (bedrock.ts, the only module that imports the SDK) and its errors in words
 * (errors.ts), conversations and their files (conversations.ts, attachments/), the browsers'
 * sessions (sessions.ts) and their sign-ins (sign-ins.ts), the limits on calls, spend and files (limits.ts), and the age-based
 * clean-up (retention.ts).
 */
export { createReplies, BUSY, type Replies, type Reply, type ReplyEvent, type ReplyStart, type Refusal } from './reply.ts'
export { createLimits, SERVER_BUSY, usd, type Limits, type LimitsOptions, type LimitRefusal, type Spend } from './limits.ts'
export { createRetention, RETENTION_INTERVAL_MS, type Retention, type RetentionResult } from './retention.ts'
export { GUARDRAIL_INTERVENED } from './errors.ts'
export { createModelCalls, type CallEvent, type CallResult, type ModelCalls } from './model-call.ts'
export { effectiveSettings, thinkingOn, DEFAULT_EFFORT, DEFAULT_TEMPERATURE, DEFAULT_THINKING_BUDGET, THINKING_ANSWER_ROOM } from './request.ts'
export { createBedrock, isApiKey, type AccessKeys, type ApiKey, type Bedrock, type BedrockOptions, type CredentialKind, type Credentials } from './bedrock.ts'
export { createSignIns, type SignIns } from './sign-ins.ts'
export { createConversations, TITLE_MAX, type Conversations, type SearchHit, type ThreadEntry } from './conversations.ts'
export {
  apiKeyKind,
  createSessions,
  maskAccessKey,
  ownerOf,
  SESSION_ID_PATTERN,
  UNSAVED_IDLE_MS,
  type IssuedSession,
  type Session,
  type Sessions,
  type SessionsOptions,
} from './sessions.ts'
export { ACCEPT_ATTRIBUTE, ATTACHMENT_HINT, ATTACHMENT_LIMITS, checkAttachments, type AcceptedAttachment } from './attachments/index.ts'
