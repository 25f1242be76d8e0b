import { expect } from 'bun:test'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { eventually } from './helpers.ts'

/**
 * Debian's Chromium (`apt-get install -y chromium`); playwright's own browsers are not downloaded.
 * CHROMIUM_PATH overrides it (e.g. to check the skip and the CI failure without uninstalling).
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

export const hasChromium = existsSync(CHROMIUM_PATH)
export const inCI = process.env.CI === 'true'
/** Skipped on a developer machine without Chromium; in CI a missing browser is a failure, never a skip. */
export const skipBrowserTests = !hasChromium && !inCI

if (skipBrowserTests) {
  console.warn(
    `[browser tests] skipped: no Chromium at ${CHROMIUM_PATH}. Install it with \`apt-get install -y chromium\` to run them (CI=true makes this a failure).`,
  )
}

export async function launchBrowser(): Promise<Browser> {
  if (!hasChromium) {
    throw new Error(`No Chromium at ${CHROMIUM_PATH}: the browser tests cannot run (CI must install it: apt-get install -y chromium).`)
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
}

/** One problem a page reported: a console error, an uncaught exception or a CSP violation. */
export type PageProblem = { test: string; kind: 'console' | 'pageerror' | 'csp' | 'http'; text: string }

/**
 * Listens for everything a page should never report: console errors, uncaught exceptions and
 * Content-Security-Policy violations (reported from inside the page, so none is missed even when
 * the browser does not log it as a console message).
 */
export async function watchProblems(context: BrowserContext, page: Page, test: string, into: PageProblem[]) {
  await context.exposeBinding('__reportCspViolation', (_source, text: string) => {
    into.push({ test, kind: 'csp', text })
  })
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __reportCspViolation?: (t: string) => void }).__reportCspViolation
      report?.(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`)
    })
  })
  page.on('console', (msg) => {
    if (msg.type() === 'error') into.push({ test, kind: 'console', text: msg.text() })
  })
  // a failed load's console message does not say which URL: record the response too
  page.on('response', (res) => {
    if (res.status() >= 400) into.push({ test, kind: 'http', text: `${res.status()} ${res.request().method()} ${res.url()}` })
  })
  page.on('pageerror', (err) => {
    into.push({ test, kind: 'pageerror', text: String(err) })
  })
}

/**
 * Proves the watch works before a test trusts its silence: on the page at `url` (once `ready`
 * says it is), an inline script must be reported as a CSP violation and must not run. Returns
 * everything the watch saw there.
 */
export async function expectWatchCatchesInlineScript(browser: Browser, url: string, ready?: (page: Page) => Promise<void>): Promise<PageProblem[]> {
  const control: PageProblem[] = []
  const context = await browser.newContext()
  try {
    const page = await context.newPage()
    await watchProblems(context, page, 'control', control)
    await page.goto(url)
    await ready?.(page)
    await page.evaluate(() => {
      const s = document.createElement('script')
      s.textContent = 'window.__inline = 1'
      document.body.append(s)
    })
    await eventually(() => expect(control.some((p) => p.kind === 'csp')).toBe(true))
    expect(await page.evaluate(() => (window as unknown as { __inline?: number }).__inline)).toBeUndefined()
    return control
  } finally {
    await context.close()
  }
}

/** Samples `read` every `everyMs` until `done` says stop (or time runs out); returns distinct values in order. */
export async function sampleUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, { everyMs = 25, timeoutMs = 10_000 } = {}): Promise<T[]> {
  const seen: T[] = []
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (seen.length === 0 || JSON.stringify(seen.at(-1)) !== JSON.stringify(value)) seen.push(value)
    if (done(value)) return seen
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms; last value: ${JSON.stringify(value)}`)
    await Bun.sleep(everyMs)
  }
}
