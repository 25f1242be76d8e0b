import { describe, expect, test } from 'bun:test'
import { Glob } from 'bun'
import { join, relative } from 'node:path'

const ROOT = join(import.meta.dir, '..')

async function sources(pattern: string) {
  const files: { path: string; text: string }[] = []
  for await (const path of new Glob(pattern).scan({ cwd: ROOT })) {
    files.push({ path, text: await Bun.file(join(ROOT, path)).text() })
  }
  expect(files.length).toBeGreaterThan(0)
  return files
}

function imports(text: string): { spec: string; typeOnly: boolean }[] {
  return [...text.matchAll(/^\s*import\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => ({
    spec: m[2] ?? m[3]!,
    typeOnly: Boolean(m[1]),
  }))
}

describe('the module map holds', () => {
  test('views import nothing at run time from src (types only)', async () => {
    for (const { path, text } of await sources('views/**/*.tsx')) {
      for (const { spec, typeOnly } of imports(text)) {
        if (spec.includes('/src/') || spec.startsWith('../src')) expect({ path, spec, typeOnly }).toEqual({ path, spec, typeOnly: true })
        expect(spec.includes('drizzle') || spec.includes('bun:sqlite') || spec.includes('@aws-sdk')).toBe(false)
      }
    }
  })

  test('only the Bedrock service imports the AWS SDK', async () => {
    const offenders = (await sources('src/**/*.{ts,tsx}'))
      .filter((f) => !f.path.startsWith('src/emulator/'))
      .filter((f) => imports(f.text).some((i) => i.spec.startsWith('@aws-sdk/') || i.spec.startsWith('@smithy/')))
      .map((f) => f.path)
    expect(offenders).toEqual(['src/services/chat/bedrock.ts'])
  })

  test('routes never touch drizzle, bun:sqlite or the SDK', async () => {
    for (const { path, text } of await sources('src/routes/**/*.{ts,tsx}')) {
      for (const { spec } of imports(text)) {
        expect({ path, bad: /drizzle|bun:sqlite|@aws-sdk|@smithy/.test(spec) }).toEqual({ path, bad: false })
      }
    }
  })

  test('only src/db opens the database', async () => {
    const offenders = (await sources('src/**/*.{ts,tsx}'))
      .filter((f) => /from ['"]bun:sqlite['"]|drizzle-orm\/bun-sqlite/.test(f.text))
      .map((f) => f.path)
    expect(offenders.every((p) => p.startsWith('src/db/'))).toBe(true)
  })

  test('only src/config.ts (and the emulator and demo launchers) read the environment', async () => {
    const offenders = (await sources('src/**/*.{ts,tsx}'))
      .filter((f) => /process\.env|Bun\.env/.test(f.text))
      .map((f) => relative('', f.path))
      .filter((p) => !['src/config.ts', 'src/emulator/main.ts', 'src/demo.ts'].includes(p))
    expect(offenders).toEqual([])
  })

  test('no stray console output in the app outside the logger (the emulator is its own program)', async () => {
    const allowed = ['src/logger.ts', 'src/demo.ts']
    const offenders = (await sources('src/**/*.{ts,tsx}'))
      .filter((f) => /\bconsole\.(log|info|debug|warn|error)\(/.test(f.text))
      .map((f) => f.path)
      .filter((p) => !allowed.includes(p) && !p.startsWith('src/emulator/'))
    expect(offenders).toEqual([])
  })
})

describe('types', () => {
  test('the whole project type-checks (tsc --noEmit, strict)', () => {
    const result = Bun.spawnSync([join(ROOT, 'node_modules/.bin/tsc'), '--noEmit', '-p', ROOT], { cwd: ROOT })
    const output = result.stdout.toString() + result.stderr.toString()
    expect(output).toBe('')
    expect(result.exitCode).toBe(0)
  }, 120_000)
})
