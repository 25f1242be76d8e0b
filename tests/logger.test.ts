import { afterEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { configureLogging, forgetSecret, getLogger, LOG_FILE, logFileStatus, registerSecret } from '../src/logger.ts'

const dirs: string[] = []
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-chat-log-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const MB = 1024 * 1024

describe('the log file', () => {
  test('is created with its folder and holds one JSON entry per line', async () => {
    const dir = join(tempDir(), 'nested', 'logs')
    const logging = configureLogging({ logDir: dir, console: false })
    getLogger('test').info('first line', { n: 1 })
    getLogger('test').warn('second\nline with a newline')
    await logging.close()
    const lines = (await Bun.file(join(dir, LOG_FILE)).text()).trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    const entries = lines.map((l) => JSON.parse(l))
    expect(entries[0]).toMatchObject({ message: 'first line', n: 1, level: 'INFO' })
    expect(entries[0]._logMeta.name).toBe('test')
    expect(entries[1]).toMatchObject({ message: 'second\nline with a newline', level: 'WARN' })
  })

  test('rotates at 5 MB and keeps 3 backups, newest in .1', async () => {
    const dir = tempDir()
    const logging = configureLogging({ logDir: dir, console: false })
    const log = getLogger('volume')
    const filler = 'x'.repeat(1000)
    // ~23 MB: enough for four rotations, so the oldest backup must have been dropped
    for (let i = 0; i < 23_000; i++) {
      log.info('filler', { i, filler })
      if (i % 2000 === 0) await Bun.sleep(1)
    }
    await logging.close()
    await Bun.sleep(100)
    const files = readdirSync(dir).sort()
    expect(files).toEqual([LOG_FILE, `${LOG_FILE}.1`, `${LOG_FILE}.2`, `${LOG_FILE}.3`])
    for (const backup of [1, 2, 3]) {
      const size = statSync(join(dir, `${LOG_FILE}.${backup}`)).size
      expect(size).toBeGreaterThan(4.5 * MB)
      expect(size).toBeLessThan(5.2 * MB)
    }
    expect(statSync(join(dir, LOG_FILE)).size).toBeLessThan(5.2 * MB)
    // .1 is newer than .2, which is newer than .3
    const lastIndex = async (f: string) => {
      const text = await Bun.file(join(dir, f)).text()
      const lines = text.trimEnd().split('\n')
      return JSON.parse(lines.at(-1)!).i as number
    }
    const [one, two, three] = [await lastIndex(`${LOG_FILE}.1`), await lastIndex(`${LOG_FILE}.2`), await lastIndex(`${LOG_FILE}.3`)]
    expect(one).toBeGreaterThan(two)
    expect(two).toBeGreaterThan(three)
    expect(existsSync(join(dir, `${LOG_FILE}.4`))).toBe(false)
  }, 60_000)

  test('secrets never reach a line, whatever object is logged', async () => {
    const dir = tempDir()
    const logging = configureLogging({ logDir: dir, console: false })
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
    const token = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD'
    registerSecret(secret)
    registerSecret(token)
    const log = getLogger('leaky')
    log.info('credentials object', { credentials: { accessKeyId: 'AKIAX', secretAccessKey: secret, sessionToken: token } })
    log.info('nested keys', { deep: { SecretAccessKey: secret, SESSIONTOKEN: token } })
    log.info('headers', {
      headers: { Authorization: `AWS4-HMAC-SHA256 Credential=AKIAX/20261127 Signature=abc`, Cookie: 'bc_session=abc', 'x-amz-security-token': token },
    })
    log.error('an error that quotes a secret', new Error(`bad key ${secret}`))
    log.warn(`a plain string with ${secret} and ${token} inside`)
    log.info('a form', { form: `secretAccessKey=${encodeURIComponent(secret)}&x=1` })
    await logging.close()
    const text = await Bun.file(join(dir, LOG_FILE)).text()
    expect(text.trimEnd().split('\n')).toHaveLength(6)
    for (const leaked of [secret, token, encodeURIComponent(secret), 'Signature=abc', 'bc_session=abc']) {
      expect(text.includes(leaked)).toBe(false)
    }
    expect(text).toContain('[***]')
  })

  test("a URL's user name and password never reach a line, and its host still does", async () => {
    const dir = tempDir()
    const logging = configureLogging({ logDir: dir, console: false })
    const log = getLogger('leaky')
    // not registered as secrets: only the URL's shape gives them away
    log.warn('could not reach https://proxyuser:hunter2-unregistered@proxy.example:8080/model', { endpoint: 'http://a:p%40ss@10.0.0.5:4010' })
    log.info('an API key quoted', { detail: 'sent Bearer ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl to the endpoint' })
    await logging.close()
    const text = await Bun.file(join(dir, LOG_FILE)).text()
    for (const leaked of ['hunter2-unregistered', 'proxyuser', 'p%40ss', 'ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl']) {
      expect(text.includes(leaked)).toBe(false)
    }
    expect(text).toContain('https://[***]@proxy.example:8080/model')
    expect(text).toContain('http://[***]@10.0.0.5:4010')
  })
})

describe('saved credentials are masked however many there are', () => {
  /** A secret-access-key-shaped string, different for each `n` (letters, digits, / and +). */
  const secretKey = (n: number) => `wJalrXUtnFEMI/K7MDENG/${String(n).padStart(8, '0')}+bPxRfiCY`
  /** A session-token-shaped string (long base64 with padding), different for each `n`. */
  const sessionToken = (n: number) => `IQoJb3JpZ2luX2VjEJr//////////wEaCXVz${String(n).padStart(8, '0')}${'LWVhc3QtMSJHMEUCIQD'.repeat(20)}==`

  async function logged(dir: string, write: (log: ReturnType<typeof getLogger>) => void) {
    const logging = configureLogging({ logDir: dir, console: false })
    write(getLogger('many'))
    await logging.close()
    return Bun.file(join(dir, LOG_FILE)).text()
  }

  test('with thousands saved, each is masked wherever it appears, and forgetting one unmasks only that one', async () => {
    const saved = Array.from({ length: 3000 }, (_, n) => [secretKey(n), sessionToken(n)]).flat()
    for (const secret of saved) registerSecret(secret)
    try {
      const first = saved[0]!
      const middle = saved[3001]!
      const last = saved.at(-1)!
      const line = (log: ReturnType<typeof getLogger>) => {
        log.info(`${first} at the start, ${middle} in the middle and the last at the end ${last}`)
        log.info('inside other text', { url: `https://example.test/keys/${middle}/x`, pair: `k=${first}&t=${last}`, escaped: `\n${last}` })
      }
      const before = await logged(tempDir(), line)
      for (const secret of [first, middle, last]) expect(before.includes(secret)).toBe(false)
      expect(before.match(/\[\*\*\*\]/g)?.length).toBe(7)

      forgetSecret(middle)
      const after = await logged(tempDir(), line)
      expect(after).toContain(`${middle} in the middle`)
      expect(after).toContain(`/keys/${middle}/x`)
      for (const secret of [first, last]) expect(after.includes(secret)).toBe(false)
      expect(after.match(/\[\*\*\*\]/g)?.length).toBe(5)
    } finally {
      for (const secret of saved) forgetSecret(secret)
    }
  })

  test('credentials saved in two sessions stay masked until both have forgotten them', async () => {
    const secret = secretKey(99_999)
    registerSecret(secret)
    registerSecret(secret)
    forgetSecret(secret)
    expect((await logged(tempDir(), (log) => log.info(`still held: ${secret}`))).includes(secret)).toBe(false)
    forgetSecret(secret)
    expect(await logged(tempDir(), (log) => log.info(`now forgotten: ${secret}`))).toContain(secret)
  })

  test('of two saved secrets where one begins the other, the longer is masked whole', async () => {
    const short = secretKey(7)
    const long = `${short}AndMoreOfTheToken0123456789`
    registerSecret(short)
    registerSecret(long)
    try {
      const text = await logged(tempDir(), (log) => log.info(`token ${long} end`))
      expect(text).toContain('token [***] end')
    } finally {
      forgetSecret(short)
      forgetSecret(long)
    }
  })
})

describe('the log comes back by itself', () => {
  const settle = () => Bun.sleep(50)
  const read = (path: string) => Bun.file(path).text()

  test('after logrotate renames the file, new lines go to a new file under the name', async () => {
    const dir = tempDir()
    const logging = configureLogging({ logDir: dir, console: false })
    const log = getLogger('rotate')
    log.info('before the rename')
    await settle()
    renameSync(join(dir, LOG_FILE), join(dir, `${LOG_FILE}.rotated`))
    await logging.check()
    log.info('after the rename')
    await settle()
    await logging.close()
    expect(await read(join(dir, `${LOG_FILE}.rotated`))).not.toContain('after the rename')
    expect(await read(join(dir, LOG_FILE))).toContain('after the rename')
  })

  test('after its folder is deleted, the folder and file are made again', async () => {
    const dir = join(tempDir(), 'logs')
    const logging = configureLogging({ logDir: dir, console: false })
    getLogger('gone').info('before')
    await settle()
    rmSync(dir, { recursive: true, force: true })
    await logging.check()
    getLogger('gone').info('after the folder went')
    await settle()
    await logging.close()
    expect(await read(join(dir, LOG_FILE))).toContain('after the folder went')
  })

  test('while it cannot be written, lines are held, then written once it can be again', async () => {
    const parent = tempDir()
    const dir = join(parent, 'logs')
    const logging = configureLogging({ logDir: dir, console: false })
    getLogger('fault').info('first')
    await settle()
    // the folder's place taken by a file: nothing can be written there
    rmSync(dir, { recursive: true, force: true })
    writeFileSync(dir, 'not a folder')
    await logging.check()
    expect(logFileStatus()?.ok).toBe(false)
    getLogger('fault').info('during the fault')
    await settle()
    rmSync(dir, { force: true })
    await logging.check()
    await settle()
    getLogger('fault').info('after the fault')
    await settle()
    await logging.close()
    const text = await read(join(dir, LOG_FILE))
    expect(text).toContain('during the fault')
    expect(text).toContain('after the fault')
  })
})
