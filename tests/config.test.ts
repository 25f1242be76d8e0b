import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config.ts'

const ROOT = join(import.meta.dir, '..')

describe('configuration', () => {
  test('defaults match the documented contract', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      AWS_REGION: 'us-east-1',
      METRICS_DB_PATH: 'metrics/metrics.db',
      LOG_DIR: 'logs',
      FIRST_TOKEN_TIMEOUT_MS: 60_000,
      TOKEN_IDLE_TIMEOUT_MS: 30_000,
    })
    expect(config.BEDROCK_MODEL_ID).toContain('anthropic.claude')
    expect(config.AWS_ENDPOINT_URL_BEDROCK_RUNTIME).toBeUndefined()
  })

  test.each([
    ['PORT', 'abc', 'Invalid PORT="abc": expected a port number from 0 to 65535'],
    ['PORT', '70000', 'Invalid PORT="70000": expected a port number from 0 to 65535'],
    ['AWS_REGION', 'mars', 'Invalid AWS_REGION="mars": expected an AWS region name such as us-east-1'],
    ['AWS_ENDPOINT_URL_BEDROCK_RUNTIME', 'localhost:4010', 'Invalid AWS_ENDPOINT_URL_BEDROCK_RUNTIME="localhost:4010": expected an http:// or https:// URL'],
    ['HOST', 'not a host', 'Invalid HOST="not a host": expected a host name or IP address to bind, such as 127.0.0.1'],
    ['LOG_LEVEL', 'loud', 'Invalid LOG_LEVEL="loud": expected one of debug, info, warn, error'],
    ['FIRST_TOKEN_TIMEOUT_MS', 'a minute', 'Invalid FIRST_TOKEN_TIMEOUT_MS="a minute": expected a whole number of milliseconds from 1000 to 3600000'],
    ['FIRST_TOKEN_TIMEOUT_MS', '500', 'Invalid FIRST_TOKEN_TIMEOUT_MS="500": expected a whole number of milliseconds from 1000 to 3600000'],
    [
      'METRICS_DB_PATH',
      ':memory:',
      'Invalid METRICS_DB_PATH=":memory:": expected a file path, not :memory: (the server and its writer thread share the database, so it must be a file)',
    ],
    ['TOKEN_IDLE_TIMEOUT_MS', '2.5', 'Invalid TOKEN_IDLE_TIMEOUT_MS="2.5": expected a whole number of milliseconds from 1000 to 3600000'],
  ])('a bad %s (%s) is refused with one line naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new ConfigError(message))
  })

  test('a refused endpoint URL is quoted without its user name and password', () => {
    expect(() => loadConfig({ AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'ftp://user:secretpass@proxy:21' })).toThrow(
      new ConfigError('Invalid AWS_ENDPOINT_URL_BEDROCK_RUNTIME="ftp://proxy:21": expected an http:// or https:// URL'),
    )
  })

  test('a bad environment value stops start-up with one clear line and nothing created', async () => {
    const dir = `/tmp/bedrock-chat-config-${crypto.randomUUID()}`
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'three thousand', METRICS_DB_PATH: `${dir}/m.db`, LOG_DIR: `${dir}/logs` },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const code = await proc.exited
    const stderr = await new Response(proc.stderr).text()
    expect(code).toBe(2)
    expect(stderr).toBe('Invalid PORT="three thousand": expected a port number from 0 to 65535\n')
    expect(await Bun.file(`${dir}/m.db`).exists()).toBe(false)
  })
})
