import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Socket } from 'node:net'
import { EventStreamCodec } from '@smithy/eventstream-codec'
import { fromUtf8, toUtf8 } from '@smithy/util-utf8'
import { encodeEvent } from '../src/emulator/protocol.ts'
import { createBedrock, UPSTREAM_SOCKETS } from '../src/services/chat/bedrock.ts'
import { BUSY, type Reply, type ReplyEvent } from '../src/services/chat/index.ts'
import type { ThreadEntry } from '../src/services/chat/conversations.ts'
import { eventually, makeApp, SERVER_CREDENTIALS, type Emulator, type TestApp } from './helpers.ts'

let t: TestApp
let emulator: Emulator
beforeAll(async () => {
  t = await makeApp() // with its own emulator, closed with it
  emulator = t.emulator
})
afterAll(() => t.close())

/** A browser's session, as the session middleware gives it. */
function newBrowser() {
  const { session } = t.deps.sessions.resolve(undefined)
  return { session, owner: session.owner }
}

function startMessage(b: ReturnType<typeof newBrowser>, text: string) {
  return t.deps.replies.start(b.session, { kind: 'message', conversation: null, text: `${text} #${crypto.randomUUID().slice(0, 8)}`, files: [] })
}

function started(result: Awaited<ReturnType<typeof startMessage>>): Reply {
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`)
  return result.reply
}

/** Runs a reply to its end, keeping what it emitted. */
async function runAll(reply: Reply, emit: (event: ReplyEvent) => void | Promise<void> = () => {}) {
  const events: ReplyEvent[] = []
  const finished = await reply.run((event) => {
    events.push(event)
    return emit(event)
  })
  return { finished, events }
}

function invocationsFor(marker: string) {
  return t.sql('select * from invocations where id in (select invocation_id from messages where text like ?)', `%${marker}%`)
}

describe('one reply per browser', () => {
  test('a second reply while one streams is refused with 409, and another browser is not held up', async () => {
    const you = newBrowser()
    const first = started(await startMessage(you, '[[slow:30]] first'))
    const second = await startMessage(you, 'second')
    expect(second).toEqual({ ok: false, refusal: { status: 409, message: BUSY } })
    const someoneElse = started(await startMessage(newBrowser(), 'meanwhile'))
    const [a, b] = await Promise.all([runAll(first), runAll(someoneElse)])
    expect(a.finished.status).toBe('done')
    expect(b.finished.status).toBe('done')
    // once the first is saved, the browser can start the next one
    expect((await startMessage(you, 'third')).ok).toBe(true)
  })

  test('the check and the reservation are one step: two starts in the same tick cannot both win', async () => {
    const you = newBrowser()
    const results = await Promise.all([startMessage(you, '[[slow:30]] a'), startMessage(you, '[[slow:30]] b')])
    expect(results.map((r) => r.ok)).toEqual([true, false])
    if (results[0]!.ok) results[0]!.reply.abort('disconnected')
    return results[0]!.ok ? results[0]!.reply.run(() => {}) : undefined
  })
})

describe('the browser is freed whatever happens', () => {
  const cases: [string, string, (reply: Reply) => (event: ReplyEvent) => void, ThreadEntry['status']][] = [
    ['an answered reply', 'plain', () => () => {}, 'done'],
    ['a model error', '[[validation]]', () => () => {}, 'error'],
    ['a reply cut mid-stream', '[[midstream]]', () => () => {}, 'error'],
    ['the browser leaving mid-reply', '[[slow:20]]', (reply) => (event) => event.type === 'text' && reply.abort('disconnected'), 'stopped'],
    [
      'the caller failing while it shows a token',
      '[[slow:5]]',
      () => (event) => {
        if (event.type === 'text') throw new Error('the page went away')
      },
      'error',
    ],
  ]
  for (const [what, directive, emitFor, status] of cases) {
    test(`after ${what}, the reply is saved as ${status}, with one metrics row, and the browser can send again`, async () => {
      const you = newBrowser()
      const marker = crypto.randomUUID().slice(0, 8)
      const reply = started(await startMessage(you, `${directive} ${marker}`))
      expect(you.session.activeReply?.id).toBe(reply.id)
      const { finished } = await runAll(reply, emitFor(reply))
      expect(finished.status).toBe(status)
      expect(you.session.activeReply).toBeUndefined()
      const saved = (await t.deps.conversations.thread(reply.conversation.id)).find((m) => m.id === reply.id)!
      expect({ status: saved.status, text: saved.text, recorded: saved.invocation !== null }).toEqual({ status, text: finished.text, recorded: true })
      expect((await startMessage(you, 'again')).ok).toBe(true)
    })
  }

  test('a start that cannot be saved is shown as such, calls nothing visible, and frees the browser', async () => {
    const you = newBrowser()
    // PostgreSQL's writer sends the start at once, so no insert of ours can come first: its insert is refused by a trigger instead
    if (t.store === 'postgres') {
      await t.sql(
        `CREATE FUNCTION refuse_start() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.owner = '${you.owner}' THEN RAISE EXCEPTION 'taken'; END IF; RETURN NEW; END $$`,
      )
      await t.sql('CREATE TRIGGER refuse_start BEFORE INSERT ON conversations FOR EACH ROW EXECUTE FUNCTION refuse_start()')
    }
    const reply = started(await startMessage(you, 'never saved'))
    // before the writer commits the start, another writer takes the new conversation's id, so the start's insert fails
    const original = reply.conversation.id
    if (t.store === 'sqlite') {
      t.database.sqlite
        .prepare('INSERT INTO conversations (id, owner, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
        .run(original, 'someone else', 'taken', 0, 0)
    }
    const { finished, events } = await runAll(reply)
    if (t.store === 'postgres') await t.sql('DROP TRIGGER refuse_start ON conversations')
    expect(finished.status).toBe('error')
    expect(finished.error).toContain('could not be saved')
    expect(events.filter((e) => e.type === 'text')).toEqual([])
    expect(you.session.activeReply).toBeUndefined()
    expect(await t.deps.conversations.get(you.owner, original)).toBeNull()
  })
})

describe('saving after the last token', () => {
  test('the finished reply is shown before it is saved, then saved with its metrics row', async () => {
    const you = newBrowser()
    const marker = crypto.randomUUID().slice(0, 8)
    const reply = started(await startMessage(you, `[[tokens:40]] ${marker}`))
    let statusWhenShown: string | undefined
    const { finished } = await runAll(reply, async (event) => {
      if (event.type === 'finished') statusWhenShown = (await t.deps.conversations.thread(reply.conversation.id)).find((m) => m.id === reply.id)?.status
    })
    expect(statusWhenShown).toBe('streaming')
    expect(finished.text.split(' ').length).toBe(40)
    const saved = (await t.deps.conversations.thread(reply.conversation.id)).find((m) => m.id === reply.id)!
    expect(saved.status).toBe('done')
    expect(saved.text).toBe(finished.text)
    expect(await invocationsFor(marker)).toHaveLength(1)
  })
})

describe('the upstream connection pool', () => {
  test('holds as many streams as are asked for: 300 calls reach Bedrock at once, none waits for a socket', async () => {
    expect(UPSTREAM_SOCKETS).toBe(Number.POSITIVE_INFINITY)
    const bedrock = createBedrock({ endpoint: emulator.url, serverCredentials: SERVER_CREDENTIALS })
    const marker = crypto.randomUUID().slice(0, 8)
    const controller = new AbortController()
    const calls = Array.from({ length: 300 }, (_, i) =>
      bedrock
        .stream(
          { modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', messages: [{ role: 'user', text: `[[firstdelay:4000]] ${marker} ${i}` }], maxTokens: 100 },
          { region: 'us-east-1', signal: controller.signal, onEvent: () => {} },
        )
        .catch(() => null),
    )
    const arrived = () => emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker) && r.outcome === 'pending').length
    // a 256-socket pool would let only 256 in until one of them finished, 4 s later
    await eventually(() => expect(arrived()).toBe(300), 3000)
    controller.abort()
    await Promise.all(calls)
  })

  test('a connection refused before the first byte is retried like throttling, then explained', async () => {
    const closed = createServer()
    const port = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as { port: number }).port)))
    await new Promise((r) => closed.close(r))
    const bedrock = createBedrock({ endpoint: `http://127.0.0.1:${port}`, serverCredentials: SERVER_CREDENTIALS })
    const retries: number[] = []
    const err = await bedrock
      .stream(
        { modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', messages: [{ role: 'user', text: 'hello' }], maxTokens: 100 },
        { region: 'us-east-1', signal: new AbortController().signal, onRetry: (n) => retries.push(n), onEvent: () => {} },
      )
      .then(
        () => null,
        (e: unknown) => e as { code?: string; attempts?: number },
      )
    expect(err?.code).toBe('ECONNREFUSED')
    expect(retries).toEqual([2, 3])
    expect(err?.attempts).toBe(3)
  })
})

