import { z } from 'zod'
import {
  ACCESS_KEY_ID_PATTERN,
  BEDROCK_API_KEY_MAX_LENGTH,
  BEDROCK_API_KEY_PATTERN,
  REGION_PATTERN,
  SECRET_ACCESS_KEY_PATTERN,
  SESSION_TOKEN_MAX_LENGTH,
  SESSION_TOKEN_PATTERN,
} from '../services/aws-names.ts'
import { ATTACHMENT_LIMITS, TITLE_MAX } from '../services/chat/index.ts'
import { MODEL_ID_PATTERN } from '../services/models.ts'
import type { FieldRules } from './form-shape.ts'

/**
 * What the chat's forms and query strings accept: every limit once, next to the message people
 * read when they pass it. Views get the limits as props (`FormLimits`) for their `maxlength`,
 * `min` and `max`, so the browser's hint and the server's check cannot disagree.
 */
export const FORM_LIMITS = {
  message: 100_000,
  title: TITLE_MAX,
  systemPrompt: 20_000,
  temperature: { min: 0, max: 1 },
  maxTokens: { min: 1, max: 200_000 },
  thinkingBudget: { min: 1024, max: 128_000 },
  search: 200,
} as const

export type FormLimits = typeof FORM_LIMITS

const L = FORM_LIMITS
const en = (n: number) => n.toLocaleString('en')

/**
 * Characters on the wire for one character of a form's text, at worst: a character of three UTF-8
 * bytes, each percent-encoded (`%E2%80%A6`). (A character of four bytes counts as two in a
 * string's length, so it needs less per character.)
 */
const WIRE_PER_CHARACTER = 9

/** Room for a form's other fields, their names and, in multipart, each part's own headers. */
const FORM_OVERHEAD_BYTES = 64 * 1024

/**
 * The most bytes a form's body may have, checked before it is read (a body over them gets 413).
 * Every form but one is urlencoded text, the largest a full message or an edit. The one exception
 * is a message with files (multipart, POST /c/:id/messages): the most files Converse takes, each
 * as large as it may be, beside a full message. Anything larger would be refused anyway, once read.
 */
export const BODY_LIMITS = {
  form: L.message * WIRE_PER_CHARACTER + FORM_OVERHEAD_BYTES,
  messageWithFiles:
    ATTACHMENT_LIMITS.maxImages * ATTACHMENT_LIMITS.maxImageBytes +
    ATTACHMENT_LIMITS.maxDocuments * ATTACHMENT_LIMITS.maxDocumentBytes +
    L.message * WIRE_PER_CHARACTER +
    FORM_OVERHEAD_BYTES,
} as const

/** The one form that carries files (multipart/form-data): a message, at POST /c/:id/messages. */
export const FILES_ROUTE = /^\/c\/[^/]+\/messages$/

/** The forms whose fields are not all single lines of text (FieldRules): the rest take the default. */
export const messageFields: FieldRules = { files: ['files'], multiline: ['message'] }
export const editFields: FieldRules = { multiline: ['message'] }
export const settingsFields: FieldRules = { multiline: ['systemPrompt'] }

/** An emptied optional field is absent, not an empty value. */
const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v)

const messageText = z
  .string()
  .trim()
  .max(L.message, `A message can be at most ${en(L.message)} characters.`)

/** The model a message asks for: one from the Model select, or the "Custom model ID" field. */
const modelChoice = {
  modelId: z.string().trim().optional(),
  customModelId: z.string().trim().optional(),
}

function chosenModel<T extends { modelId?: string; customModelId?: string }>(form: T, ctx: z.RefinementCtx): Omit<T, 'customModelId'> {
  const { customModelId, ...rest } = form
  const id = form.modelId === 'custom' ? customModelId : form.modelId
  if (!id) {
    if (form.modelId === 'custom') ctx.addIssue({ code: 'custom', message: 'Enter a Custom model ID, or choose a model from the list.' })
    return { ...rest, modelId: undefined }
  }
  if (!MODEL_ID_PATTERN.test(id)) {
    ctx.addIssue({
      code: 'custom',
      message: 'A Custom model ID is a Bedrock model ID, inference profile ID or ARN, such as us.anthropic.claude-sonnet-4-5-20250929-v1:0.',
    })
  }
  return { ...rest, modelId: id }
}

/**
 * The files of a message: none, one or several parts named `files`. An empty file input still
 * sends one part with no name (Bun reads it back as undefined, not "") and no bytes: no file.
 */
const uploadedFiles = z
  .preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.instanceof(File, { error: 'Attach files with the Attach button.' })))
  .transform((files) => files.filter((f) => f.size > 0 || Boolean(f.name)))

export const messageForm = z.object({ message: messageText.optional().default(''), files: uploadedFiles, ...modelChoice }).transform(chosenModel)

export const regenerateForm = z.object(modelChoice).transform(chosenModel)

