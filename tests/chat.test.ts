import { describe, expect, test } from 'bun:test'
import { STREAM_CHUNK_MAX_CHARS } from '../views/stream-chunks.tsx'
import { HUGE_FRAME_BYTES } from '../src/emulator/protocol.ts'
import { MAX_EVENT_MESSAGE_BYTES } from '../src/services/chat/bedrock.ts'
import {
  browser,
  type Emulator,
  eventually,
  makeApp,
  SERVER_CREDENTIALS,
  type SseMessage,
  streamedPieces,
  type TestApp,
  unescapeHtml,
  unique,
  useApp,
} from './helpers.ts'

let emulator: Emulator
let t: TestApp
useApp((app) => {
  t = app
  emulator = app.emulator
})

function requestsFor(marker: string) {
  return emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))
}
function rows() {
  return t.sql('select * from invocations order by id')
}
/** A reply cut off part-way: some text streamed, and the final bubble is an error that keeps it. */
function cutOffReply(body: string, messages: SseMessage[]) {
  const partial = streamedPieces(messages).join('')
  expect(partial.length).toBeGreaterThan(0)
  const bubble = unescapeHtml(finalBubble(body))
  expect(bubble).toContain('data-status="error"')
  expect(bubble).toContain(partial.trim())
  return { bubble, partial }
}

function finalBubble(body: string) {
  const match = body.match(/<article class="msg assistant (\w+)"[\s\S]*?<\/article>/g)
  return match?.at(-1) ?? ''
}

