// A fault drill, not a test: freezes the file system under the database (fsfreeze) for 8 s while
// a reply streams, and prints whether /healthz, a page and the stream went on meanwhile, and what
// was saved after the thaw. Needs root and a file system of its own to freeze, e.g.:
//   dd if=/dev/zero of=/tmp/freeze.img bs=1M count=64 && mkfs.ext4 -q /tmp/freeze.img
//   mkdir -p /mnt/freeze && mount -o loop /tmp/freeze.img /mnt/freeze
//   bun bench/drills/disk-freeze.ts /mnt/freeze
import { join } from 'node:path'
import { startEmulator } from '../../src/emulator/server.ts'

const mount = process.argv[2]
if (!mount) throw new Error('usage: bun bench/drills/disk-freeze.ts <mount point of a file system to freeze>')
const repo = join(import.meta.dir, '..', '..')
const dir = join(mount, `run-${Date.now()}`)
const emulator = await startEmulator({ port: 0 })
const port = 38000 + Math.floor(Math.random() * 1000)
const app = Bun.spawn(['bun', `${repo}/src/index.ts`], {
  cwd: repo,
  env: {
    ...process.env,
    PORT: String(port),
    METRICS_DB_PATH: `${dir}/metrics.db`,
    LOG_DIR: `/tmp/freeze-logs-${port}`,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.url,
    AWS_ACCESS_KEY_ID: 'AKIADEMODEMODEMO0000',
    AWS_SECRET_ACCESS_KEY: 'demoSecretKeyThatOnlyTheEmulatorSees00',
  },
  stdout: 'pipe',
  stderr: 'inherit',
})
const base = `http://127.0.0.1:${port}`
for (let i = 0; i < 100; i++) {
  try {
    await fetch(`${base}/healthz`)
    break
  } catch {
    await Bun.sleep(100)
  }
}
const first = await fetch(`${base}/`)
const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!
await first.text()
const send = (text: string) =>
  fetch(`${base}/c/new/messages`, {
    method: 'POST',
    headers: { Cookie: cookie, Origin: base, 'HX-Request': 'true', 'HX-Request-Type': 'partial', 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ message: text }),
  })
const res = await send('freeze [[slow:100]] [[tokens:120]]')
let events = 0
const t0 = performance.now()
const gaps: number[] = []
let last = performance.now()
const reading = (async () => {
  const dec = new TextDecoder()
  for await (const chunk of res.body!) {
    const s = dec.decode(chunk)
    const n = (s.match(/\n\n/g) ?? []).length
    if (n) {
      const now = performance.now()
      gaps.push(now - last)
      last = now
      events += n
    }
  }
})()
await Bun.sleep(1500)
console.log('freezing at', Math.round(performance.now() - t0), 'ms; events so far', events)
Bun.spawnSync(['fsfreeze', '-f', mount])
const probes: string[] = []
const frozenAt = performance.now()
// each probe from a process of its own (curl, 5 s limit, awaited so this process's stream reading
// and emulator go on meanwhile): a page the database cannot answer gets its 503 after READ_TIMEOUT_MS
const probe = async (path: string) => {
  const curl = Bun.spawn(['curl', '-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code} %{time_total}', '-H', `Cookie: ${cookie}`, `${base}${path}`])
  const [code, seconds] = (await new Response(curl.stdout).text()).split(' ')
  return `${code === '000' ? 'no answer' : code} in ${Math.round(Number(seconds) * 1000)} ms`
}
while (performance.now() - frozenAt < 8000) {
  const [health, page] = await Promise.all([probe('/healthz'), probe('/')])
  probes.push(`+${Math.round(performance.now() - frozenAt)} ms: /healthz ${health}; / ${page}; stream events so far ${events}`)
  await Bun.sleep(500)
}
Bun.spawnSync(['fsfreeze', '-u', mount])
console.log(probes.join('\n'))
console.log('unfrozen; max gap between stream events during run:', Math.round(Math.max(...gaps)), 'ms')
await reading
console.log('stream ended at', Math.round(performance.now() - t0), 'ms, events', events)
await Bun.sleep(2500)
const { Database } = await import('bun:sqlite')
const db = new Database(`${dir}/metrics.db`, { readonly: true })
console.log(db.query("select status, length(text) as len from messages where role='assistant'").all(), db.query('select count(*) as n from invocations').get())
app.kill('SIGTERM')
await app.exited
await emulator.close()
