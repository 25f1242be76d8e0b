// `bun run emulator [--port N] [--host H] [--token-delay MS]`
// Env: EMULATOR_PORT (default 4010), EMULATOR_HOST (default 127.0.0.1),
// EMULATOR_TOKEN_DELAY_MS (default 30, so a demo visibly streams).
import { parseArgs } from 'node:util'
import { startEmulator } from './server.ts'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'token-delay': { type: 'string' },
  },
  allowPositionals: true,
})

function numberSetting(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) {
    console.error(`bedrock emulator: ${name} must be a non-negative integer, got "${raw}"`)
    process.exit(2)
  }
  return value
}

const emulator = await startEmulator({
  port: numberSetting('port', values.port ?? process.env.EMULATOR_PORT, 4010),
  host: values.host ?? process.env.EMULATOR_HOST ?? '127.0.0.1',
  tokenDelayMs: numberSetting('token delay', values['token-delay'] ?? process.env.EMULATOR_TOKEN_DELAY_MS, 30),
})
console.log(`Bedrock emulator listening on ${emulator.url}`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await emulator.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop())
process.on('SIGTERM', () => void stop())
