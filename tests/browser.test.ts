// The chat page in a real headless Chromium, against the real app served over HTTP and the
// Bedrock emulator. Elements are found the way a person finds them: by their labels and roles.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Browser, Locator, Page } from 'playwright-core'
import { standardReply } from '../src/emulator/replies.ts'
import { apiKeyFingerprint } from '../src/emulator/server.ts'
import { expectWatchCatchesInlineScript, launchBrowser, sampleUntil, skipBrowserTests, watchProblems, type PageProblem } from './browser-helpers.ts'
import { eventually, listen, makeApp, type TestApp, unique } from './helpers.ts'

let browser: Browser
let t: TestApp
let server: ReturnType<typeof listen>
/** Every console error, uncaught exception and CSP violation any page reported, across the file. */
const problems: PageProblem[] = []

beforeAll(async () => {
  if (skipBrowserTests) return
  browser = await launchBrowser()
  t = await makeApp()
  server = listen(t.app, t.deps)
})

afterAll(async () => {
  await browser?.close()
  server?.stop()
  await t?.close()
})

const browserTest = test.skipIf(skipBrowserTests)
/** Per test; bun's default (5 s) is too short for a slow stream, and a timeout kills the browser. */
const TEST_TIMEOUT_MS = 15_000

/** Each test uses its own words, so it can find its own requests in the shared emulator. */
function requestsFor(marker: string) {
  return t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(marker))
}

/** A fresh browser context (own cookie, so own session) on the chat page; closed after `use`. */
async function withChat(name: string, use: (page: Page) => Promise<void>) {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.setDefaultTimeout(5_000)
  await watchProblems(context, page, name, problems)
  try {
    await page.goto(server.url + '/')
    // chat.js loads deferred: wait for the page's scripts before typing
    await page.waitForFunction(() => 'htmx' in window)
    await use(page)
    expect(problems.filter((p) => p.test === name)).toEqual([])
  } finally {
    await context.close()
  }
}

const messageBox = (page: Page) => page.getByLabel('Message', { exact: true })
const sendButton = (page: Page) => page.getByRole('button', { name: 'Send', exact: true })
const assistantBubbles = (page: Page) => page.getByRole('article', { name: 'Assistant', exact: true })
const userBubbles = (page: Page) => page.getByRole('article', { name: 'You', exact: true })

type BubbleState = { status: string; text: string }
function readBubble(bubble: Locator): Promise<BubbleState> {
  return bubble.evaluate((el) => ({
    status: el.getAttribute('data-status') ?? '',
    text: el.querySelector('.msg-text')?.textContent ?? '',
  }))
}

/** Waits for the newest reply to settle (done, stopped or error) and returns its states as seen. */
async function settle(page: Page, everyMs = 25) {
  const bubble = assistantBubbles(page).last()
  const states = await sampleUntil(
    () => readBubble(bubble),
    (s) => s.status !== 'streaming',
    { everyMs },
  )
  return { bubble, states, final: states.at(-1)! }
}

async function waitForSendEnabled(page: Page) {
  await eventually(async () => expect(await sendButton(page).isEnabled()).toBe(true))
}