/** Refresh models: the Model select's current choice goes along, to stay selected. */
export const modelsRefreshForm = z.object(modelChoice).transform(chosenModel)

export const editForm = z.object({ message: messageText.min(1, 'Type the message to send.'), ...modelChoice }).transform(chosenModel)

export const renameForm = z.object({
  title: z.string({ error: 'Type a title.' }).trim().min(1, 'Type a title.').max(L.title, `A title can be at most ${L.title} characters.`),
})

/** A number field from `min` to `max`; an emptied field is refused like any other bad value, not read as 0. */
const number = (what: string, { min, max }: { min: number; max: number }, integer = false) => {
  const message = `${what} must be ${integer ? 'a whole number' : 'a number'} from ${en(min)} to ${en(max)}.`
  return z.preprocess(
    blankToUndefined,
    z.coerce.number({ error: message }).refine((n) => Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n)), { message }),
  )
}

export const settingsForm = z.object({
  systemPrompt: z
    .string()
    .max(L.systemPrompt, `The system prompt can be at most ${en(L.systemPrompt)} characters.`)
    .optional()
    .default(''),
  /** Absent for a model that takes no temperature (the panel leaves the field out): the saved one is kept. */
  temperature: number('Temperature', L.temperature).optional(),
  maxTokens: number('Max tokens', L.maxTokens, true),
  thinking: z.literal('on').optional(),
  thinkingBudget: number('The thinking budget', L.thinkingBudget, true).optional(),
  promptCaching: z.literal('on', { error: 'Prompt caching is a checkbox: send "on" to turn it on, or nothing to turn it off.' }).optional(),
})

/** Conversations whose messages contain the words. */
export const searchQuery = z.object({
  q: z
    .string()
    .max(L.search, `Search for at most ${en(L.search)} characters.`)
    .optional()
    .default(''),
})

const optional = (schema: z.ZodString) => z.preprocess(blankToUndefined, schema.optional())

const region = optional(z.string().trim().regex(REGION_PATTERN, 'An AWS Region looks like us-east-1.'))

/** Access keys, signed with SigV4 (the form's Bedrock API key left empty). */
const accessKeysForm = z
  .object({
    kind: z.literal('accessKeys'),
    accessKeyId: z
      .string({ error: 'Enter the AWS Access Key ID.' })
      .trim()
      .min(1, 'Enter the AWS Access Key ID.')
      .regex(ACCESS_KEY_ID_PATTERN, 'An AWS Access Key ID looks like AKIA… or ASIA… (16 or more capital letters and digits).'),
    secretAccessKey: z
      .string({ error: 'Enter the AWS Secret Access Key.' })
      .trim()
      .min(1, 'Enter the AWS Secret Access Key.')
      .regex(SECRET_ACCESS_KEY_PATTERN, 'An AWS Secret Access Key is 40 characters of letters, digits, / and +.'),
    sessionToken: optional(
      z
        .string()
        .trim()
        .max(SESSION_TOKEN_MAX_LENGTH, 'That session token is too long.')
        .regex(SESSION_TOKEN_PATTERN, 'A session token has only letters, digits, / + and =.'),
    ),
    region,
  })
  .refine((v) => !v.accessKeyId.startsWith('ASIA') || v.sessionToken, {
    message: 'Temporary keys (ASIA…) need their AWS Session Token.',
    path: ['sessionToken'],
  })

const absent = (field: string) =>
  z.preprocess(blankToUndefined, z.undefined({ error: `Give either a Bedrock API key or access keys, not both: empty the ${field} field.` }))

/** A Bedrock API key, sent as a bearer token: the access key fields stay empty. */
const apiKeyForm = z.object({
  kind: z.literal('apiKey'),
  apiKey: z
    .string()
    .trim()
    .max(BEDROCK_API_KEY_MAX_LENGTH, 'That Bedrock API key is too long.')
    .regex(
      BEDROCK_API_KEY_PATTERN,
      'A Bedrock API key starts with ABSK (a long-term key) or bedrock-api-key- (a short-term key), followed by letters, digits, + and /: copy it again from the Bedrock console.',
    ),
  accessKeyId: absent('AWS Access Key ID'),
  secretAccessKey: absent('AWS Secret Access Key'),
  sessionToken: absent('AWS Session Token'),
  region,
})

/**
 * The sidebar's credentials: access keys, or a Bedrock API key instead (the form has both; a
 * filled "Bedrock API key" field chooses the key). Each is checked in its own words.
 */
export const credentialsForm = z.preprocess(
  (form) => {
    const fields = (form && typeof form === 'object' ? form : {}) as Record<string, unknown>
    return { ...fields, kind: blankToUndefined(fields['apiKey']) === undefined ? 'accessKeys' : 'apiKey' }
  },
  z.discriminatedUnion('kind', [accessKeysForm, apiKeyForm]),
)
