import { describe, expect, test } from 'bun:test'
import { estimateTokens, fitToContext, type ContextMessage } from '../src/services/chat/context-window.ts'

const user = (text: string, attachments?: ContextMessage['attachments']): ContextMessage => ({ role: 'user', text, attachments })
const assistant = (text: string): ContextMessage => ({ role: 'assistant', text })
const words = (n: number) => 'word '.repeat(n)

/** `turns` answered exchanges, then the new question. */
function conversation(turns: number, size = 300): ContextMessage[] {
  const messages: ContextMessage[] = []
  for (let i = 0; i < turns; i++) messages.push(user(`q${i} ${words(size)}`), assistant(`a${i} ${words(size)}`))
  messages.push(user(`new question ${words(size)}`))
  return messages
}

function expectWellFormed(result: ReturnType<typeof fitToContext>, original: ContextMessage[]) {
  expect(result.messages[0]?.role).toBe('user')
  result.messages.forEach((m, i) => expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant'))
  expect(result.messages.at(-1)).toBe(original.at(-1)!)
  expect(result.dropped + result.messages.length).toBe(original.length)
  expect(result.messages).toEqual(original.slice(result.dropped))
}

describe('estimating tokens without a tokenizer', () => {
  test('longer text costs more, and the estimate errs high for English (about 4 characters a token)', () => {
    const text = words(1000) // 5,000 characters: ~1,250 tokens with a real tokenizer
    expect(estimateTokens(user(text))).toBeGreaterThan(5000 / 4)
    expect(estimateTokens(user(text + text))).toBeGreaterThan(estimateTokens(user(text)))
  })

  test('Chinese text counts about a token a character, not a token per four characters', () => {
    const chinese = '\u4f60\u597d\u4e16\u754c'.repeat(250) // 1,000 characters
    expect(estimateTokens(user(chinese))).toBeGreaterThanOrEqual(1000)
  })

  test('an image counts by its pixels, up to the most a model reads; an unknown size counts the most', () => {
    const small = estimateTokens(user('', [{ kind: 'image', size: 1000, width: 200, height: 200 }]))
    const large = estimateTokens(user('', [{ kind: 'image', size: 1000, width: 4000, height: 3000 }]))
    const unknown = estimateTokens(user('', [{ kind: 'image', size: 1000 }]))
    expect(small).toBeLessThan(large)
    expect(large).toBe(unknown)
    expect(unknown).toBeGreaterThanOrEqual(1600)
  })

  test('a document counts by its bytes, a PDF by its pages when they are known', () => {
    const doc = (size: number, format?: string, pages?: number) => estimateTokens(user('', [{ kind: 'document', size, format, pages }]))
    expect(doc(400_000, 'txt')).toBeGreaterThan(doc(40_000, 'txt'))
    expect(doc(40_000, 'txt')).toBeGreaterThanOrEqual(40_000 / 4)
    expect(doc(40_000, 'xlsx')).toBeGreaterThan(doc(40_000, 'txt')) // compressed: more text per byte
    expect(doc(3_000_000, 'pdf', 10)).toBeLessThan(doc(3_000_000, 'pdf'))
    expect(doc(10_000, 'pdf', 20)).toBeGreaterThan(doc(10_000, 'pdf', 2))
  })
})

describe('fitting a conversation into the context window', () => {
  test('nothing is left out when the conversation fits', () => {
    const messages = conversation(5)
    const result = fitToContext({ system: 'Be brief.', messages, contextWindow: 200_000, maxTokens: 4096 })
    expect(result).toMatchObject({ dropped: 0, droppedFor: [], fits: true })
    expect(result.messages).toEqual(messages)
    expect(result.estimatedInputTokens).toBeLessThan(result.inputBudget)
  })

  test('the oldest exchanges are left out first, whole, and only as many as needed', () => {
    const messages = conversation(10)
    const all = fitToContext({ messages, contextWindow: 1_000_000, maxTokens: 1000 })
    const window = Math.floor(all.estimatedInputTokens * 0.6)
    const result = fitToContext({ messages, contextWindow: window, maxTokens: 1000 })

    expect(result.fits).toBe(true)
    expect(result.dropped).toBeGreaterThan(0)
    expect(result.dropped % 2).toBe(0)
    expect(result.droppedFor).toEqual(['tokens'])
    expect(result.messages[0]!.text.startsWith(`q${result.dropped / 2} `)).toBe(true)
    expectWellFormed(result, messages)
    expect(result.estimatedInputTokens).toBeLessThanOrEqual(result.inputBudget)
    // one more exchange would not have fitted
    const withOneMore = messages.slice(result.dropped - 2).reduce((n, m) => n + estimateTokens(m), 0)
    expect(withOneMore).toBeGreaterThan(result.inputBudget)
  })

  test('room is kept for the reply: a larger maxTokens leaves out more', () => {
    const messages = conversation(10)
    const short = fitToContext({ messages, contextWindow: 10_000, maxTokens: 500 })
    const long = fitToContext({ messages, contextWindow: 10_000, maxTokens: 4000 })
    expect(long.dropped).toBeGreaterThan(short.dropped)
    expect(long.inputBudget).toBeLessThanOrEqual(10_000 - 4000)
  })

  test("the system prompt's size counts against the window, and the prompt is never dropped", () => {
    const messages = conversation(10)
    const without = fitToContext({ messages, contextWindow: 12_000, maxTokens: 1000 })
    const system = words(2000)
    const withPrompt = fitToContext({ system, messages, contextWindow: 12_000, maxTokens: 1000 })
    expect(withPrompt.dropped).toBeGreaterThan(without.dropped)
    const kept = withPrompt.messages.reduce((n, m) => n + estimateTokens(m), 0)
    expect(withPrompt.estimatedInputTokens).toBeGreaterThan(kept)
    expect(withPrompt.estimatedInputTokens).toBeLessThanOrEqual(withPrompt.inputBudget)
  })

  test('the result always starts with a user turn, alternates, and ends with the new message', () => {
    let seed = 7
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647
    for (let run = 0; run < 200; run++) {
      const turns = Math.floor(random() * 12)
      const messages: ContextMessage[] = []
      for (let i = 0; i < turns; i++) messages.push(user(words(Math.floor(random() * 800))), assistant(words(Math.floor(random() * 800))))
      messages.push(user(words(Math.floor(random() * 800))))
      const result = fitToContext({ messages, contextWindow: 1000 + Math.floor(random() * 20_000), maxTokens: Math.floor(random() * 2000) })
      expectWellFormed(result, messages)
      if (result.fits) expect(result.estimatedInputTokens).toBeLessThanOrEqual(result.inputBudget)
      else expect(result.dropped).toBe(messages.length - 1)
    }
  })

  test('a newest message too big on its own does not fit, and every earlier message is left out', () => {
    const messages = [...conversation(3).slice(0, -1), user(words(50_000))]
    const result = fitToContext({ system: 'Be brief.', messages, contextWindow: 32_000, maxTokens: 2000 })
    expect(result.fits).toBe(false)
    expect(result.dropped).toBe(messages.length - 1)
    expect(result.messages).toEqual([messages.at(-1)!])
    expect(result.estimatedInputTokens).toBeGreaterThan(result.inputBudget)
  })

  test('attachments count: an old exchange with images is left out where text alone would fit', () => {
    const photos = Array.from({ length: 4 }, () => ({ kind: 'image' as const, size: 2_000_000, width: 3000, height: 2000 }))
    const plain = [user('what is this?'), assistant('a cat'), user('and now?')]
    const withPhotos = [user('what is this?', photos), assistant('a cat'), user('and now?')]
    const input = { contextWindow: 6000, maxTokens: 1000 }
    expect(fitToContext({ ...input, messages: plain })).toMatchObject({ dropped: 0, fits: true })
    expect(fitToContext({ ...input, messages: withPhotos })).toMatchObject({ dropped: 2, fits: true, droppedFor: ['tokens'] })
  })

  test('attachments count: a large document in the newest message leaves out older turns', () => {
    const history = conversation(4, 400).slice(0, -1)
    const input = { contextWindow: 32_000, maxTokens: 4000 }
    expect(fitToContext({ ...input, messages: [...history, user('summarise this')] }).dropped).toBe(0)
    const messages = [...history, user('summarise this', [{ kind: 'document', size: 70_000, format: 'txt' }])]
    const result = fitToContext({ ...input, messages })
    expect(result.dropped).toBeGreaterThan(0)
    expect(result.fits).toBe(true)
    expectWellFormed(result, messages)
  })

  test('a history carrying more than 5 documents leaves out the oldest turns until the request carries 5', () => {
    const doc = { kind: 'document' as const, size: 100, format: 'txt' }
    const messages = [user('first', [doc, doc]), assistant('ok'), user('second', [doc, doc]), assistant('ok'), user('third', [doc, doc, doc])]
    const result = fitToContext({ messages, contextWindow: 200_000, maxTokens: 4096 })
    expect(result).toMatchObject({ dropped: 2, droppedFor: ['documents'], fits: true })
    expect(result.messages[0]!.text).toBe('second')
  })

  test('a history carrying more than 20 images leaves out the oldest turns', () => {
    const image = { kind: 'image' as const, size: 100, width: 10, height: 10 }
    const messages = [user('a', Array(15).fill(image)), assistant('ok'), user('b', Array(10).fill(image))]
    expect(fitToContext({ messages, contextWindow: 200_000, maxTokens: 4096 })).toMatchObject({ dropped: 2, droppedFor: ['images'], fits: true })
  })

  test('assistant messages before the first question are left out, and counted', () => {
    const messages = [assistant('Hello! How can I help?'), user('hi')]
    const result = fitToContext({ messages, contextWindow: 200_000, maxTokens: 4096 })
    expect(result).toMatchObject({ dropped: 1, fits: true })
    expect(result.messages).toEqual([messages[1]!])
  })

  test('bad input does not throw', () => {
    expect(fitToContext({ messages: [], contextWindow: 200_000, maxTokens: 100 })).toMatchObject({ messages: [], dropped: 0, fits: false })
    expect(fitToContext({ messages: [user('hi')], contextWindow: Number.NaN, maxTokens: 100 }).fits).toBe(false)
    expect(fitToContext(undefined as never).messages).toEqual([])
    const odd = [{ role: 'user', text: undefined, attachments: [null, { kind: 'image', size: -1, width: Number.NaN }] }] as never
    expect(fitToContext({ messages: odd, contextWindow: 200_000, maxTokens: 100 }).fits).toBe(true)
    expect(estimateTokens(null as never)).toBeGreaterThan(0)
  })
})
