// Drives the Bedrock emulator through the REAL AWS SDK client, over both the
// SDK's default handler (cleartext HTTP/2, prior knowledge) and NodeHttpHandler (HTTP/1.1).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, type ConverseStreamOutput, type Message } from '@aws-sdk/client-bedrock-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { Agent } from 'node:http'
import { apiKeyFingerprint, startEmulator, type Emulator, type RecordedRequest } from '../src/emulator/server.ts'
import { decodeFrames, HUGE_FRAME_BYTES } from '../src/emulator/protocol.ts'
import { parseDirectives } from '../src/emulator/faults.ts'
import { tokenize } from '../src/emulator/replies.ts'
import { GUARDRAIL_BLOCKED_MESSAGE } from '../src/emulator/guardrail.ts'

const MODEL = 'anthropic.claude-3-haiku-20240307-v1:0'
const PROFILE_ARN = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0'

let emulator: Emulator

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 })
})

afterAll(async () => {
  await emulator.close()
})

type HandlerKind = 'http2 (SDK default)' | 'http1.1 (NodeHttpHandler)'
const HANDLERS: HandlerKind[] = ['http2 (SDK default)', 'http1.1 (NodeHttpHandler)']

function makeClient(kind: HandlerKind, accessKeyId = 'AKIAEXAMPLE'): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: emulator.url,
    credentials: { accessKeyId, secretAccessKey: 'x' },
    ...(kind === 'http1.1 (NodeHttpHandler)' ? { requestHandler: new NodeHttpHandler() } : {}),
  })
}

