import { describe, expect, test } from 'bun:test'
import { classifyError, firstTokenTimeoutError, tokenIdleTimeoutError } from '../src/services/chat/errors.ts'
import { suggestedProfileId } from '../src/services/models.ts'
import { errorCategory } from '../src/services/metrics/index.ts'
import { historyForModel } from '../src/services/chat/history.ts'

const ctx = { modelId: 'anthropic.claude-x', region: 'eu-west-1', attempts: 1, endpoint: 'http://127.0.0.1:9' }
const named = (name: string, message = '') => Object.assign(new Error(message), { name })

describe('error messages a person can act on', () => {
  test.each([
    ['UnrecognizedClientException', 'access', 'AWS rejected these credentials'],
    ['ExpiredTokenException', 'access', 'have expired'],
    ['AccessDeniedException', 'access', 'no access to anthropic.claude-x in eu-west-1'],
    ['ResourceNotFoundException', 'validation', "doesn't know the model"],
    ['ThrottlingException', 'throttled', 'Bedrock is throttling requests'],
    ['ModelTimeoutException', 'server', 'took too long'],
    ['ServiceUnavailableException', 'server', 'Bedrock had a service error'],
    ['InternalServerException', 'server', 'Bedrock had a service error'],
    ['ModelStreamErrorException', 'server', 'Bedrock had a service error'],
    ['MalformedStreamError', 'server', "Bedrock's answer could not be read: what arrived was not a valid Bedrock stream"],
    ['EventMessageTooLargeError', 'server', "Bedrock's answer could not be read: it announced a single event"],
  ])('%s is %s: "%s"', (name, category, text) => {
    const result = classifyError(named(name, 'upstream words'), ctx)
    expect(result.type).toBe(name)
    expect(result.category).toBe(category as never)
    expect(result.message).toContain(text)
  })

  test('the chat and the dashboard put an error in the same category', () => {
    for (const name of ['UnrecognizedClientException', 'ModelTimeoutException', 'ThrottlingException', 'ValidationException', 'NoSuchThing']) {
      expect(classifyError(named(name), ctx).category).toBe(errorCategory('error', name))
    }
    expect(classifyError(named('NoSuchThing'), ctx).category).toBe('other')
  })

  test("the stream errors never show the SDK's words", () => {
    const sdk =
      'The prelude checksum specified in the message (1) does not match\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'
    expect(classifyError(named('MalformedStreamError', sdk), ctx).message).not.toMatch(/checksum|Deserialization|\$response/)
    const tooLarge = Object.assign(named('EventMessageTooLargeError', sdk), { claimedBytes: 4_294_967_280, limitBytes: 1_048_576 })
    expect(classifyError(tooLarge, ctx).message).toBe(
      "Bedrock's answer could not be read: it announced a single event of 4,294,967,280 bytes, and at most 1,048,576 bytes are accepted (Bedrock's own are far smaller), so the reply was abandoned without waiting for it: send again to retry.",
    )
  })

  test('our own timeouts say how long was waited, and count as server errors like the model timing out', () => {
    expect(firstTokenTimeoutError(60_000)).toEqual({
      type: 'FirstTokenTimeout',
      category: 'server',
      message: 'Bedrock sent no answer within 60 s, so the request was abandoned: send again to retry, or try another model.',
    })
    expect(tokenIdleTimeoutError(30_000)).toEqual({
      type: 'StreamIdleTimeout',
      category: 'server',
      message: 'Bedrock stopped sending for 30 s in the middle of the reply, so it was cut off there: send again to retry.',
    })
    for (const type of ['FirstTokenTimeout', 'StreamIdleTimeout', 'ModelTimeoutException']) expect(errorCategory('error', type)).toBe('server')
  })

  test('missing credentials say where to put them', () => {
    const result = classifyError(named('CredentialsProviderError', 'Could not load credentials from any providers'), ctx)
    expect(result.category).toBe('access')
    expect(result.message).toContain('enter an access key in the sidebar')
  })

  test('a model that needs an inference profile names the profile for the region', () => {
    const err = named(
      'ValidationException',
      'Invocation of model ID anthropic.claude-x with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.',
    )
    expect(classifyError(err, ctx).message).toContain('use its inference profile eu.anthropic.claude-x')
    expect(suggestedProfileId('anthropic.claude-x', 'ap-northeast-1')).toBe('apac.anthropic.claude-x')
    expect(suggestedProfileId('us.anthropic.claude-x', 'us-west-2')).toBe('us.anthropic.claude-x')
  })

  test('network failures before and after the first token read differently', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' })
    expect(classifyError(refused, { ...ctx, attempts: 3 }).message).toBe('Could not reach http://127.0.0.1:9 (tried 3 times): check the network and try again.')
    expect(classifyError(named('Error', 'aborted'), { ...ctx, midStream: true }).message).toContain('broke off')
  })
})

describe('the history sent to the model', () => {
  type Entry = { id: string; role: 'user' | 'assistant'; text: string; status: string }
  const m = (role: 'user' | 'assistant', text: string, status = 'done'): Entry => ({ id: text, role, text, status })
  const plain = (entries: Entry[]) => entries.map(({ role, text }) => ({ role, text }))

  test('alternates user and assistant turns and ends with the new message', () => {
    expect(plain(historyForModel([m('user', 'a'), m('assistant', 'b'), m('user', 'c')]))).toEqual([
      { role: 'user', text: 'a' },
      { role: 'assistant', text: 'b' },
      { role: 'user', text: 'c' },
    ])
  })

  test('a failed exchange is left out so the question is not sent twice; a stopped reply keeps its partial text', () => {
    const thread = [
      m('user', 'failed question'),
      m('assistant', '', 'error'),
      m('user', 'stopped question'),
      m('assistant', 'partial', 'stopped'),
      m('user', 'empty stop'),
      m('assistant', '', 'stopped'),
      m('user', 'new'),
    ]
    expect(plain(historyForModel(thread))).toEqual([
      { role: 'user', text: 'stopped question' },
      { role: 'assistant', text: 'partial' },
      { role: 'user', text: 'new' },
    ])
  })
})