browserTest(
  'a reply streams into the page token by token',
  async () => {
    await withChat('streams', async (page) => {
      const marker = unique('second line')
      const posts: string[] = []
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname.endsWith('/messages')) posts.push(r.url())
      })
      const box = messageBox(page)
      await box.click()
      await page.keyboard.type('[[slow:60]] Tell me a story')
      // Shift+Enter starts a new line and sends nothing
      await page.keyboard.press('Shift+Enter')
      await page.keyboard.type(marker)
      expect(await box.inputValue()).toBe(`[[slow:60]] Tell me a story\n${marker}`)
      await Bun.sleep(150)
      expect(posts).toEqual([])
      expect(await userBubbles(page).count()).toBe(0)

      // Enter sends
      await page.keyboard.press('Enter')
      await eventually(() => expect(posts.length).toBe(1))
      const { states, final } = await settle(page)

      const expected = standardReply(`Tell me a story\n${marker}`, 1)
      // the finished reply is rendered from Markdown: the same words, in a paragraph
      expect({ ...final, text: final.text.trim() }).toEqual({ status: 'done', text: expected })
      // while streaming the bubble only ever held a start of the reply, growing; it was seen
      // partially filled several times before it was complete
      const streaming = states.filter((s) => s.status === 'streaming')
      for (const [i, s] of streaming.entries()) {
        expect(expected.startsWith(s.text)).toBe(true)
        if (i > 0) expect(s.text.length).toBeGreaterThan(streaming[i - 1]!.text.length)
      }
      const partial = streaming.filter((s) => s.text.length > 0 && s.text.length < expected.length)
      expect(partial.length).toBeGreaterThanOrEqual(3)

      // the person's own message is in the thread, with its line break; the composer is cleared
      expect(await userBubbles(page).last().textContent()).toBe(`[[slow:60]] Tell me a story\n${marker}`)
      expect(await box.inputValue()).toBe('')
      // no Stop button once the reply is done, and Send works again
      expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0)
      await waitForSendEnabled(page)
      expect(posts.length).toBe(1)
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'Stop ends a streaming reply and keeps the partial text',
  async () => {
    await withChat('stop', async (page) => {
      const marker = unique('Please stop me')
      const expected = standardReply(marker, 1)
      await messageBox(page).fill(`[[slow:200]] ${marker}`)
      await sendButton(page).click()

      // wait for a few tokens, then press Stop on that reply
      const bubble = assistantBubbles(page).last()
      await sampleUntil(
        () => readBubble(bubble),
        (s) => s.text.split(' ').length > 3,
        { timeoutMs: 5_000 },
      )
      await bubble.getByRole('button', { name: 'Stop', exact: true }).click()

      const { final } = await settle(page)
      expect(final.status).toBe('stopped')
      expect(await assistantBubbles(page).last().getByText('Stopped.', { exact: true }).isVisible()).toBe(true)
      // the partial text stays: a real start of the reply, not all of it, and no more tokens arrive
      expect(final.text.length).toBeGreaterThan(0)
      expect(final.text.length).toBeLessThan(expected.length)
      expect(expected.startsWith(final.text.trim())).toBe(true)
      await Bun.sleep(500)
      expect(await readBubble(assistantBubbles(page).last())).toEqual(final)
      expect(await page.getByRole('button', { name: 'Stop' }).count()).toBe(0)
      await waitForSendEnabled(page)

      // the Bedrock call itself was aborted, and the metrics say "stopped"
      await eventually(() => expect(requestsFor(marker).map((r) => r.outcome)).toEqual(['aborted']))
      await eventually(async () => {
        const outcomes = (await t.sql<{ outcome: string }>('select outcome from invocations')).map((r) => r.outcome)
        expect(outcomes).toContain('stopped')
      })
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'model output is shown as text, never run',
  async () => {
    await withChat('escaping', async (page) => {
      const payload = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>`
      const loaded: string[] = []
      page.on('request', (r) => loaded.push(new URL(r.url()).pathname))
      await messageBox(page).fill(`[[echo]] [[slow:150]] ${payload}`)
      await messageBox(page).press('Enter')

      // while it streams, and once it is done, the bubble holds text and no element at all
      const bubble = assistantBubbles(page).last()
      const states = await sampleUntil(
        () =>
          bubble.evaluate((el) => ({
            status: el.getAttribute('data-status') ?? '',
            text: (el.querySelector('.msg-text')?.textContent ?? '').trim(),
            // Markdown paragraphs are fine; nothing the model wrote may become an element
            elements: el.querySelectorAll('.msg-text *:not(p):not(.stream-chunk)').length,
          })),
        (s) => s.status !== 'streaming',
      )
      expect(states.at(-1)).toEqual({ status: 'done', text: payload, elements: 0 })
      expect(states.filter((s) => s.status === 'streaming' && s.text !== '').length).toBeGreaterThanOrEqual(1)
      expect(states.every((s) => s.elements === 0)).toBe(true)
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
      expect(await bubble.textContent()).toContain('<script>window.__pwned=2</script>')
      expect(await bubble.locator('b, img, script').count()).toBe(0)
      expect(await userBubbles(page).last().locator('b, img, script').count()).toBe(0)
      expect(loaded).not.toContain('/x')
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'a very long one-line reply streams in whole, wraps inside its bubble and stays in view',
  async () => {
    await withChat('long line', async (page) => {
      // one line of ~11 KB in ~1,800 tokens (under the default max tokens), and a 3,000-character
      // "word" with no break in it
      const line = `${'A long line of words that goes on and on, '.repeat(180)}${'x'.repeat(3000)} and the end.`
      await messageBox(page).fill(`[[echo]] [[slow:1]] ${line}`)
      await messageBox(page).press('Enter')

      const bubble = assistantBubbles(page).last()
      const layout = () =>
        bubble.evaluate((el) => {
          const thread = document.getElementById('thread')!
          return {
            status: el.getAttribute('data-status') ?? '',
            length: (el.querySelector('.msg-text')?.textContent ?? '').trim().length,
            insideViewport: el.getBoundingClientRect().right <= document.documentElement.clientWidth,
            threadScrollsSideways: thread.scrollWidth > thread.clientWidth,
          }
        })
      const states = await sampleUntil(layout, (s) => s.status !== 'streaming', { everyMs: 100, timeoutMs: 12_000 })
      expect(states.some((s) => s.status === 'streaming' && s.length > 0 && s.length < line.length)).toBe(true)
      for (const s of states)
        expect({ insideViewport: s.insideViewport, threadScrollsSideways: s.threadScrollsSideways }).toEqual({
          insideViewport: true,
          threadScrollsSideways: false,
        })
      expect(states.at(-1)).toMatchObject({ status: 'done', length: line.length })
      expect((await readBubble(bubble)).text.trim()).toBe(line)
      // the thread followed the reply down to its end
      await eventually(async () =>
        expect(
          await page.evaluate(() => {
            const thread = document.getElementById('thread')!
            return thread.scrollHeight - thread.scrollTop - thread.clientHeight < 2
          }),
        ).toBe(true),
      )
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'a failed reply says why in the thread',
  async () => {
    await withChat('failure', async (page) => {
      const marker = unique('This will fail')
      await messageBox(page).fill(`[[validation]] ${marker}`)
      await messageBox(page).press('Enter')
      const { final } = await settle(page)
      expect(final.status).toBe('error')

      const failed = assistantBubbles(page).last()
      const alert = failed.getByRole('alert')
      expect(await alert.isVisible()).toBe(true)
      expect(await alert.textContent()).toBe("Bedrock refused the request: The request was rejected by the emulator's [[validation]] directive.")
      await waitForSendEnabled(page)
      // the text box was cleared when the message was accepted
      expect(await messageBox(page).inputValue()).toBe('')

      // the page is still usable: the next message gets its reply
      const next = unique('Try again')
      await messageBox(page).fill(next)
      await sendButton(page).click()
      await eventually(async () => expect(await assistantBubbles(page).count()).toBe(2))
      const again = await settle(page)
      expect(again.final.status).toBe('done')
      expect(again.final.text.startsWith(`Emulated reply to: "${next}".`)).toBe(true)
      // the earlier failure is still explained above it
      expect(await assistantBubbles(page).first().getByRole('alert').isVisible()).toBe(true)
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'saving credentials shows the masked key and never echoes the secret',
  async () => {
    await withChat('credentials', async (page) => {
      const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
      const panel = page.getByRole('region', { name: 'AWS credentials' })
      expect(await panel.textContent()).toContain('server credentials')

      await page.getByLabel('AWS Access Key ID').fill('AKIATESTTESTTEST1234')
      await page.getByLabel('AWS Secret Access Key').fill(secret)
      await page.getByLabel('AWS Region').fill('us-west-2')
      await page.getByRole('button', { name: 'Save credentials' }).click()

      await eventually(async () => expect(await page.locator('#credentials-in-use').textContent()).toContain('AKIA…1234'))
      const shown = await panel.textContent()
      expect(shown).toContain('Using your key AKIA…1234 in us-west-2')
      expect(await panel.getByRole('status').textContent()).toContain('Saved.')
      expect(await page.getByLabel('AWS Secret Access Key').inputValue()).toBe('')
      expect(await page.content()).not.toContain(secret)
      expect(await page.content()).not.toContain('AKIATESTTESTTEST1234')

      // the next reply is asked for with these keys
      const marker = unique('With my own keys')
      await messageBox(page).fill(marker)
      await messageBox(page).press('Enter')
      const { final } = await settle(page)
      expect(final.status).toBe('done')
      expect(requestsFor(marker).map((r) => r.accessKeyId)).toEqual(['AKIATESTTESTTEST1234'])
      expect(await page.content()).not.toContain(secret)
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'a Bedrock API key pasted in the sidebar is masked, used for the next reply, and cleared with Use server credentials',
  async () => {
    await withChat('api key', async (page) => {
      const apiKey = 'ABSKQmVkcm9ja0FQSUtleS1icm93c2VyLWF0LTEyMzQ1Njc4OTAxMjpzZWNyZXQwMDAx'
      const panel = page.getByRole('region', { name: 'AWS credentials' })
      const field = page.getByLabel('Bedrock API key')
      expect(await field.getAttribute('type')).toBe('password')
      await field.fill(apiKey)
      await page.getByRole('button', { name: 'Save credentials' }).click()
      await eventually(async () => expect(await page.locator('#credentials-in-use').textContent()).toContain('your Bedrock API key (long-term)'))
      expect(await page.getByLabel('Bedrock API key').inputValue()).toBe('')
      expect(await page.content()).not.toContain(apiKey)

      const marker = unique('With my own API key')
      await messageBox(page).fill(marker)
      await messageBox(page).press('Enter')
      expect((await settle(page)).final.status).toBe('done')
      expect(requestsFor(marker).map((r) => [r.auth, r.apiKeyFingerprint])).toEqual([['bearer', apiKeyFingerprint(apiKey)]])

      await panel.getByRole('button', { name: 'Use server credentials' }).click()
      await eventually(async () => expect(await page.locator('#credentials-in-use').textContent()).toContain('server credentials'))
      expect(await page.content()).not.toContain(apiKey)
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'switching conversations shows each one, and reload and back keep the right one',
  async () => {
    await withChat('switching', async (page) => {
      const first = unique('first conversation')
      const second = unique('second conversation')
      await messageBox(page).fill(first)
      await messageBox(page).press('Enter')
      expect((await settle(page)).final.status).toBe('done')
      // the new chat took its own address, and the sidebar lists it as the current one
      await eventually(() => expect(new URL(page.url()).pathname).toMatch(/^\/c\/[\w-]+$/))
      const firstUrl = new URL(page.url()).pathname
      const nav = page.getByRole('navigation', { name: 'Conversations' })
      await eventually(async () => expect(await nav.getByRole('link', { name: first }).getAttribute('aria-current')).toBe('page'))

      // New chat: an empty thread; the next message starts a second conversation
      await page.getByRole('link', { name: 'New chat', exact: true }).click()
      await page.waitForURL(server.url + '/')
      expect(await userBubbles(page).count()).toBe(0)
      await messageBox(page).fill(second)
      await sendButton(page).click()
      expect((await settle(page)).final.status).toBe('done')
      await eventually(() => expect(new URL(page.url()).pathname).not.toBe('/'))
      const secondUrl = new URL(page.url()).pathname
      expect(secondUrl).not.toBe(firstUrl)

      // the list now has both, newest first; each link opens its own thread
      await eventually(async () => expect(await nav.getByRole('link').allTextContents()).toEqual([second, first]))
      await nav.getByRole('link', { name: first }).click()
      await page.waitForURL(server.url + firstUrl)
      expect(await userBubbles(page).allTextContents()).toEqual([first])
      await page.goBack()
      await page.waitForURL(server.url + secondUrl)
      expect(await userBubbles(page).allTextContents()).toEqual([second])
      await page.reload()
      expect(await userBubbles(page).allTextContents()).toEqual([second])
      // and a message sent here continues this conversation, not the first
      await messageBox(page).fill('[[echo]] still the second')
      await messageBox(page).press('Enter')
      expect((await settle(page)).final.status).toBe('done')
      expect(new URL(page.url()).pathname).toBe(secondUrl)
      expect(await userBubbles(page).count()).toBe(2)
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'Regenerate, Retry and Edit each stream a new reply in place',
  async () => {
    await withChat('regenerate', async (page) => {
      const text = unique('[[throttle:4]] once more')
      await messageBox(page).fill(text)
      await messageBox(page).press('Enter')
      // three throttled attempts: the reply fails and offers Retry
      expect((await settle(page)).final.status).toBe('error')
      /** Clicks, then waits until the reply it replaces has left the page and the new one settled. */
      const replaceReply = async (click: () => Promise<void>) => {
        const old = await assistantBubbles(page).last().getAttribute('id')
        await click()
        await page.locator(`#${old}`).waitFor({ state: 'detached' })
        return settle(page)
      }
      expect((await replaceReply(() => page.getByRole('button', { name: 'Retry', exact: true }).click())).final.status).toBe('done')
      expect(await assistantBubbles(page).count()).toBe(1)

      const again = await replaceReply(() => page.getByRole('button', { name: 'Regenerate', exact: true }).click())
      expect(again.final.status).toBe('done')
      expect(await assistantBubbles(page).count()).toBe(1)

      const edited = unique('[[echo]] edited words')
      await page.getByText('Edit', { exact: true }).click()
      await page.getByLabel('Edited text').fill(edited)
      const answer = await replaceReply(() => page.getByRole('button', { name: 'Save and ask again' }).click())
      expect(answer.final).toEqual({ status: 'done', text: expect.stringContaining(edited.replace('[[echo]] ', '')) })
      expect(await userBubbles(page).allTextContents()).toEqual([edited])
      await waitForSendEnabled(page)
      // none of these streams was cut short by its own button leaving the page
      expect(t.emulator.requests.filter((r) => JSON.stringify(r.body).includes(text.slice(-9))).map((r) => r.outcome)).not.toContain('aborted')
      expect(requestsFor(edited.slice(-9)).map((r) => r.outcome)).toEqual(['ok'])
    })
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'on a phone-width screen the chat comes first and the settings fold away',
  async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })
    try {
      const page = await context.newPage()
      page.setDefaultTimeout(5_000)
      await page.goto(server.url + '/')
      await page.waitForFunction(() => document.querySelector('.sidebar-more')?.hasAttribute('open') === false)
      expect(await page.getByLabel('AWS Access Key ID').isVisible()).toBe(false)
      expect(await messageBox(page).isVisible()).toBe(true)
      // nothing wider than the screen
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
      await page.getByText('Model, settings and credentials').click()
      expect(await page.getByLabel('AWS Access Key ID').isVisible()).toBe(true)
      await messageBox(page).fill('from a phone')
      await sendButton(page).click()
      expect((await settle(page)).final.status).toBe('done')
    } finally {
      await context.close()
    }
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'with JavaScript off, sending is a normal form post that shows the whole reply',
  async () => {
    const context = await browser.newContext({ javaScriptEnabled: false })
    try {
      const page = await context.newPage()
      page.setDefaultTimeout(5_000)
      await page.goto(server.url + '/')
      const text = unique('no scripts at all')
      await messageBox(page).fill(text)
      await sendButton(page).click()
      await page.waitForURL(/\/c\/[\w-]+/)
      expect(await userBubbles(page).allTextContents()).toEqual([text])
      const reply = assistantBubbles(page).last()
      expect(await reply.getAttribute('data-status')).toBe('done')
      expect(await reply.textContent()).toContain(`Emulated reply to: "${text}"`)
    } finally {
      await context.close()
    }
  },
  TEST_TIMEOUT_MS,
)

browserTest(
  'the pages logged no console errors, uncaught exceptions or CSP violations',
  async () => {
    await expectWatchCatchesInlineScript(browser, server.url + '/')
    // then: nothing in any of the tests above
    expect(problems).toEqual([])
  },
  TEST_TIMEOUT_MS,
)
