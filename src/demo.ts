// `bun run demo`: the app wired to a Bedrock emulator it starts itself, so everything works with
// no AWS account. The app runs as its own process, exactly as `bun start` runs it, with the SDK's
// standard endpoint override pointing at the emulator and demo server credentials.
import { join } from 'node:path'
import { startEmulator } from './emulator/server.ts'

const ROOT = join(import.meta.dir, '..')
const emulatorPort = Number(process.env.EMULATOR_PORT ?? 4010)

const emulator = await startEmulator({ port: emulatorPort, tokenDelayMs: 30 }).catch(() =>
  // the usual port is taken (another emulator?): any free one will do
  startEmulator({ port: 0, tokenDelayMs: 30 }),
)
console.log(`Demo: Bedrock emulator on ${emulator.url} (no AWS account needed)`)

const app = Bun.spawn(['bun', join(ROOT, 'src/index.ts')], {
  cwd: ROOT,
  env: {
    ...process.env,
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: emulator.url,
    // the control plane too: the Model select lists the emulator's account models
    AWS_ENDPOINT_URL_BEDROCK: emulator.url,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'AKIADEMODEMODEMO0000',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'demoSecretKeyThatOnlyTheEmulatorSees00',
  },
  stdout: 'inherit',
  stderr: 'inherit',
})
console.log('Demo: try a message with [[slow:200]], [[throttle:2]], [[midstream]] or [[validation]] in it to see streaming, retries and errors.')

let stopping = false
async function stop(code: number) {
  if (stopping) return
  stopping = true
  app.kill('SIGTERM')
  await app.exited
  await emulator.close()
  process.exit(code)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))
app.exited.then((code) => void stop(code ?? 1))