let counter = 0
/** A marker that makes each request body unique, so attempt counters and records never collide. */
function unique(label: string): string {
  counter += 1
  return `${label}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

function userMessage(text: string): Message {
  return { role: 'user', content: [{ text }] }
}

function recordsWith(marker: string): RecordedRequest[] {
  return emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))
}

async function waitFor(check: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await Bun.sleep(10)
  }
}

async function caught(promise: Promise<unknown>): Promise<Error & { $metadata?: { attempts?: number; httpStatusCode?: number } }> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

interface Collected {
  events: ConverseStreamOutput[]
  text: string
  textDeltas: string[]
  reasoning: string
  signature: string | undefined
  error: Error | null
}

async function collect(stream: AsyncIterable<ConverseStreamOutput> | undefined): Promise<Collected> {
  const out: Collected = { events: [], text: '', textDeltas: [], reasoning: '', signature: undefined, error: null }
  try {
    for await (const event of stream ?? []) {
      out.events.push(event)
      const delta = event.contentBlockDelta?.delta
      if (delta?.text !== undefined) {
        out.text += delta.text
        out.textDeltas.push(delta.text)
      }
      if (delta?.reasoningContent?.text !== undefined) out.reasoning += delta.reasoningContent.text
      if (delta?.reasoningContent?.signature !== undefined) out.signature = delta.reasoningContent.signature
    }
  } catch (error) {
    out.error = error as Error
  }
  return out
}

function expectedReply(quote: string, userMessages = 1): string {
  const noun = userMessages === 1 ? 'message' : 'messages'
  return (
    `Emulated reply to: "${quote}". You have sent ${userMessages} ${noun} in this conversation. ` +
    'This answer comes from the local Bedrock emulator, not from a real model. It streams in word-sized pieces.'
  )
}

describe.each(HANDLERS)('through the real SDK over %s', (kind) => {
  const client = (): BedrockRuntimeClient => makeClient(kind)

  test('Converse returns the deterministic text, usage and end_turn', async () => {
    const marker = unique('converse')
    const response = await client().send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`Hello ${marker}`)] }))
    expect(response.output?.message?.role).toBe('assistant')
    expect(response.output?.message?.content?.[0]?.text).toBe(expectedReply(`Hello ${marker}`))
    expect(response.stopReason).toBe('end_turn')
    expect(response.usage?.inputTokens).toBe(2)
    expect(response.usage?.outputTokens).toBeGreaterThan(5)
    expect(response.usage?.totalTokens).toBe((response.usage?.inputTokens ?? 0) + (response.usage?.outputTokens ?? 0))
    expect(response.$metadata.attempts).toBe(1)
    const [record] = recordsWith(marker)
    expect(record?.operation).toBe('Converse')
    expect(record?.outcome).toBe('ok')
    expect(record?.accessKeyId).toBe('AKIAEXAMPLE')
    expect(record?.httpVersion).toBe(kind.startsWith('http2') ? '2.0' : '1.1')
  })

  test('ConverseStream yields several text deltas, messageStop and metadata usage', async () => {
    const marker = unique('stream')
    const messages: Message[] = [
      userMessage('first question'),
      { role: 'assistant', content: [{ text: 'first answer' }] },
      userMessage(`  second   question ${marker}  `),
    ]
    const response = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages, system: [{ text: 'be brief' }] }))
    const got = await collect(response.stream)
    expect(got.error).toBeNull()
    const expected = expectedReply(`second question ${marker}`, 2)
    expect(got.text).toBe(expected)
    expect(got.textDeltas.length).toBeGreaterThan(5)
    expect(got.textDeltas).toEqual(tokenize(expected))
    expect(got.events[0]?.messageStart?.role).toBe('assistant')
    expect(got.events.some((e) => e.contentBlockStop?.contentBlockIndex === 0)).toBe(true)
    expect(got.events.at(-2)?.messageStop?.stopReason).toBe('end_turn')
    const metadata = got.events.at(-1)?.metadata
    expect(metadata?.usage?.inputTokens).toBe(2 + 2 + 3 + 2)
    expect(metadata?.usage?.outputTokens).toBe(got.textDeltas.length)
    expect(metadata?.usage?.totalTokens).toBe(9 + got.textDeltas.length)
    expect(typeof metadata?.metrics?.latencyMs).toBe('number')
    expect(recordsWith(marker)[0]?.outcome).toBe('ok')
  })

  test('[[reasoning]] streams reasoning text and a signature on block 0, the answer on block 1', async () => {
    const marker = unique('reasoning')
    const response = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[reasoning]] think ${marker}`)] }))
    const got = await collect(response.stream)
    expect(got.error).toBeNull()
    expect(got.reasoning).toContain(`think ${marker}`)
    expect(got.signature).toBeTruthy()
    expect(got.text).toBe(expectedReply(`think ${marker}`))
    const reasoningBlocks = got.events.filter((e) => e.contentBlockDelta?.delta?.reasoningContent)
    const textBlocks = got.events.filter((e) => e.contentBlockDelta?.delta?.text !== undefined)
    expect(reasoningBlocks.every((e) => e.contentBlockDelta?.contentBlockIndex === 0)).toBe(true)
    expect(textBlocks.every((e) => e.contentBlockDelta?.contentBlockIndex === 1)).toBe(true)
  })

  test('[[throttle:1]] is retried and succeeds on the second attempt', async () => {
    const marker = unique('throttle')
    const response = await client().send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[throttle:1]] ${marker}`)] }))
    expect(response.$metadata.attempts).toBe(2)
    expect(response.output?.message?.content?.[0]?.text).toBe(expectedReply(marker))
    const records = recordsWith(marker)
    expect(records.map((r) => [r.attempt, r.status, r.outcome])).toEqual([
      [1, 429, 'error'],
      [2, 200, 'ok'],
    ])
  })

  test('[[unavailable:1]] on ConverseStream is retried before the stream starts', async () => {
    const marker = unique('unavailable')
    const response = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[unavailable:1]] ${marker}`)] }))
    expect(response.$metadata.attempts).toBe(2)
    expect((await collect(response.stream)).text).toBe(expectedReply(marker))
  })

  test('[[throttle:5]] exhausts the default 3 attempts with ThrottlingException', async () => {
    const marker = unique('throttle5')
    const error = await caught(client().send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[throttle:5]] ${marker}`)] })))
    expect(error.name).toBe('ThrottlingException')
    expect(error.$metadata?.attempts).toBe(3)
    expect(recordsWith(marker).length).toBe(3)
  })

  test('[[validation]] is a ValidationException and is not retried', async () => {
    const marker = unique('validation')
    const error = await caught(client().send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[validation]] ${marker}`)] })))
    expect(error.name).toBe('ValidationException')
    expect(error.$metadata?.httpStatusCode).toBe(400)
    expect(error.$metadata?.attempts).toBe(1)
    expect(recordsWith(marker).length).toBe(1)
  })

  test("roles that do not alternate give Bedrock's ValidationException", async () => {
    const error = await caught(
      client().send(
        new ConverseCommand({
          modelId: MODEL,
          messages: [userMessage('one'), userMessage(unique('two'))],
        }),
      ),
    )
    expect(error.name).toBe('ValidationException')
    expect(error.message).toContain('must alternate between user and assistant')
    expect(error.$metadata?.attempts).toBe(1)
  })

  test('other invalid requests give ValidationException', async () => {
    const send = (input: ConstructorParameters<typeof ConverseCommand>[0]) => caught(client().send(new ConverseCommand(input)))
    const assistantFirst = await send({
      modelId: MODEL,
      messages: [{ role: 'assistant', content: [{ text: 'hi' }] }, userMessage('x')],
    })
    expect(assistantFirst.message).toContain('must start with a user message')
    const blank = await send({ modelId: MODEL, messages: [userMessage('   ')] })
    expect(blank.message).toContain('is blank')
    const hot = await send({ modelId: MODEL, messages: [userMessage('x')], inferenceConfig: { temperature: 1.5 } })
    expect(hot.message).toContain('inferenceConfig.temperature')
    const huge = await send({ modelId: MODEL, messages: [userMessage('x')], inferenceConfig: { maxTokens: 10_000_000 } })
    expect(huge.message).toContain('exceeds the model limit')
    for (const error of [assistantFirst, blank, hot, huge]) expect(error.name).toBe('ValidationException')
  })

  test('maxTokens cuts the reply with stopReason max_tokens', async () => {
    const response = await client().send(
      new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(unique('short'))], inferenceConfig: { maxTokens: 4 } }),
    )
    const got = await collect(response.stream)
    expect(got.textDeltas.length).toBe(4)
    expect(got.events.find((e) => e.messageStop)?.messageStop?.stopReason).toBe('max_tokens')
  })

  test("error directives map to the SDK's typed errors and are not retried", async () => {
    const cases: [string, string, number][] = [
      ['[[access]]', 'AccessDeniedException', 403],
      ['[[notfound]]', 'ResourceNotFoundException', 404],
      ['[[timeout]]', 'ModelTimeoutException', 408],
      ['[[profile]]', 'ValidationException', 400],
    ]
    for (const [directive, name, status] of cases) {
      const error = await caught(client().send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`${directive} ${unique('e')}`)] })))
      expect(error.name).toBe(name)
      expect(error.$metadata?.httpStatusCode).toBe(status)
      expect(error.$metadata?.attempts).toBe(1)
    }
  })

  test('[[midstream]] throws ModelStreamErrorException from the loop after some text', async () => {
    const marker = unique('midstream')
    const response = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[midstream]] ${marker}`)] }))
    const got = await collect(response.stream)
    expect(got.textDeltas.length).toBe(3)
    expect(got.error?.name).toBe('ModelStreamErrorException')
    expect(got.events.some((e) => e.messageStop)).toBe(false)
    const [record] = recordsWith(marker)
    expect(record?.outcome).toBe('error')
    expect(record?.errorType).toBe('modelStreamErrorException')
  })

  test('[[drop]] cuts the connection after a few tokens', async () => {
    const marker = unique('drop')
    const response = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[drop]] ${marker}`)] }))
    const got = await collect(response.stream)
    expect(got.textDeltas.length).toBe(3)
    expect(got.events.some((e) => e.messageStop)).toBe(false)
    // NodeHttpHandler throws "aborted"; Bun's HTTP/2 client just ends the stream without an error.
    if (kind.startsWith('http1')) expect(got.error?.message).toBe('aborted')
    else expect(got.error).toBeNull()
    expect(recordsWith(marker)[0]?.outcome).toBe('dropped')
  })

  test('an aborted ConverseStream is recorded as aborted and stops streaming', async () => {
    const marker = unique('abort')
    const controller = new AbortController()
    const response = await client().send(new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[slow:40]] ${marker}`)] }), {
      abortSignal: controller.signal,
    })
    let deltas = 0
    const error = await caught(
      (async () => {
        for await (const event of response.stream ?? []) {
          if (event.contentBlockDelta && ++deltas === 2) controller.abort()
        }
      })(),
    )
    expect(controller.signal.aborted).toBe(true)
    expect(error).toBeInstanceOf(Error)
    const [record] = recordsWith(marker)
    await waitFor(() => record?.outcome === 'aborted')
    const sentAtAbort = record?.tokensSent ?? 0
    expect(sentAtAbort).toBeLessThan(5)
    await Bun.sleep(150)
    expect(record?.tokensSent).toBe(sentAtAbort)
  })

  test('an aborted Converse waiting for the model is recorded as aborted', async () => {
    const marker = unique('abort-converse')
    const controller = new AbortController()
    const pending = client().send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[firstdelay:3000]] ${marker}`)] }), {
      abortSignal: controller.signal,
    })
    await waitFor(() => recordsWith(marker).length === 1)
    controller.abort()
    await caught(pending)
    await waitFor(() => recordsWith(marker)[0]?.outcome === 'aborted')
  })

  test('frames are flushed one by one ([[slow]]) and [[firstdelay]] delays the first token', async () => {
    const started = Date.now()
    const response = await client().send(
      new ConverseStreamCommand({
        modelId: MODEL,
        messages: [userMessage(`[[echo]] [[firstdelay:200]] [[slow:60]] one two three four five`)],
      }),
    )
    const headersAt = Date.now() - started // send() resolves on the response headers + messageStart
    const arrivals: number[] = []
    let text = ''
    for await (const event of response.stream ?? []) {
      const delta = event.contentBlockDelta?.delta?.text
      if (delta !== undefined) {
        arrivals.push(Date.now() - started)
        text += delta
      }
    }
    expect(text).toBe('one two three four five')
    expect(arrivals.length).toBe(5)
    const first = arrivals[0] ?? 0
    expect(first - headersAt).toBeGreaterThanOrEqual(150)
    // Each frame arrives on its own: the deltas are spread out, not delivered in one burst at the end.
    expect((arrivals.at(-1) ?? 0) - first).toBeGreaterThanOrEqual(200)
    const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] ?? 0))
    expect(gaps.filter((gap) => gap >= 30).length).toBeGreaterThanOrEqual(3)
  })

  test('an invalid access key gives UnrecognizedClientException', async () => {
    const error = await caught(makeClient(kind, 'AKIAINVALID123').send(new ConverseCommand({ modelId: MODEL, messages: [userMessage('hi')] })))
    expect(error.name).toBe('UnrecognizedClientException')
    expect(error.message).toBe('The security token included in the request is invalid.')
    expect(error.$metadata?.httpStatusCode).toBe(403)
    expect(error.$metadata?.attempts).toBe(1)
  })

  test('a Bedrock API key is accepted as a bearer token and recorded by its fingerprint, never whole', async () => {
    const apiKey = 'ABSKQmVkcm9ja0FQSUtleS1lbXVsYXRvci10ZXN0MDAwMQ=='
    const marker = unique('bearer')
    const client = new BedrockRuntimeClient({
      region: 'us-east-1',
      endpoint: emulator.url,
      token: { token: apiKey },
      authSchemePreference: ['httpBearerAuth'],
      ...(kind === 'http1.1 (NodeHttpHandler)' ? { requestHandler: new NodeHttpHandler() } : {}),
    })
    const response = await client.send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(marker)] }))
    expect(response.stopReason).toBe('end_turn')
    const [record] = recordsWith(marker)
    expect(record).toMatchObject({ auth: 'bearer', accessKeyId: null, apiKeyFingerprint: apiKeyFingerprint(apiKey), status: 200 })
    expect(record!.authorization).toBe(`Bearer sha256:${apiKeyFingerprint(apiKey)}`)
    expect(JSON.stringify(emulator.requests).includes(apiKey)).toBe(false)
    // [[badkey]]: refused as Bedrock refuses an expired or invalid key, and not retried
    const error = await caught(client.send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[badkey]] ${marker}`)] })))
    expect(error.name).toBe('AccessDeniedException')
    expect(error.message).toBe('Authentication failed: Please make sure your API Key is valid.')
    expect(error.$metadata?.attempts).toBe(1)
  })

  test('SigV4 calls are recorded as such, with their access key id; [[badkey]] does not touch them', async () => {
    const marker = unique('sigv4')
    await makeClient(kind, 'AKIASIGNEDSIGNED0001').send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[badkey]] ${marker}`)] }))
    expect(recordsWith(marker)[0]).toMatchObject({ auth: 'sigv4', accessKeyId: 'AKIASIGNEDSIGNED0001', apiKeyFingerprint: null, status: 200 })
  })

  test('a model ID that is an ARN is URL-decoded from the path', async () => {
    const marker = unique('arn')
    await client().send(new ConverseCommand({ modelId: PROFILE_ARN, messages: [userMessage(marker)] }))
    const [record] = recordsWith(marker)
    expect(record?.modelId).toBe(PROFILE_ARN)
    expect(record?.path).toContain('%3A')
    const error = await caught(client().send(new ConverseCommand({ modelId: PROFILE_ARN, messages: [userMessage(`[[profile]] ${marker}`)] })))
    expect(error.message).toBe(
      `Invocation of model ID ${PROFILE_ARN} with on-demand throughput isn\u2019t supported. ` +
        'Retry your request with the ID or ARN of an inference profile that contains this model.',
    )
  })
})

