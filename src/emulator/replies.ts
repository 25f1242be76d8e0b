// Deterministic reply text, so tests can assert on exactly what the "model" says.
import { createHash } from 'node:crypto'
import type { Faults } from './faults.ts'

const QUOTE_LIMIT = 200

export interface Reply {
  /** Reasoning text (only with [[reasoning]]), streamed on content block 0. */
  reasoning: string | null
  /** Signature sent after the reasoning text, as real Bedrock does. */
  signature: string | null
  /** The answer text. */
  text: string
}

/** Collapse whitespace and cut to ~200 characters, the way the reply quotes the user. */
export function quoteOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > QUOTE_LIMIT ? `${flat.slice(0, QUOTE_LIMIT)}…` : flat
}

/**
 * The standard reply:
 * `Emulated reply to: "<quote>". You have sent N messages in this conversation. ` +
 * `This answer comes from the local Bedrock emulator, not from a real model. It streams in word-sized pieces.`
 * where N is the number of user messages (1 for a singular "message").
 */
export function standardReply(userText: string, userMessageCount: number): string {
  const noun = userMessageCount === 1 ? 'message' : 'messages'
  return (
    `Emulated reply to: "${quoteOf(userText)}". ` +
    `You have sent ${userMessageCount} ${noun} in this conversation. ` +
    'This answer comes from the local Bedrock emulator, not from a real model. ' +
    'It streams in word-sized pieces.'
  )
}

/** A long (~300 tokens) multi-paragraph Markdown reply with a heading, a list and a fenced code block. */
export function longReply(userText: string, userMessageCount: number): string {
  return [
    standardReply(userText, userMessageCount),
    '',
    '## How the emulator answers',
    '',
    'The emulator speaks the same wire protocol as Amazon Bedrock Runtime, so the real AWS SDK ' +
      'talks to it without any changes. Every reply is deterministic: the same conversation always ' +
      'produces the same words, split into the same tokens, which makes it possible to assert on ' +
      'streamed output in automated tests without flaky comparisons.',
    '',
    'A few things it can simulate:',
    '',
    '- Throttling, service unavailability and internal errors that succeed after a number of attempts.',
    '- Validation, access, timeout and not-found errors that are never retried.',
    '- Streams that fail in the middle with an exception frame, or whose connection is dropped.',
    '- Slow models, with a delay between tokens and a delay before the first token.',
    '- Reasoning content that streams before the answer, followed by a signature.',
    '',
    '### Example',
    '',
    'Here is how a client might read a streamed reply:',
    '',
    '```ts',
    'const response = await client.send(new ConverseStreamCommand(input));',
    'for await (const event of response.stream ?? []) {',
    '  if (event.contentBlockDelta?.delta?.text) {',
    '    process.stdout.write(event.contentBlockDelta.delta.text);',
    '  }',
    '}',
    '```',
    '',
    'Each directive is written in double square brackets inside the last user message, and it ' +
      'only affects that request, so many tests can share one emulator at the same time. The ' +
      'directives are removed from the text before the reply quotes it back, and the counters ' +
      'for retried requests are keyed by the request body, so a retry of the same request is ' +
      'recognised as the next attempt of that request.',
    '',
    'That is the end of this long reply. Thank you for reading it all the way to the last line.',
  ].join('\n')
}

/** The standard reply repeated or cut to exactly `tokens` word tokens (load tests ask for a size). */
export function sizedReply(userText: string, userMessageCount: number, tokens: number): string {
  const words = tokenize(`${standardReply(userText, userMessageCount)} `)
  const out: string[] = []
  for (let i = 0; out.length < tokens; i++) out.push(words[i % words.length]!)
  return out.join('').trimEnd()
}

export function reasoningFor(userText: string): string {
  return `The user wrote: "${quoteOf(userText)}". ` + 'I am the Bedrock emulator, so I will think briefly and then give the deterministic answer.'
}

function signatureOf(text: string): string {
  return createHash('sha256').update(text).digest('base64')
}

export function buildReply(userText: string, userMessageCount: number, faults: Faults): Reply {
  let text: string
  if (faults.echo) text = userText.trim()
  else if (faults.tokens !== null) text = sizedReply(userText, userMessageCount, faults.tokens)
  else if (faults.long) text = longReply(userText, userMessageCount)
  else text = standardReply(userText, userMessageCount)
  if (text === '') text = '(nothing to echo)'
  const reasoning = faults.reasoning ? reasoningFor(userText) : null
  return { reasoning, signature: reasoning === null ? null : signatureOf(reasoning), text }
}

/**
 * Split text into word-sized tokens that keep their whitespace, so that
 * tokens.join("") === text. Each token is a run of non-space characters plus
 * the whitespace after it (leading whitespace stays with the first token).
 */
export function tokenize(text: string): string[] {
  if (text === '') return []
  return text.split(/(?<=\s)(?=\S)/)
}

/** Rough token count used for usage.inputTokens: whitespace-separated words. */
export function countWords(text: string): number {
  const words = text.trim().split(/\s+/)
  return words[0] === '' ? 0 : words.length
}
