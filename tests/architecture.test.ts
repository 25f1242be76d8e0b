import { describe, expect, test } from 'bun:test'
import { Glob } from 'bun'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = join(import.meta.dir, '..')

async function sources(pattern: string) {
  const files: { path: string; text: string }[] = []
  for await (const path of new Glob(pattern).scan({ cwd: ROOT })) {
    files.push({ path, text: await Bun.file(join(ROOT, path)).text() })
  }
  expect(files.length).toBeGreaterThan(0)
  return files
}

/** Every module a file names: imports, re-exports and dynamic imports, type-only ones marked. */
function imports(text: string): { spec: string; typeOnly: boolean }[] {
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm),
  ]
  return found.map((m) => ({ spec: m[2] ?? m[3] ?? m[4]!, typeOnly: Boolean(m[1]) }))
}

/**
 * The project's own import graph (src and views), by path from the root: with type imports (what
 * a module depends on) or without (what it loads when it runs).
 */
async function importGraph({ runtimeOnly = false } = {}): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>()
  for (const { path, text } of [...(await sources('src/**/*.{ts,tsx}')), ...(await sources('views/**/*.tsx'))]) {
    const targets = imports(text)
      .filter((i) => i.spec.startsWith('.') && !(runtimeOnly && i.typeOnly))
      .map((i) => relative(ROOT, resolve(ROOT, dirname(path), i.spec)))
    graph.set(path, targets)
  }
  return graph
}

/** Everything a module reaches through the graph, directly or not. */
function reachable(graph: Map<string, string[]>, from: string): Set<string> {
  const seen = new Set<string>()
  const stack = [from]
  while (stack.length) {
    const next = stack.pop()!
    if (seen.has(next)) continue
    seen.add(next)
    stack.push(...(graph.get(next) ?? []))
  }
  return seen
}

/** Import circles, each as the files along it (Tarjan's strongly connected components). */
function circles(graph: Map<string, string[]>): string[][] {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

const FEATURES = ['src/services/chat/', 'src/services/metrics/', 'src/services/dashboard/', 'src/services/markdown/', 'src/services/discovery/']

describe('the module map holds', () => {
  test('views import nothing at run time from src (types only)', async () => {
    for (const { path, text } of await sources('views/**/*.tsx')) {
      for (const { spec, typeOnly } of imports(text)) {
        if (spec.includes('/src/') || spec.startsWith('../src')) expect({ path, spec, typeOnly }).toEqual({ path, spec, typeOnly: true })
        expect(spec.includes('drizzle') || spec.includes('bun:sqlite') || spec.includes('@aws-sdk')).toBe(false)
      }
    }
  })

  test('only the two Bedrock clients import the AWS SDK (the runtime for replies, the control plane for the model list)', async () => {
    const offenders = (await sources('src/**/*.{ts,tsx}'))
      .filter((f) => !f.path.startsWith('src/emulator/'))
      .filter((f) => imports(f.text).some((i) => i.spec.startsWith('@aws-sdk/') || i.spec.startsWith('@smithy/')))
      .map((f) => f.path)
    expect(offenders.sort()).toEqual(['src/services/chat/bedrock.ts', 'src/services/discovery/control-plane.ts'])
  })

  test('routes never touch drizzle, bun:sqlite or the SDK', async () => {
    for (const { path, text } of await sources('src/routes/**/*.{ts,tsx}')) {
      for (const { spec } of imports(text)) {
        expect({ path, bad: /drizzle|bun:sqlite|@aws-sdk|@smithy/.test(spec) }).toEqual({ path, bad: false })
      }
    }
  })

  test('only src/db opens the database', async () => {
    const offenders = (await sources('src/**/*.{ts,tsx}')).filter((f) => /from ['"]bun:sqlite['"]|drizzle-orm\/bun-sqlite/.test(f.text)).map((f) => f.path)
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

describe('the layout holds', () => {
  test('there are no import circles anywhere, type imports included', async () => {
    expect(circles(await importGraph())).toEqual([])
  })

  test('the metrics and dashboard side import nothing from the chat side', async () => {
    const graph = await importGraph()
    const offenders = [...graph]
      .filter(([path]) => path.startsWith('src/services/metrics/') || path.startsWith('src/services/dashboard/'))
      .flatMap(([path, targets]) => targets.filter((t) => t.startsWith('src/services/chat/')).map((t) => `${path} → ${t}`))
    expect(offenders).toEqual([])
  })

  test('the standalone dashboard process loads none of the chat (its services, routes or views)', async () => {
    const loaded = [...reachable(await importGraph({ runtimeOnly: true }), 'src/dashboard.ts')]
    expect(loaded.filter((p) => p.startsWith('src/services/chat/') || p === 'src/routes/chat.tsx' || p === 'views/chat.tsx')).toEqual([])
    expect(loaded).toContain('src/services/metrics/index.ts')
  })

  test('a feature folder is entered only through its face (index.ts), and by the read threads through its read face (reads.ts)', async () => {
    const face = (path: string, f: string) => [`${f}index.ts`, ...(path === 'src/services/reads.ts' ? [`${f}reads.ts`] : [])]
    const offenders = [...(await importGraph())].flatMap(([path, targets]) =>
      targets.filter((t) => FEATURES.some((f) => t.startsWith(f) && !path.startsWith(f) && !face(path, f).includes(t))).map((t) => `${path} → ${t}`),
    )
    expect(offenders).toEqual([])
  })

  test('routes are sub-apps: no route imports another, and nothing below the routes imports one', async () => {
    const offenders = [...(await importGraph())].flatMap(([path, targets]) =>
      targets
        .filter((t) => t.startsWith('src/routes/') && path !== 'src/app.ts' && path !== 'src/dashboard-app.ts' && path !== 'src/http/base-app.ts')
        .map((t) => `${path} → ${t}`),
    )
    expect(offenders).toEqual([])
  })
})

describe('format', () => {
  test('the code is formatted the way the formatter writes it (bun run format)', () => {
    const result = Bun.spawnSync([join(ROOT, 'node_modules/.bin/biome'), 'format', '--reporter=summary', ROOT], { cwd: ROOT })
    const output = result.stdout.toString() + result.stderr.toString()
    expect({ exitCode: result.exitCode, unformatted: result.exitCode === 0 ? '' : output }).toEqual({ exitCode: 0, unformatted: '' })
  }, 60_000)
})

describe('types', () => {
  test('the whole project type-checks (tsc --noEmit, strict)', () => {
    const result = Bun.spawnSync([join(ROOT, 'node_modules/.bin/tsc'), '--noEmit', '-p', ROOT], { cwd: ROOT })
    const output = result.stdout.toString() + result.stderr.toString()
    expect(output).toBe('')
    expect(result.exitCode).toBe(0)
  }, 120_000)
})
