import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export const ROOT = join(import.meta.dir, '..', '..')

export type Started = {
  url: string
  pid: number
  /** Resident memory now and its peak since start (MiB), from /proc. */
  memory(): { rssMiB: number; peakMiB: number }
  stop(): Promise<void>
}

function statusField(pid: number, field: string): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? Number.NaN)
  return Number((kb / 1024).toFixed(1))
}

/**
 * Starts `bun <args>` as its own process and waits for the line that says where it listens.
 * Only the process started here is ever stopped (by its PID, SIGTERM then SIGKILL).
 */
export async function startBun(args: string[], options: { env?: Record<string, string>; ready: RegExp; timeoutMs?: number }): Promise<Started> {
  const proc = Bun.spawn([process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  // a benchmark stopped early (Ctrl-C, a time limit) takes its servers with it
  const orphan = () => proc.kill('SIGKILL')
  process.once('exit', orphan)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  const reader = proc.stdout.getReader()
  const decoder = new TextDecoder()
  let seen = ''
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  let url: string | undefined
  while (!url) {
    const chunk = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => null)])
    if (!chunk || chunk.done) {
      proc.kill('SIGKILL')
      throw new Error(`${args.join(' ')} did not say it was ready: ${seen.slice(-500)}`)
    }
    seen += decoder.decode(chunk.value, { stream: true })
    url = seen.match(options.ready)?.[1]
  }
  // keep draining its output so it never blocks on a full pipe
  void (async () => {
    for (;;) if ((await reader.read()).done) break
  })().catch(() => {})
  return {
    url: url.replace(/\/$/, ''),
    pid: proc.pid,
    memory: () => ({ rssMiB: statusField(proc.pid, 'VmRSS'), peakMiB: statusField(proc.pid, 'VmHWM') }),
    async stop() {
      process.off('exit', orphan)
      if (proc.exitCode !== null) return
      proc.kill('SIGTERM')
      const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(5000).then(() => false)])
      if (!exited) proc.kill('SIGKILL')
      await proc.exited
    },
  }
}

/** The Bedrock emulator as its own process. */
export function startEmulatorProcess(tokenDelayMs = 0): Promise<Started> {
  return startBun(['src/emulator/main.ts', '--port', '0', '--token-delay', String(tokenDelayMs)], { ready: /listening on (http:\/\/\S+)/ })
}

/** The credentials every benchmark process signs with (only the emulator sees them). */
export const BENCH_CREDENTIALS = { accessKeyId: 'AKIABENCHBENCH000001', secretAccessKey: 'benchSecretKeyOnlyTheEmulatorSees00000' }

/** The app as `bun start` runs it, on a scratch database and log folder, pointed at the emulator. */
export function startApp(emulatorUrl: string, dir: string, env: Record<string, string> = {}): Promise<Started> {
  // BENCH_PROFILE_DIR=/tmp/prof: the app writes a Markdown CPU profile there when it stops
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof-md', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []
  return startBun([...profile, 'src/index.ts'], {
    env: {
      PORT: '0',
      METRICS_DB_PATH: join(dir, 'metrics.db'),
      LOG_DIR: join(dir, 'logs'),
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulatorUrl,
      AWS_ENDPOINT_URL_BEDROCK: emulatorUrl,
      AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      // the concurrency case runs 1,000 replies at once: past the default cap (256), which is what it measures beyond
      MAX_CONCURRENT_CALLS: 'off',
      ...env,
    },
    ready: /Bedrock Chat on (http:\/\/\S+)/,
  })
}

/** The floor for the chat: a bare Bun.serve relay of the same SDK stream (bench/relay.ts). */
export function startRelay(emulatorUrl: string): Promise<Started> {
  return startBun(['bench/relay.ts'], {
    env: {
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulatorUrl,
      AWS_ENDPOINT_URL_BEDROCK: emulatorUrl,
      AWS_ACCESS_KEY_ID: BENCH_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: BENCH_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
    ready: /relay on (http:\/\/\S+)/,
  })
}
