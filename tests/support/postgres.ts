import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { chownSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'

/**
 * Real PostgreSQL servers for tests: a throwaway cluster in a temporary folder (initdb, trust
 * authentication, 127.0.0.1 on a free port plus a Unix socket in the same folder), started by
 * this process and stopped by its PID. Nothing is installed or configured on the machine.
 *
 * Most tests want `testDatabase()`: one server per `bun test` run (bun runs every file in one
 * process), started the first time a file asks, and a fresh database (CREATE DATABASE) per call,
 * so each file starts empty and the suite pays for initdb once (about a second). The shared
 * server stops when the process ends (see startReaper). `startPostgres()` is a server of one's own.
 */

/** Where PostgreSQL's server programs live: Debian/Ubuntu, Homebrew, the source build's default, then PATH. */
function binDirCandidates(): string[] {
  const versioned = (root: string, prefix = '') =>
    existsSync(root)
      ? readdirSync(root)
          .filter((d) => d.startsWith(prefix) && /\d/.test(d))
          .sort((a, b) => Number.parseInt(b.replace(/\D+/g, ''), 10) - Number.parseInt(a.replace(/\D+/g, ''), 10))
          .map((d) => join(root, d, 'bin'))
      : []
  // POSTGRES_BIN names the one folder to use (POSTGRES_BIN=/nowhere shows what a machine without PostgreSQL sees)
  if (process.env.POSTGRES_BIN) return [process.env.POSTGRES_BIN]
  const fromPath = Bun.which('initdb')
  return [
    ...(fromPath ? [join(fromPath, '..')] : []),
    ...versioned('/usr/lib/postgresql'),
    ...versioned('/opt/homebrew/opt', 'postgresql@'),
    ...versioned('/usr/local/opt', 'postgresql@'),
    '/usr/local/pgsql/bin',
  ]
}

function findBinDir(): string | undefined {
  return binDirCandidates().find((dir) => ['initdb', 'postgres'].every((p) => existsSync(join(dir, p))))
}

/** Whether this machine can run the PostgreSQL tests (its server programs were found). */
export function postgresAvailable(): boolean {
  return findBinDir() !== undefined
}

/** The line a developer sees when the PostgreSQL tests are skipped, and CI's failure message. */
export const POSTGRES_MISSING =
  'PostgreSQL server programs (initdb, postgres) not found in $POSTGRES_BIN, PATH or /usr/lib/postgresql/*/bin: ' +
  'install PostgreSQL (apt-get install postgresql) to run these tests'

/**
 * Whether a test file should skip its PostgreSQL tests: only where PostgreSQL is missing and this
 * is not CI. In CI (CI=true) the tests run and fail with POSTGRES_MISSING instead, so a broken CI
 * image can never pass by skipping. Prints the skip line once per file that asks.
 */
export function skipWithoutPostgres(file: string): boolean {
  if (postgresAvailable()) return false
  if (process.env.CI === 'true') return false
  console.warn(`skipping ${file}: ${POSTGRES_MISSING}`)
  return true
}

/**
 * initdb and postgres refuse to run as root: as root, run them as the `postgres` system user
 * (Debian's package creates it), as anyone else, as oneself.
 */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error('running as root, and there is no `postgres` user to run the PostgreSQL server as')
  const [, , uid, gid] = line.split(':')
  return { uid: Number(uid), gid: Number(gid) }
}

/** A free TCP port on 127.0.0.1 (the kernel's pick; released just before the server binds it). */
function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = probe
  probe.stop(true)
  return port
}

function run(cmd: string[], user: ReturnType<typeof serverUser>, timeoutMs: number): void {
  const result = Bun.spawnSync(cmd, { ...user, timeout: timeoutMs, stdout: 'pipe', stderr: 'pipe' })
  if (result.exitCode !== 0) {
    throw new Error(`${cmd[0]} failed (exit ${result.exitCode ?? 'timeout'}): ${result.stderr.toString()}${result.stdout.toString()}`)
  }
}

/** postmaster.pid's eighth line is the server's state; "ready" once it accepts connections. */
function serverReady(dataDir: string): boolean {
  try {
    return readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[7]?.trim() === 'ready'
  } catch {
    return false
  }
}

export type PostgresServer = {
  /** postgres://postgres@127.0.0.1:<port>/test: a database created for the caller. */
  url: string
  /** The URL of database `name` on this server (the `postgres` database is the maintenance one). */
  urlOf(name: string): string
  port: number
  pid: number
  /** Stops the server (by its PID: fast shutdown, then SIGKILL after 10 s) and removes its folder. */
  stop(): Promise<void>
}

const START_TIMEOUT_MS = 30_000

/**
 * A watcher that outlives this process by a moment: a shell reading a pipe from us. When the pipe
 * closes (the test run ended, crashed or was killed, none of which runs an exit handler under
 * `bun test`), it shuts the server down by its PID (immediate shutdown), waits up to 10 s for it
 * to go and removes its folder. It checks postmaster.pid first, so a PID reused after stop() is
 * never signalled. Ctrl-C reaches it too (same process group): it ignores SIGINT and cleans up.
 */
