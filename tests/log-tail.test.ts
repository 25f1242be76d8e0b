import { afterEach, describe, expect, test } from 'bun:test'
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOG_FILE } from '../src/logger.ts'
import { createLogTail, lastLines } from '../src/services/dashboard/log-tail.ts'

const dirs: string[] = []
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'bedrock-chat-tail-'))
  dirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const entry = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ message: `line ${i}`, level: 'INFO', time: '2026-11-27T10:00:00.000Z', n: i, ...extra, _logMeta: { name: 'test' } }) + '\n'

describe('the recent log', () => {
  test('shows the last 20 lines, oldest first, parsed into time, level, name and fields', () => {
    const dir = tempDir()
    writeFileSync(join(dir, LOG_FILE), Array.from({ length: 50 }, (_, i) => entry(i)).join(''))
    const { lines, error } = createLogTail(dir).tail(20)
    expect(error).toBeUndefined()
    expect(lines.map((l) => l.message)).toEqual(Array.from({ length: 20 }, (_, i) => `line ${30 + i}`))
    expect(lines[0]).toEqual({ time: '2026-11-27T10:00:00.000Z', level: 'INFO', name: 'test', message: 'line 30', fields: [['n', '30']] })
  })

  test('leaves out a half-written last line', () => {
    const dir = tempDir()
    writeFileSync(join(dir, LOG_FILE), entry(1) + entry(2) + '{"message":"line 3 still being wri')
    const { lines } = createLogTail(dir).tail(20)
    expect(lines.map((l) => l.message)).toEqual(['line 1', 'line 2'])
  })

  test('reads on into the newest backup just after a rotation', () => {
    const dir = tempDir()
    writeFileSync(join(dir, `${LOG_FILE}.2`), Array.from({ length: 30 }, (_, i) => entry(i)).join(''))
    writeFileSync(join(dir, `${LOG_FILE}.1`), Array.from({ length: 30 }, (_, i) => entry(100 + i)).join(''))
    writeFileSync(join(dir, LOG_FILE), entry(200) + entry(201) + entry(202))
    const { lines } = createLogTail(dir).tail(20)
    expect(lines.map((l) => l.message)).toEqual([...Array.from({ length: 17 }, (_, i) => `line ${113 + i}`), 'line 200', 'line 201', 'line 202'])
  })

  test('an empty live file right after rotation still shows the backup', () => {
    const dir = tempDir()
    writeFileSync(join(dir, `${LOG_FILE}.1`), entry(7) + entry(8))
    writeFileSync(join(dir, LOG_FILE), '')
    expect(
      createLogTail(dir)
        .tail(20)
        .lines.map((l) => l.message),
    ).toEqual(['line 7', 'line 8'])
  })

  test('a missing log is reported, not thrown', () => {
    const { lines, error } = createLogTail(join(tempDir(), 'nowhere')).tail(20)
    expect(lines).toEqual([])
    expect(error).toContain('No log yet')
  })

  test('lines that are not ours, and text with markup, come back as plain text', () => {
    const dir = tempDir()
    writeFileSync(join(dir, LOG_FILE), 'plain <b>text</b> line\n' + entry(1, { model: '<script>x</script>' }))
    const { lines } = createLogTail(dir).tail(20)
    expect(lines[0]).toEqual({ message: 'plain <b>text</b> line', fields: [] })
    expect(lines[1]!.fields).toContainEqual(['model', '<script>x</script>'])
  })

  test('reads from the end of a large file, across chunk boundaries and multi-byte characters', () => {
    const dir = tempDir()
    const path = join(dir, LOG_FILE)
    const big = 'é'.repeat(40_000)
    writeFileSync(path, '')
    for (let i = 0; i < 200; i++) appendFileSync(path, entry(i, { big }))
    const lines = lastLines(path, 20)
    expect(lines).toHaveLength(20)
    expect(JSON.parse(lines[0]!).message).toBe('line 180')
    expect(JSON.parse(lines[19]!).big).toBe(big)
  })

  test('the change token moves when the log is written', () => {
    const dir = tempDir()
    const tail = createLogTail(dir)
    expect(tail.changeToken()).toBe('missing')
    writeFileSync(join(dir, LOG_FILE), entry(1))
    const first = tail.changeToken()
    expect(tail.changeToken()).toBe(first)
    appendFileSync(join(dir, LOG_FILE), entry(2))
    expect(tail.changeToken()).not.toBe(first)
  })
})