describe('more emulator behaviour', () => {
  test('[[echo]] returns the user text verbatim, minus directives', async () => {
    const response = await makeClient('http1.1 (NodeHttpHandler)').send(
      new ConverseCommand({ modelId: MODEL, messages: [userMessage('[[echo]]<script>alert(1)</script> & more')] }),
    )
    expect(response.output?.message?.content?.[0]?.text).toBe('<script>alert(1)</script> & more')
  })

  test('[[long]] gives a long Markdown reply', async () => {
    const response = await makeClient('http2 (SDK default)').send(
      new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[long]] ${unique('long')}`)] }),
    )
    const got = await collect(response.stream)
    expect(got.textDeltas.length).toBeGreaterThan(250)
    expect(got.text).toContain('\n## ')
    expect(got.text).toContain('\n- ')
    expect(got.text).toContain('\n```ts\n')
  })

  test("the raw stream uses event-stream frames with Bedrock's headers", async () => {
    const signed = 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00'
    const response = await fetch(`${emulator.url}/model/${encodeURIComponent(MODEL)}/converse-stream`, {
      method: 'POST',
      headers: { authorization: signed, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [userMessage('[[midstream]] raw')] }),
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream')
    const frames = decodeFrames(new Uint8Array(await response.arrayBuffer()))
    expect(frames[0]?.headers).toEqual({
      ':event-type': 'messageStart',
      ':content-type': 'application/json',
      ':message-type': 'event',
    })
    expect(frames[1]?.body).toEqual({ contentBlockIndex: 0, delta: { text: 'Emulated ' } })
    const last = frames.at(-1)
    expect(last?.headers[':message-type']).toBe('exception')
    expect(last?.headers[':exception-type']).toBe('modelStreamErrorException')
  })

  test('a request without Authorization gets 403 MissingAuthenticationTokenException', async () => {
    const response = await fetch(`${emulator.url}/model/${MODEL}/converse`, {
      method: 'POST',
      body: JSON.stringify({ messages: [userMessage('hi')] }),
    })
    expect(response.status).toBe(403)
    expect(response.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException')
    expect(await response.json()).toEqual({ message: 'Missing Authentication Token' })
    expect(emulator.requests.at(-1)).toMatchObject({ auth: 'none', accessKeyId: null, apiKeyFingerprint: null, authorization: null })
  })

  test('GET /health and /_emulator/requests', async () => {
    expect(await (await fetch(`${emulator.url}/health`)).text()).toBe('ok')
    const listed = (await (await fetch(`${emulator.url}/_emulator/requests`)).json()) as RecordedRequest[]
    expect(listed.length).toBe(emulator.requests.length)
    expect(listed.at(-1)?.id).toBe(emulator.requests.at(-1)?.id)
  })

  test('identical bodies share one attempt counter; reset() clears it', async () => {
    const body = JSON.stringify({ messages: [userMessage(`[[throttle:1]] ${unique('shared')}`)] })
    const post = () =>
      fetch(`${emulator.url}/model/m/converse`, {
        method: 'POST',
        headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/bedrock/aws4_request' },
        body,
      })
    expect((await post()).status).toBe(429)
    expect((await post()).status).toBe(200)
    emulator.reset()
    expect(emulator.requests.length).toBe(0)
    expect((await post()).status).toBe(429)
  })

  test('maxRecords keeps only the newest records', async () => {
    const small = await startEmulator({ maxRecords: 2 })
    try {
      const client = new BedrockRuntimeClient({
        region: 'us-east-1',
        endpoint: small.url,
        credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' },
        requestHandler: new NodeHttpHandler(),
      })
      for (const text of ['one', 'two', 'three']) {
        await client.send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(text)] }))
      }
      expect(small.requests.map((r) => r.id)).toEqual([2, 3])
    } finally {
      await small.close()
    }
  })

  test('connections() counts open TCP connections, idle keep-alive ones included', async () => {
    const own = await startEmulator()
    try {
      expect(own.connections()).toBe(0)
      const client = new BedrockRuntimeClient({
        region: 'us-east-1',
        endpoint: own.url,
        credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'x' },
        requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true }) }),
      })
      for (const text of ['one', 'two']) await client.send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(text)] }))
      expect(own.connections()).toBe(1)
      client.destroy()
      await waitFor(() => own.connections() === 0)
    } finally {
      await own.close()
    }
  })

  test('[[malformed]] answers 200, then a frame whose prelude checksum is wrong, and holds the response open', async () => {
    const marker = unique('malformed')
    const client = makeClient('http1.1 (NodeHttpHandler)')
    const error = await caught(client.send(new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[malformed]] ${marker}`)] })))
    // the SDK reads the first event before it answers: its decoder's words, with its hint
    expect(error.message).toContain('The prelude checksum specified in the message')
    expect(error.message).toContain('Deserialization error')
    const [record] = recordsWith(marker)
    // the SDK left the response unread on its socket: the emulator still holds it open
    expect(record).toMatchObject({ status: 200, errorType: 'malformed', outcome: 'pending', tokensSent: 0 })
    ;(error as unknown as { $response: { body: { destroy(): void } } }).$response.body.destroy()
    await waitFor(() => record?.outcome === 'aborted')
  })

  test('[[malformed:3]] streams three deltas first, and the SDK throws from the loop', async () => {
    const marker = unique('malformed3')
    const response = await makeClient('http1.1 (NodeHttpHandler)').send(
      new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[malformed:3]] ${marker}`)] }),
    )
    const got = await collect(response.stream)
    expect(got.textDeltas).toHaveLength(3)
    expect(got.error?.message).toContain('The prelude checksum specified in the message')
    expect(recordsWith(marker)[0]).toMatchObject({ errorType: 'malformed', outcome: 'pending', tokensSent: 3 })
  })

  test('[[hugeframe]] sends the 12-byte prelude of a 4 GiB message, with a correct checksum, and nothing after it', async () => {
    const marker = unique('hugeframe')
    const controller = new AbortController()
    const response = await fetch(`${emulator.url}/model/${encodeURIComponent(MODEL)}/converse-stream`, {
      method: 'POST',
      headers: { authorization: 'Bearer emulator-test-token', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [userMessage(`[[hugeframe]] ${marker}`)] }),
      signal: controller.signal,
    })
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    let bytes = new Uint8Array(0)
    while (bytes.length < 12) bytes = new Uint8Array([...bytes, ...(await reader.read()).value!])
    expect(bytes.length).toBe(12)
    const view = new DataView(bytes.buffer)
    expect(view.getUint32(0, false)).toBe(HUGE_FRAME_BYTES)
    expect(view.getUint32(8, false)).toBe(Bun.hash.crc32(bytes.subarray(0, 8)))
    const [record] = recordsWith(marker)
    expect(record).toMatchObject({ status: 200, errorType: 'hugeframe', outcome: 'pending', tokensSent: 0 })
    controller.abort()
    await waitFor(() => record?.outcome === 'aborted')
  })

  test('[[guardrail]] intervenes only on a request that carried a guardrailConfig, and that is recorded', async () => {
    const client = makeClient('http1.1 (NodeHttpHandler)')
    const guarded = unique('guarded')
    const guardrailConfig = { guardrailIdentifier: 'gr1a2b3c4d5e', guardrailVersion: 'DRAFT', streamProcessingMode: 'async' as const }
    const response = await client.send(new ConverseStreamCommand({ modelId: MODEL, messages: [userMessage(`[[guardrail]] ${guarded}`)], guardrailConfig }))
    const got = await collect(response.stream)
    expect(got.text).toBe(GUARDRAIL_BLOCKED_MESSAGE)
    expect(got.events.find((e) => e.messageStop)?.messageStop?.stopReason).toBe('guardrail_intervened')
    expect(recordsWith(guarded)[0]).toMatchObject({ guardrail: 'gr1a2b3c4d5e:DRAFT', intervened: true, outcome: 'ok' })
    const plain = unique('unguarded')
    const answer = await client.send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[guardrail]] ${plain}`)] }))
    expect(answer.stopReason).toBe('end_turn')
    expect(recordsWith(plain)[0]).toMatchObject({ guardrail: null, intervened: false })
    const converse = await client.send(new ConverseCommand({ modelId: MODEL, messages: [userMessage(`[[guardrail]] ${unique('c')}`)], guardrailConfig }))
    expect(converse.stopReason).toBe('guardrail_intervened')
    expect(converse.output?.message?.content?.[0]?.text).toBe(GUARDRAIL_BLOCKED_MESSAGE)
  })

  test('an incomplete guardrailConfig is a ValidationException', async () => {
    const error = await caught(
      makeClient('http1.1 (NodeHttpHandler)').send(
        new ConverseCommand({
          modelId: MODEL,
          messages: [userMessage(unique('badguard'))],
          guardrailConfig: { guardrailIdentifier: 'gr1', guardrailVersion: 'latest' },
        }),
      ),
    )
    expect(error.name).toBe('ValidationException')
    expect(error.message).toContain('guardrailConfig.guardrailVersion')
  })

  test('directive parsing', () => {
    const parsed = parseDirectives('a [[throttle:2]] b [[SLOW:30]] [[echo]] [[unknown]]')
    expect(parsed.faults.throttle).toBe(2)
    expect(parsed.faults.slowMs).toBe(30)
    expect(parsed.faults.echo).toBe(true)
    expect(parsed.names).toEqual(['throttle:2', 'slow:30', 'echo'])
    expect(parsed.text).toBe('a  b   [[unknown]]')
    expect(parseDirectives('[[malformed]]').faults).toMatchObject({ malformedAfter: 0, hugeFrameAfter: null })
    expect(parseDirectives('[[malformed:3]] [[hugeframe]]').faults).toMatchObject({ malformedAfter: 3, hugeFrameAfter: 0 })
  })
})
