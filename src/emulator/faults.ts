// Fault directives: `[[name]]` or `[[name:N]]` inside the LAST user message
// choose how the emulator misbehaves for that one request, so parallel tests
// sharing one emulator do not interfere with each other.

export interface Faults {
  /** First N attempts answer 429 ThrottlingException. */
  throttle: number
  /** First N attempts answer 503 ServiceUnavailableException. */
  unavailable: number
  /** First N attempts answer 500 InternalServerException. */
  internal: number
  validation: boolean
  access: boolean
  profile: boolean
  timeout: boolean
  notfound: boolean
  /** A request with a Bedrock API key (Bearer) is refused as Bedrock refuses an expired or invalid key. */
  badkey: boolean
  /** With a guardrailConfig in the request, the guardrail intervenes: its message, stopReason guardrail_intervened. */
  guardrail: boolean
  midstream: boolean
  drop: boolean
  reasoning: boolean
  long: boolean
  echo: boolean
  /** Milliseconds between tokens (overrides the server-wide tokenDelayMs). */
  slowMs: number | null
  /** Milliseconds before the first token. */
  firstDelayMs: number
  /** A reply of exactly this many word tokens (load tests), or null for the usual reply. */
  tokens: number | null
  /** After this many text deltas (0: straight after the 200), bytes that are no event stream; null for none. */
  malformedAfter: number | null
  /** After this many text deltas (0: as the first message), a prelude claiming a 4 GiB message; null for none. */
  hugeFrameAfter: number | null
}

export const DIRECTIVES = [
  'throttle:N',
  'unavailable:N',
  'internal:N',
  'validation',
  'access',
  'profile',
  'timeout',
  'notfound',
  'badkey',
  'guardrail',
  'midstream',
  'drop',
  'slow:MS',
  'firstdelay:MS',
  'reasoning',
  'long',
  'echo',
  'tokens:N',
  'malformed:N',
  'hugeframe:N',
] as const

const DIRECTIVE_RE = /\[\[([a-z]+)(?::(\d+))?\]\]/gi

export function noFaults(): Faults {
  return {
    throttle: 0,
    unavailable: 0,
    internal: 0,
    validation: false,
    access: false,
    profile: false,
    timeout: false,
    notfound: false,
    badkey: false,
    guardrail: false,
    midstream: false,
    drop: false,
    reasoning: false,
    long: false,
    echo: false,
    slowMs: null,
    firstDelayMs: 0,
    tokens: null,
    malformedAfter: null,
    hugeFrameAfter: null,
  }
}

export interface ParsedDirectives {
  faults: Faults
  /** The directives found, as written (lower-cased), e.g. ["throttle:1", "echo"]. */
  names: string[]
  /** The text with every recognised directive removed (unknown `[[x]]` are kept). */
  text: string
}

/** Parse the directives in one message text. Counts default to 1 (`[[throttle]]` = `[[throttle:1]]`). */
export function parseDirectives(text: string): ParsedDirectives {
  const faults = noFaults()
  const names: string[] = []
  const stripped = text.replace(DIRECTIVE_RE, (whole, rawName: string, rawArg: string | undefined) => {
    const name = rawName.toLowerCase()
    const arg = rawArg === undefined ? null : Number(rawArg)
    if (!apply(faults, name, arg)) return whole
    names.push(arg === null ? name : `${name}:${arg}`)
    return ''
  })
  return { faults, names, text: stripped }
}

function apply(faults: Faults, name: string, arg: number | null): boolean {
  const count = arg ?? 1
  switch (name) {
    case 'throttle':
      faults.throttle = count
      return true
    case 'unavailable':
      faults.unavailable = count
      return true
    case 'internal':
      faults.internal = count
      return true
    case 'slow':
      faults.slowMs = arg ?? 100
      return true
    case 'firstdelay':
      faults.firstDelayMs = arg ?? 1000
      return true
    case 'tokens':
      faults.tokens = Math.max(1, arg ?? 200)
      return true
    case 'malformed':
      faults.malformedAfter = arg ?? 0
      return true
    case 'hugeframe':
      faults.hugeFrameAfter = arg ?? 0
      return true
    case 'validation':
    case 'access':
    case 'profile':
    case 'timeout':
    case 'notfound':
    case 'badkey':
    case 'guardrail':
    case 'midstream':
    case 'drop':
    case 'reasoning':
    case 'long':
    case 'echo':
      faults[name] = true
      return true
    default:
      return false
  }
}