function startReaper(pid: number, dir: string) {
  const script = [
    "trap '' INT",
    'cat >/dev/null',
    '[ -e "$2/data/postmaster.pid" ] && kill -QUIT "$1" 2>/dev/null',
    'n=0; while [ -e "$2/data/postmaster.pid" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done',
    'rm -rf "$2"',
  ].join('\n')
  const reaper = Bun.spawn(['sh', '-c', script, 'reaper', String(pid), dir], { stdin: 'pipe', stdout: 'ignore', stderr: 'ignore' })
  reaper.unref()
  return reaper
}

export type StartPostgresOptions = {
  /** Server settings (`name=value`) over the tests' own: the benchmarks give PostgreSQL its default memory. */
  settings?: string[]
}

/**
 * Creates a cluster in a new temporary folder, starts it and creates database `test`. Fast and
 * unsafe settings (fsync off): the data is thrown away. Fails with the server's log when it does
 * not accept connections within 30 s.
 */
export async function startPostgres({ settings = [] }: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = findBinDir()
  if (!bin) throw new Error(POSTGRES_MISSING)
  const user = serverUser()
  const dir = mkdtempSync(join(tmpdir(), 'pg-test-'))
  const dataDir = join(dir, 'data')
  const socketDir = join(dir, 'socket')
  mkdirSync(socketDir)
  if (user) for (const path of [dir, socketDir]) chownSync(path, user.uid, user.gid)
  try {
    run(
      [
        join(bin, 'initdb'),
        '-D',
        dataDir,
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
        `--locale=${process.platform === 'darwin' ? 'en_US.UTF-8' : 'C.UTF-8'}`,
        '--no-sync',
        '--no-instructions',
      ],
      user,
      START_TIMEOUT_MS,
    )
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }

  const port = freePort()
  const logFile = join(dir, 'server.log')
  const server = Bun.spawn(
    [
      join(bin, 'postgres'),
      '-D',
      dataDir,
      '-k',
      socketDir,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      // throwaway data: no durability, and no more memory than a test needs
      // (a setting given twice: the last one counts)
      ...['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'shared_buffers=32MB', 'max_connections=500', ...settings].flatMap((s) => ['-c', s]),
    ],
    { ...user, stdin: 'ignore', stdout: Bun.file(logFile), stderr: Bun.file(logFile) },
  )
  // the test run must be able to end while the server runs; stop() and the exit handler end it
  server.unref()

  const reaper = startReaper(server.pid, dir)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    reaper.kill()
    if (server.exitCode === null && server.signalCode === null) {
      process.kill(server.pid, 'SIGINT') // fast shutdown: disconnects clients, no waiting for them
      const exited = await Promise.race([server.exited.then(() => true), Bun.sleep(10_000).then(() => false)])
      if (!exited) {
        process.kill(server.pid, 'SIGKILL')
        await server.exited
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }

  const until = Date.now() + START_TIMEOUT_MS
  while (!serverReady(dataDir)) {
    if (server.exitCode !== null || Date.now() > until) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''
      await stop()
      throw new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS} ms (exit ${server.exitCode}):\n${log}`)
    }
    await Bun.sleep(25)
  }

  const urlOf = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`
  const admin = postgres(urlOf('postgres'), { max: 1, onnotice: () => {} })
  try {
    await admin`CREATE DATABASE test`
  } finally {
    await admin.end({ timeout: 5 })
  }
  return { url: urlOf('test'), urlOf, port, pid: server.pid, stop }
}

export type TestDatabase = {
  /** postgres://…/<a new, empty database> */
  url: string
  /** Drops the database (after closing every connection to it). */
  drop(): Promise<void>
}

/** One server per process, started on first use; kept on globalThis in case a module is loaded twice. */
const SHARED = Symbol.for('bedrock-chat.tests.postgres')
type Shared = { server: Promise<PostgresServer>; databases: number }
const holder = globalThis as { [SHARED]?: Shared }

/** The shared server; it is never stopped here: its reaper stops it when the test run's process ends. */
function sharedServer(): Shared {
  holder[SHARED] ??= { server: startPostgres(), databases: 0 }
  return holder[SHARED]
}

/**
 * A new, empty database on the run's shared server (started the first time this is called).
 * Each call creates its own, so test files never see each other's rows.
 */
export async function testDatabase(): Promise<TestDatabase> {
  const shared = sharedServer()
  const server = await shared.server
  const name = `t${process.pid}_${++shared.databases}`
  const admin = postgres(server.urlOf('postgres'), { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end({ timeout: 5 })
  }
  return {
    url: server.urlOf(name),
    async drop() {
      const admin = postgres(server.urlOf('postgres'), { max: 1, onnotice: () => {} })
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await admin.end({ timeout: 5 })
      }
    },
  }
}