describe('a chat turn', () => {
  test('a reply streams in several pieces and ends as one finished message', async () => {
    const you = browser(t.app)
    const text = unique('Tell me about streaming')
    const { res, messages } = await you.send(text)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    // first the person's message and an empty assistant bubble with a Stop button
    expect(messages[0]!.data).toContain('class="msg user"')
    expect(messages[0]!.data).toContain('>Stop</button>')
    const pieces = streamedPieces(messages)
    expect(pieces.length).toBeGreaterThan(5)
    const full = pieces.join('')
    expect(full).toContain(`Emulated reply to: "${text}"`)
    // the last message replaces the bubble with the finished reply, without a Stop button
    const last = messages.at(-1)!.data
    expect(last).toContain('data-status="done"')
    expect(last).not.toContain('>Stop</button>')
    expect(unescapeHtml(last)).toContain(full)
    // and the conversation's page, reloaded, shows the same thread
    expect(you.conversation).toMatch(/^\/c\/[\w-]+$/)
    const page = await (await you.get(you.conversation!)).text()
    expect(unescapeHtml(page)).toContain(full)
  })

  test('a long reply streams whole into blocks of a few thousand characters, cut after a line where it can be', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => `Line ${i}: ${'some words here '.repeat(6)}`.trim()).join('\n')
    const longLine = 'a-line-with-no-end-in-sight-for-a-while '.repeat(250).trim()
    const text = `${lines}\n${longLine}`
    const { messages } = await browser(t.app).send(`[[echo]] [[slow:0]] ${text}`)
    // each piece either starts a block (<div class="stream-chunk" id="m-ID-text-N">) or appends to the newest one
    const blocks: string[] = []
    for (const m of messages) {
      for (const piece of m.data.matchAll(/<hx-partial hx-target="#m-[\w-]+-text(?:-\d+)?" hx-swap="beforeend">([\s\S]*?)<\/hx-partial>/g)) {
        const start = /^<div class="stream-chunk" id="m-[\w-]+-text-(\d+)">([\s\S]*)<\/div>$/.exec(piece[1]!)
        if (start) {
          expect(Number(start[1])).toBe(blocks.length + 1)
          blocks.push(unescapeHtml(start[2]!))
        } else blocks[blocks.length - 1] += unescapeHtml(piece[1]!)
      }
    }
    expect(blocks.join('')).toBe(text)
    expect(blocks.length).toBeGreaterThanOrEqual(4)
    // a block takes tokens until it holds STREAM_CHUNK_MAX_CHARS: at most one word (here 40 characters) more
    for (const block of blocks) expect(block.length).toBeLessThan(STREAM_CHUNK_MAX_CHARS + 40)
    // the blocks of the part with lines end with a newline (no visible seam); the long line is cut between words
    const inLines = blocks.filter((_, i) => blocks.slice(0, i + 1).join('').length < lines.length)
    expect(inLines.length).toBeGreaterThanOrEqual(2)
    for (const block of inLines) expect(block.endsWith('\n')).toBe(true)
  })

  test('the second turn sends the whole history, alternating user and assistant', async () => {
    const you = browser(t.app)
    const first = unique('First question')
    const second = unique('Second question')
    const one = await you.send(first)
    const firstReply = streamedPieces(one.messages).join('')
    await you.send(second)
    const [request] = requestsFor(second)
    const body = request!.body as { messages: { role: string; content: { text: string }[] }[] }
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(body.messages.map((m) => m.content[0]!.text)).toEqual([first, firstReply, second])
  })

  test('every request sets maxTokens', async () => {
    const you = browser(t.app)
    const text = unique('Check the inference config')
    await you.send(text)
    const body = requestsFor(text)[0]!.body as { inferenceConfig?: { maxTokens?: number } }
    expect(body.inferenceConfig?.maxTokens).toBeGreaterThan(0)
  })

  test('a throttled call is retried, the thread says so, and the reply arrives', async () => {
    const you = browser(t.app)
    const text = unique('[[throttle:2]] Busy day')
    const before = (await rows()).length
    const { body, messages } = await you.send(text)
    expect(body).toContain('retrying (attempt 2 of 3)')
    expect(body).toContain('ThrottlingException')
    expect(streamedPieces(messages).join('')).toContain('Emulated reply')
    expect(finalBubble(body)).toContain('data-status="done"')
    expect(requestsFor(text).map((r) => r.status)).toEqual([429, 429, 200])
    const row = (await rows()).at(-1)!
    expect((await rows()).length).toBe(before + 1)
    expect(row).toMatchObject({ outcome: 'ok', success: 1, attempts: 3 })
  })

  test('throttling that outlasts the retries is explained and recorded once', async () => {
    const you = browser(t.app)
    const text = unique('[[throttle:5]] Very busy day')
    const before = (await rows()).length
    const { body } = await you.send(text)
    expect(requestsFor(text)).toHaveLength(3)
    expect(finalBubble(body)).toContain('data-status="error"')
    expect(unescapeHtml(finalBubble(body))).toContain('Bedrock is throttling requests')
    expect((await rows()).length).toBe(before + 1)
    expect((await rows()).at(-1)).toMatchObject({ outcome: 'error', success: 0, error_type: 'ThrottlingException', attempts: 3 })
  })

  test('a validation error is not retried and is explained', async () => {
    const you = browser(t.app)
    const text = unique('[[validation]] Bad request')
    const { body } = await you.send(text)
    expect(requestsFor(text)).toHaveLength(1)
    const bubble = unescapeHtml(finalBubble(body))
    expect(bubble).toContain('data-status="error"')
    expect(bubble).toContain('Bedrock refused the request')
    expect(bubble).toContain('role="alert"')
    expect((await rows()).at(-1)).toMatchObject({ outcome: 'error', error_type: 'ValidationException', attempts: 1 })
  })

  test('a model that needs an inference profile is named with the profile to use', async () => {
    const you = browser(t.app)
    // the page asks which models the account can call: the message names the global profile it has
    await you.get('/')
    const { body } = await you.send(unique('[[profile]] hi'), { modelId: 'anthropic.claude-sonnet-4-5-20250929-v1:0' })
    expect(unescapeHtml(finalBubble(body))).toContain(
      'use its inference profile global.anthropic.claude-sonnet-4-5-20250929-v1:0 (Claude Sonnet 4.5 in the Model list)',
    )
  })

  test('no access to a model says how to get it, without retrying', async () => {
    const you = browser(t.app)
    const text = unique('[[access]] hi')
    const { body } = await you.send(text)
    expect(requestsFor(text)).toHaveLength(1)
    expect(unescapeHtml(finalBubble(body))).toContain('has no access to')
  })

  test('bidi controls in model output are removed while it streams, as in the finished reply', async () => {
    const you = browser(t.app)
    const { body, messages } = await you.send(unique('[[echo]] report\u202Efdp.exe and \u2066isolated\u2069'))
    const streamed = streamedPieces(messages).join('')
    expect(streamed).toContain('fdp.exe')
    expect(streamed).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/)
    expect(unescapeHtml(finalBubble(body))).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/)
  })

  test('a mid-stream failure keeps the partial text, says it failed, and is recorded as a failure', async () => {
    const you = browser(t.app)
    const text = unique('[[midstream]] Tell me more')
    const { body, messages } = await you.send(text)
    const { bubble, partial } = cutOffReply(body, messages)
    expect(bubble).toContain('Bedrock had a service error')
    // nothing is re-sent once tokens reached the person
    expect(requestsFor(text)).toHaveLength(1)
    expect((await rows()).at(-1)).toMatchObject({ outcome: 'error', success: 0, error_type: 'ModelStreamErrorException' })
    expect((await rows()).at(-1)!['time_to_first_token_ms']).not.toBeNull()
  })

  test('a connection dropped mid-reply keeps the partial text and says the connection broke', async () => {
    const you = browser(t.app)
    const text = unique('[[drop]] Tell me more')
    const { body, messages } = await you.send(text)
    const { bubble, partial } = cutOffReply(body, messages)
    expect(bubble).toContain('The connection to Bedrock broke off before the reply was complete')
    expect(requestsFor(text)).toHaveLength(1)
    expect((await rows()).at(-1)).toMatchObject({ outcome: 'error', success: 0 })
  })

  test('Stop aborts the upstream Bedrock call, keeps the partial reply and is recorded', async () => {
    const you = browser(t.app)
    const text = unique('[[slow:100]] A long story')
    const res = await t.app.request('http://localhost/c/new/messages', {
      method: 'POST',
      headers: { Cookie: (await you.get('/'), you.cookie), Origin: 'http://localhost', 'HX-Request': 'true' },
      body: new URLSearchParams({ message: text }),
    })
    const reader = res.body!.getReader()
    let body = ''
    const decoder = new TextDecoder()
    while (streamedPieces(parseAll(body)).length < 3) body += decoder.decode((await reader.read()).value)
    const replyId = body.match(/\/replies\/([\w-]+)\/stop/)![1]!
    const stop = await you.post(`/replies/${replyId}/stop`, {}, { htmx: true })
    expect(stop.status).toBe(204)
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      body += decoder.decode(value)
    }
    const bubble = finalBubble(body)
    expect(bubble).toContain('data-status="stopped"')
    expect(bubble).toContain('Stopped.')
    const upstream = await eventually(() => {
      const [r] = requestsFor(text)
      expect(r!.outcome).toBe('aborted')
      return r!
    })
    expect(upstream.tokensSent).toBeLessThan(20)
    expect((await rows()).at(-1)).toMatchObject({ outcome: 'stopped', success: 0, error_type: 'Stopped' })
  })

  test('one metrics row per call, whatever the outcome', async () => {
    const you = browser(t.app)
    const before = (await rows()).length
    await you.send(unique('plain'))
    await you.send(unique('[[validation]] bad'))
    await you.send(unique('[[midstream]] broken'))
    await you.send(unique('[[throttle:1]] busy'))
    const added = (await rows()).slice(before)
    expect(added.map((r) => r['outcome'])).toEqual(['ok', 'error', 'error', 'ok'])
    for (const row of added) {
      expect(row['latency_ms']).toBeGreaterThanOrEqual(0)
      expect(row['model_id']).toBe(t.config.BEDROCK_MODEL_ID)
      expect(typeof row['timestamp']).toBe('number')
    }
    expect(added[0]).toMatchObject({ success: 1, error_type: null })
    expect(added[0]!['input_tokens']).toBeGreaterThan(0)
    expect(added[0]!['output_tokens']).toBeGreaterThan(0)
  })

  test('a failing metrics write is logged and the chat still answers', async () => {
    const you = browser(t.app)
    const before = (await rows()).length
    // every metrics insert now fails: on SQLite a trigger on the writer's connection, on PostgreSQL one on the table
    if (t.store === 'sqlite') {
      await t.deps.writer.exec("CREATE TEMP TRIGGER metrics_down BEFORE INSERT ON invocations BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    } else {
      await t.sql("CREATE FUNCTION metrics_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk I/O error'; END $$")
      await t.sql('CREATE TRIGGER metrics_down BEFORE INSERT ON invocations FOR EACH ROW EXECUTE FUNCTION metrics_down()')
    }
    try {
      const { messages } = await you.send(unique('metrics are down'))
      expect(streamedPieces(messages).join('')).toContain('Emulated reply')
      expect(messages.at(-1)!.data).toContain('data-status="done"')
    } finally {
      if (t.store === 'sqlite') await t.deps.writer.exec('DROP TRIGGER temp.metrics_down')
      else await t.sql('DROP TRIGGER metrics_down ON invocations')
    }
    expect((await rows()).length).toBe(before)
    expect(await t.logText()).toContain('metrics write failed; the chat goes on without this row')
  })

  test('model output is escaped: it is text, not HTML', async () => {
    const you = browser(t.app)
    const { body } = await you.send(unique('[[echo]] <script>alert(1)</script><img src=x onerror=alert(2)>'))
    expect(body).not.toContain('<script>alert(1)</script>')
    expect(body).not.toContain('<img src=x')
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  test('an empty message is refused with a clear message and changes nothing', async () => {
    const you = browser(t.app)
    const before = emulator.requests.length
    const res = await you.post('/c/new/messages', { message: '   ' }, { htmx: true })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('hx-target="#composer-error"')
    expect(html).toContain('Type a message first.')
    expect(emulator.requests.length).toBe(before)
    const page = await (await you.get('/')).text()
    expect(page).toContain('id="empty-thread"')
  })

  test('a second message while a reply streams is refused, not queued twice', async () => {
    const you = browser(t.app)
    await you.get('/')
    const slow = t.app.request('http://localhost/c/new/messages', {
      method: 'POST',
      headers: { Cookie: you.cookie, Origin: 'http://localhost', 'HX-Request': 'true' },
      body: new URLSearchParams({ message: unique('[[slow:50]] slow one') }),
    })
    const first = await slow
    const reader = first.body!.getReader()
    await reader.read()
    const res = await you.post('/c/new/messages', { message: 'another' }, { htmx: true })
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('A reply is still streaming')
    while (!(await reader.read()).done) {}
  })

  test('without JavaScript, sending posts the form and shows the whole reply on the page', async () => {
    const you = browser(t.app)
    const text = unique('No scripts here')
    const res = await you.sendWithoutScripts(text)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/c\/[\w-]+#m-/)
    const page = unescapeHtml(await (await you.get(you.conversation!)).text())
    expect(page).toStartWith('<!DOCTYPE html>')
    expect(page).toContain(`Emulated reply to: "${text}"`)
    expect(page).toContain('data-status="done"')
  })

  test('without JavaScript, an empty message comes back as the page with the message, status 422', async () => {
    const you = browser(t.app)
    const res = await you.post('/c/new/messages', { message: '' })
    expect(res.status).toBe(422)
    const page = await res.text()
    expect(page).toStartWith('<!DOCTYPE html>')
    expect(page).toContain('Type a message first.')
  })

  test('New chat opens an empty thread and keeps the earlier conversation in the list', async () => {
    const you = browser(t.app)
    await you.send(unique('remember me'))
    const earlier = you.conversation!
    const page = await (await you.get('/')).text()
    expect(page).toContain('id="empty-thread"')
    expect(page).toContain('>New chat</a>')
    expect(page).toContain(`href="${earlier}"`)
    expect(page).toContain('remember me')
  })

  test('a form posted from another site is refused', async () => {
    const res = await t.app.request('http://localhost/c/new/messages', {
      method: 'POST',
      headers: { Origin: 'https://evil.example', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'message=hi',
    })
    expect(res.status).toBe(403)
  })
})

describe('timeouts a person can live with', () => {
  test('an answer that stops half-way is cut off after the between-token timeout, keeps its text and says so', async () => {
    const quiet = await makeApp({ emulator, deps: { tokenIdleTimeoutMs: 400 } })
    try {
      const text = unique('[[slow:5000]] and then silence')
      const { body, messages } = await browser(quiet.app).send(text)
      const { bubble, partial } = cutOffReply(body, messages)
      expect(bubble).toContain('Bedrock stopped sending for 0.4 s in the middle of the reply, so it was cut off there: send again to retry.')
      const row = (await quiet.sql('select outcome, error_type, time_to_first_token_ms from invocations'))[0]!
      expect(row).toMatchObject({ outcome: 'error', error_type: 'StreamIdleTimeout' })
      expect(row['time_to_first_token_ms']).not.toBeNull()
      await eventually(() => expect(requestsFor(text)[0]?.outcome).toBe('aborted'))
    } finally {
      await quiet.close()
    }
  })

  test('a model slow to start but quick once started answers in full: the wait for the first token is its own', async () => {
    // a silence of a second before the first token, three times the between-token timeout
    const patient = await makeApp({ emulator, deps: { firstTokenTimeoutMs: 10_000, tokenIdleTimeoutMs: 300 } })
    try {
      const { body } = await browser(patient.app).send(unique('[[firstdelay:1000]] take your time'))
      expect(finalBubble(body)).toContain('data-status="done"')
      expect((await patient.sql('select outcome, error_type from invocations'))[0]).toEqual({ outcome: 'ok', error_type: null })
    } finally {
      await patient.close()
    }
  })
})

describe('answers that cannot be read', () => {
  test('a malformed answer is told in plain words, recorded for the dashboard, and gives its connection back: after more of them than the pool holds, the next message answers', async () => {
    // a pool of two sockets: a call that kept its socket would make the third one wait for ever
    // (and the plain question at the end would fail with FirstTokenTimeout)
    const small = await makeApp({ deps: { bedrock: { serverCredentials: SERVER_CREDENTIALS, maxSockets: 2 }, firstTokenTimeoutMs: 5000 } })
    try {
      const you = browser(small.app)
      const broken = ['[[malformed]]', '[[malformed:3]]', '[[malformed]]', '[[malformed:3]]', '[[malformed]]']
      for (const directive of broken) {
        const { body, messages } = await you.send(unique(`${directive} can you read this`))
        const bubble = unescapeHtml(finalBubble(body))
        expect(bubble).toContain('data-status="error"')
        expect(bubble).toContain(
          "Bedrock's answer could not be read: what arrived was not a valid Bedrock stream, so the reply was abandoned: send again to retry.",
        )
        for (const internals of ['Deserialization error', '$response', 'checksum', 'smithy']) expect(unescapeHtml(body)).not.toContain(internals)
        // the tokens that did arrive are kept
        if (directive === '[[malformed:3]]') expect(bubble).toContain(streamedPieces(messages).join('').trim())
      }
      expect(await small.sql('select outcome, error_type from invocations order by id')).toEqual(
        broken.map(() => ({ outcome: 'error', error_type: 'MalformedStreamError' })),
      )
      // the emulator held every broken answer open; the app hung up on each
      await eventually(() => expect(small.emulator.requests.map((r) => r.outcome)).toEqual(broken.map(() => 'aborted')))
      const { body } = await you.send(unique('and now a plain question'))
      expect(finalBubble(body)).toContain('data-status="done"')
      // the pool is back to its idle size: the one keep-alive connection that the last call used
      await eventually(() => expect(small.emulator.connections()).toBe(1))
      expect(await small.deps.metricsQueries.errorsByType('1h')).toContainEqual({ category: 'server', type: 'MalformedStreamError', count: broken.length })
    } finally {
      await small.close()
    }
  })

  test('an answer announcing an event larger than Bedrock ever sends is refused at once, not buffered', async () => {
    // the default timeouts (a minute, 30 s): only the refusal can end this call within the test
    const text = unique('[[hugeframe:3]] a big one')
    const { body, messages } = await browser(t.app).send(text)
    const { bubble, partial } = cutOffReply(body, messages)
    expect(bubble).toContain(
      `Bedrock's answer could not be read: it announced a single event of ${HUGE_FRAME_BYTES.toLocaleString('en')} bytes, and at most ${MAX_EVENT_MESSAGE_BYTES.toLocaleString('en')} bytes are accepted`,
    )
    expect((await rows()).at(-1)).toMatchObject({ outcome: 'error', error_type: 'EventMessageTooLargeError' })
    // the emulator sent the 12-byte prelude and nothing more, and still held the message open when
    // the app hung up: the call ended on the prelude, without waiting for (or keeping) 4 GiB
    await eventually(() => expect(requestsFor(text)[0]).toMatchObject({ errorType: 'hugeframe', outcome: 'aborted', tokensSent: 3 }))
  })
})

function parseAll(body: string) {
  return body
    .split('\n\n')
    .filter((b) => b.startsWith('data:'))
    .map((b) => ({
      data: b
        .split('\n')
        .map((l) => l.replace(/^data: ?/, ''))
        .join('\n'),
    }))
}