describe('answers the SDK cannot decode', () => {
  /** An upstream that answers 200, sends `bytes`, and holds the response open on its keep-alive connection. */
  async function brokenUpstream(bytes: Uint8Array) {
    const sockets = new Set<Socket>()
    const server = createHttpServer(async (req, res) => {
      for await (const _ of req) {
      }
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' })
      res.write(bytes)
    })
    server.keepAliveTimeout = 60_000
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
    return {
      url: `http://127.0.0.1:${port}`,
      connections: () => sockets.size,
      close: () => {
        for (const socket of sockets) socket.destroy()
        return new Promise((resolve) => server.close(resolve))
      },
    }
  }

  const codec = new EventStreamCodec(toUtf8, fromUtf8)
  const start = encodeEvent('messageStart', { role: 'assistant' })
  const delta = encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hello ' } })
  const badMessageChecksum = encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'there' } })
  badMessageChecksum[badMessageChecksum.length - 1]! ^= 0x01
  const notJson = codec.encode({
    headers: {
      ':event-type': { type: 'string', value: 'contentBlockDelta' },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8('{"contentBlockIndex": 0, "delta": {'),
  })
  const noMessageType = codec.encode({ headers: { ':event-type': { type: 'string', value: 'contentBlockDelta' } }, body: fromUtf8('{}') })
  const errorPage = fromUtf8('<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>')
  const join = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]))

  test.each([
    ['a message whose checksum fails, after a token', join(start, delta, badMessageChecksum), 1],
    ['a first event whose JSON is cut short', join(start, notJson), 0],
    ['an event with no message type', join(start, delta, noMessageType), 1],
    // read as a prelude, "<htm" claims a message of about 1 GB: refused on its checksum, not awaited
    ["a proxy's error page where the stream should be", errorPage, 0],
  ])('%s is a MalformedStreamError in our words, and its connection is closed', async (_, bytes, tokens) => {
    const upstream = await brokenUpstream(bytes)
    try {
      const bedrock = createBedrock({ endpoint: upstream.url, serverCredentials: SERVER_CREDENTIALS })
      // an abort after 5 s would turn a hang into a wrong error, not a stuck test
      const signal = AbortSignal.timeout(5000)
      const texts: string[] = []
      const err = (await bedrock
        .stream(
          { modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', messages: [{ role: 'user', text: 'hello' }], maxTokens: 100 },
          { region: 'us-east-1', signal, onEvent: (e) => void (e.type === 'text' && texts.push(e.text)) },
        )
        .then(
          () => null,
          (e: unknown) => e,
        )) as Error | null
      expect(err?.name).toBe('MalformedStreamError')
      expect(err?.message).not.toContain('Deserialization error')
      expect(signal.aborted).toBe(false)
      expect(texts).toHaveLength(tokens)
      await eventually(() => expect(upstream.connections()).toBe(0))
    } finally {
      await upstream.close()
    }
  })
})
