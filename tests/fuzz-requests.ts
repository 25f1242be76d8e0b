/**
 * Odd requests for tests/fuzz.test.ts, built from a seeded generator so a failure can be replayed:
 * every route of the contract (docs/CONTRACT.md, "HTTP"), with random and hostile methods, paths,
 * query strings, headers, cookies and bodies. Building a request draws only from the generator;
 * the ids it names (a real conversation, reply, file, cookie) are filled in when it is sent.
 */

/** Every route of the contract, as the app spells it. */
export const ROUTES = [
  ['GET', '/'],
  ['GET', '/c/:id'],
  ['POST', '/c/:id/messages'],
  ['GET', '/c/:id/replies/:replyId'],
  ['POST', '/c/:id/regenerate'],
  ['POST', '/c/:id/edit'],
  ['POST', '/replies/:replyId/stop'],
  ['POST', '/c/:id/rename'],
  ['GET', '/c/:id/delete'],
  ['POST', '/c/:id/delete'],
  ['POST', '/c/:id/settings'],
  ['GET', '/search'],
  ['GET', '/c/:id/attachments/:attachmentId'],
  ['POST', '/credentials'],
  ['POST', '/credentials/clear'],
  ['POST', '/models/refresh'],
  ['GET', '/signin'],
  ['POST', '/signin'],
  ['POST', '/signout'],
  ['GET', '/dashboard'],
  ['GET', '/dashboard/stream'],
  ['GET', '/dashboard/invocations'],
  ['GET', '/dashboard/invocations.csv'],
  ['GET', '/metrics'],
  ['GET', '/health'],
  ['GET', '/healthz'],
  ['GET', '/public/app.css'],
] as const

/** The routes that start a reply: the deepest path through the app, so asked for more often. */
const REPLY_ROUTES = ROUTES.filter(([method, path]) => method === 'POST' && /messages|regenerate|edit/.test(path))

/** What a fuzzed request may name, resolved when it is sent: the fuzzing browser's own things. */
export type Known = {
  conversation: string
  /** A second conversation of the same browser: the one Delete is sent for, so the first stays. */
  doomed: string
  reply: string
  attachment: string
  cookie: string
  otherCookie: string
  origin: string
}

/** A value that is either literal or one of the known things. */
type Value = string | { known: keyof Known }

export type FuzzRequest = {
  method: string
  /** Path segments, each already as it goes on the wire (so `%E0%A4%A` stays malformed). */
  segments: Value[]
  query: string
  headers: [string, Value][]
  body?:
    | { kind: 'text'; type?: string; text: string }
    | { kind: 'bytes'; type?: string; bytes: Uint8Array<ArrayBuffer> }
    | { kind: 'form'; type?: string; fields: [string, FieldValue][] }
}

type FieldValue = string | { file: string; name: string; type: string; bytes: Uint8Array<ArrayBuffer> }

type Rng = () => number

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!
const chance = (rng: Rng, p: number) => rng() < p
const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1))

/**
 * The emulator obeys directives such as `[[slow:5000]]` in a message: none may reach it from a
 * fuzzed value, or the run would wait on the emulator instead of testing the app.
 */
export function withoutDirectives(text: string): string {
  return text.replace(/\[\[/g, '[ [')
}

/** Strings that have broken servers: encodings, controls, injections, numbers that are not. */
const HOSTILE = [
  '',
  ' ',
  '%',
  '%%',
  '%ZZ',
  '%E0%A4%A',
  '%00',
  '%0d%0a',
  '%0A',
  '%C0%AF',
  '%FF',
  '%ED%A0%80',
  '%u0041',
  '..',
  '..%2f..%2fetc%2fpasswd',
  '%2e%2e',
  '.',
  '\u0000',
  'a\u0000b',
  '\r\nSet-Cookie: x=1',
  '\u0007\u001b[31m',
  '\u007f',
  '\u202eevil',
  '\ud800',
  '😀',
  'Ωμέγα',
  '<script>alert(1)</script>',
  '"\'><img src=x onerror=alert(1)>',
  '${{7*7}}',
  '{"a":1}',
  '[]',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '1e309',
  '0x10',
  '9'.repeat(400),
  'a'.repeat(3000),
  'new',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  "' OR 1=1 --",
  'SELECT * FROM messages',
  'message*',
  '"unterminated',
  'AND OR NOT',
  'NEAR(',
  '[[slow:60000]] [[firstdelay:60000]]',
]

const WORDS = ['hello', 'fuzz', 'tokens', 'Bedrock', 'café', 'résumé', 'naïve', 'zebra', 'quiet', 'river', 'lamp', '42']

function words(rng: Rng): string {
  return Array.from({ length: int(rng, 1, 6) }, () => pick(rng, WORDS)).join(' ')
}

/** Valid-looking values for each form field the app knows, and the hostile ones for any. */
const FIELD_VALUES: Record<string, (rng: Rng) => string> = {
  message: (rng) => pick(rng, [words(rng), '', '   ', `${words(rng)}\r\n${words(rng)}`, 'x'.repeat(100_001), `tab\tseparated`]),
  modelId: (rng) => pick(rng, ['', 'custom', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0', 'not a model']),
  customModelId: (rng) => pick(rng, ['', 'anthropic.claude-3-haiku-20240307-v1:0', 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/x', 'x']),
  title: (rng) => pick(rng, [words(rng), '', 'line one\nline two', 't'.repeat(500)]),
  systemPrompt: (rng) => pick(rng, ['', words(rng), 's'.repeat(20_001)]),
  temperature: (rng) => pick(rng, ['0.5', '0', '1', '', '2', '-1', 'abc', '1e309', ' 0.3 ']),
  maxTokens: (rng) => pick(rng, ['100', '1', '0', '200001', '1.5', '', '64000', '4096']),
  thinking: (rng) => pick(rng, ['on', 'off', '']),
  thinkingBudget: (rng) => pick(rng, ['1024', '2048', '999999', '', '1023.5']),
  accessKeyId: (rng) => pick(rng, ['AKIAFUZZFUZZFUZZFUZZ', 'ASIAFUZZFUZZFUZZFUZZ', 'akia', '']),
  secretAccessKey: (rng) => pick(rng, ['fuzzSecretKeyForTests000000000000000000', 'short', '']),
  sessionToken: (rng) => pick(rng, ['', 'FwoGZXIvYXdzEFuzzToken==', 'not a token!']),
  apiKey: (rng) =>
    pick(rng, ['', 'ABSKQmVkcm9ja0FQSUtleS1mdXp6MDAwMDAwMDE=', 'bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249Q2FsbA==', 'ABSK', 'sk-not-a-key']),
  region: (rng) => pick(rng, ['', 'us-east-1', 'eu-west-3', 'mars-1']),
  password: (rng) => pick(rng, ['', 'wrong password', 'p'.repeat(2000)]),
  next: (rng) => pick(rng, ['/', '/c/new', '//evil.example', 'https://evil.example/', '/\\evil', '/search?q=a']),
  q: (rng) => pick(rng, [words(rng), '', 'q'.repeat(201), '"', 'hello*', 'NEAR(a b)', '-', '^']),
  range: (rng) => pick(rng, ['15m', '1h', '6h', '24h', '7d', '1y', '']),
  page: (rng) => pick(rng, ['1', '2', '0', '-1', '99999999999', 'x']),
  pageSize: (rng) => pick(rng, ['10', '25', '100', '0', '1000000']),
  sort: (rng) => pick(rng, ['timestamp', 'latency', 'ttft', 'input_tokens', 'output_tokens', 'model', 'outcome', 'nope']),
  dir: (rng) => pick(rng, ['asc', 'desc', 'up']),
  outcome: (rng) => pick(rng, ['', 'ok', 'error', 'stopped', 'maybe']),
  model: (rng) => pick(rng, ['', 'anthropic.claude-3-haiku-20240307-v1:0', 'x']),
}

const FIELDS = Object.keys(FIELD_VALUES)

/** A value each field takes as it is: most of an ordinary request's fields have one. */
const VALID: Record<string, (rng: Rng) => string> = {
  message: words,
  modelId: (rng) => pick(rng, ['', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'anthropic.claude-3-haiku-20240307-v1:0']),
  customModelId: () => '',
  title: words,
  systemPrompt: (rng) => pick(rng, ['', words(rng)]),
  temperature: () => '0.5',
  maxTokens: () => '2000',
  thinking: () => '',
  thinkingBudget: () => '',
  accessKeyId: () => 'AKIAFUZZFUZZFUZZFUZZ',
  secretAccessKey: () => 'fuzzSecretKeyForTests000000000000000000',
  sessionToken: () => '',
  apiKey: () => '',
  region: () => 'us-east-1',
  password: () => 'not the password',
  next: () => '/',
  q: words,
  range: () => '1h',
  page: () => '1',
  pageSize: () => '25',
  sort: () => 'timestamp',
  dir: () => 'desc',
  outcome: () => '',
  model: () => '',
}

/** The fields a route's form or query string reads (any route may get any of them too). */
const ROUTE_FIELDS: Record<string, string[]> = {
  '/c/:id/messages': ['message', 'modelId', 'customModelId'],
  '/c/:id/regenerate': ['modelId', 'customModelId'],
  '/c/:id/edit': ['message', 'modelId', 'customModelId'],
  '/c/:id/rename': ['title'],
  '/c/:id/settings': ['systemPrompt', 'temperature', 'maxTokens', 'thinking', 'thinkingBudget'],
  '/credentials': ['accessKeyId', 'secretAccessKey', 'sessionToken', 'apiKey', 'region'],
  '/models/refresh': ['modelId', 'customModelId'],
  '/signin': ['password', 'next'],
  '/search': ['q'],
  '/dashboard': ['range', 'page', 'pageSize', 'sort', 'dir', 'outcome', 'model'],
  '/dashboard/stream': ['range'],
  '/dashboard/invocations': ['range', 'page', 'pageSize', 'sort', 'dir', 'outcome', 'model'],
  '/dashboard/invocations.csv': ['range', 'sort', 'dir', 'outcome', 'model'],
}

function fieldValue(rng: Rng, field: string): string {
  const make = Object.hasOwn(FIELD_VALUES, field) ? FIELD_VALUES[field] : undefined
  return withoutDirectives(make && chance(rng, 0.75) ? make(rng) : pick(rng, HOSTILE))
}

function fieldName(rng: Rng, fields: string[]): string {
  if (fields.length > 0 && chance(rng, 0.8)) return pick(rng, fields)
  return chance(rng, 0.7) ? pick(rng, FIELDS) : pick(rng, ['files', 'files[]', 'message[]', 'a.b', '', '__proto__', 'x'.repeat(300), '\u0000', 'naïve'])
}

/** Form fields for a route: its own (sometimes each twice), plus strays. */
function formFields(rng: Rng, fields: string[]): [string, string][] {
  const out: [string, string][] = []
  for (const f of fields) if (chance(rng, 0.8)) out.push([f, fieldValue(rng, f)])
  for (let i = int(rng, 0, 3); i > 0; i--) out.push([fieldName(rng, fields), fieldValue(rng, '')])
  if (out.length > 0 && chance(rng, 0.15)) {
    const [name] = pick(rng, out)
    out.push([name, fieldValue(rng, name)])
  }
  return out
}

/** How a value goes on the wire in a query string or urlencoded body: usually encoded, sometimes raw. */
function encoded(rng: Rng, text: string): string {
  const raw = text.replace(/[&#]/g, '')
  if (!chance(rng, 0.85)) return raw
  try {
    return encodeURIComponent(text)
  } catch {
    return raw // a lone surrogate has no encoding
  }
}

function queryString(rng: Rng, fields: string[]): string {
  if (chance(rng, 0.3)) return ''
  if (chance(rng, 0.05)) return `?${'q=' + 'z'.repeat(int(rng, 5_000, 20_000))}`
  const pairs = formFields(rng, fields).map(([k, v]) => `${encoded(rng, k)}=${encoded(rng, v)}`)
  if (chance(rng, 0.1)) pairs.push(pick(rng, ['%E0%A4%A', 'q=%', '=', '&&&', 'a=%00', 'q=%0d%0a', 'q=%FF%FE']))
  return pairs.length ? `?${pairs.join('&')}` : chance(rng, 0.5) ? '?' : ''
}

const TINY_PNG = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='), (c) =>
  c.charCodeAt(0),
)

function file(rng: Rng): FieldValue {
  return pick(rng, [
    { file: 'files', name: 'note.txt', type: 'text/plain', bytes: new TextEncoder().encode(withoutDirectives(words(rng))) },
    { file: 'files', name: 'dot.png', type: 'image/png', bytes: TINY_PNG },
    { file: 'files', name: 'lies.pdf', type: 'application/pdf', bytes: new TextEncoder().encode('%PDF-1.7 not really') },
    { file: 'files', name: '', type: 'application/octet-stream', bytes: new Uint8Array() },
    { file: 'files', name: '../../etc/passwd', type: 'text/plain', bytes: Uint8Array.of(0xff, 0xfe, 0x00) },
    { file: pick(rng, ['message', 'title', 'modelId']), name: 'field.txt', type: 'text/plain', bytes: new TextEncoder().encode('a file where text belongs') },
  ])
}

const FORM = 'application/x-www-form-urlencoded'

function body(rng: Rng, fields: string[]): FuzzRequest['body'] {
  const roll = rng()
  if (roll < 0.45) {
    const text = formFields(rng, fields)
      .map(([k, v]) => `${encoded(rng, k)}=${encoded(rng, v)}`)
      .join('&')
    return { kind: 'text', type: pick(rng, [FORM, FORM, FORM, `${FORM};charset=UTF-8`, undefined, 'text/plain', 'application/json']), text }
  }
  if (roll < 0.7) {
    const parts: [string, FieldValue][] = formFields(rng, fields)
    for (let i = chance(rng, 0.5) ? int(rng, 1, 3) : 0; i > 0; i--) parts.push(['files', file(rng)])
    return {
      kind: 'form',
      type: pick(rng, [undefined, undefined, undefined, 'multipart/form-data', `multipart/form-data; boundary=wrong`, FORM]),
      fields: parts,
    }
  }
  if (roll < 0.8) {
    const json = JSON.stringify(Object.fromEntries(formFields(rng, fields)))
    return { kind: 'text', type: pick(rng, ['application/json', 'text/plain', 'application/csp-report', FORM, undefined]), text: json }
  }
  if (roll < 0.9) {
    const text = pick(rng, [
      '--x\r\nContent-Disposition: form-data; name="message"\r\n\r\nno end',
      '--x\r\nContent-Disposition: form-data\r\n\r\n\r\n--x--\r\n',
      '--x--',
      '',
      'message=%E0%A4%A',
      'message=a%00b',
      'message=a&message=b',
      'title=%0d%0aInjected: yes',
      '=&=&=',
      'a'.repeat(2000),
    ])
    return {
      kind: 'text',
      type: pick(rng, ['multipart/form-data; boundary=x', 'multipart/form-data', FORM, 'multipart/mixed; boundary=x', 'text/plain', undefined]),
      text,
    }
  }
  if (roll < 0.97) {
    const bytes = Uint8Array.from({ length: int(rng, 0, 600) }, () => (chance(rng, 0.5) ? int(rng, 0, 255) : int(rng, 0x20, 0x5a)))
    return { kind: 'bytes', type: pick(rng, [FORM, 'multipart/form-data; boundary=x', 'application/octet-stream', undefined, 'garbage']), bytes }
  }
  // far over any form's limit: a few megabytes of a message
  return { kind: 'text', type: pick(rng, [FORM, 'multipart/form-data; boundary=x']), text: `message=${'m'.repeat(int(rng, 2_000_000, 4_000_000))}` }
}

function segmentValue(rng: Rng, param: string): Value {
  if (chance(rng, 0.55)) {
    if (param === 'id') return chance(rng, 0.7) ? { known: 'conversation' } : 'new'
    return { known: param === 'replyId' ? 'reply' : 'attachment' }
  }
  return pick(rng, ['b1946ac9-2c1d-4f5e-9f3a-000000000000', 'x', ...HOSTILE.filter((h) => !/[?#/]/.test(h))])
}

/** A path piece that has broken servers: an encoding, a control character, a dot, a name too long for a file system. */
function hostileSegment(rng: Rng): string {
  if (chance(rng, 0.15)) return 'x'.repeat(int(rng, 256, 5000))
  if (chance(rng, 0.5)) return pick(rng, ['%00', 'a%00b', '%0A', '%0D%0A', '%1B', '%7F', '%E0%A4%A', '%FF', '%ZZ', '%'])
  return pick(rng, ['extra', '..', '.', '%2e%2e', '%2F', ...HOSTILE]).replace(/[/?#]/g, '')
}

/** A route's path, with its parameters filled in, and now and then a piece added, replaced or all of it hostile. */
function segments(rng: Rng, path: string): Value[] {
  const out: Value[] = path
    .split('/')
    .slice(1)
    .map((s) => (s.startsWith(':') ? segmentValue(rng, s.slice(1)) : s))
  const roll = rng()
  if (roll < 0.05) out.push('')
  else if (roll < 0.17) out.push(hostileSegment(rng))
  else if (roll < 0.25) out[out.length - 1] = hostileSegment(rng)
  else if (roll < 0.28)
    out.splice(0, out.length, ...Array.from({ length: int(rng, 1, 5) }, () => pick(rng, [...HOSTILE, 'c', 'public', 'dashboard']).replace(/[/?#]/g, '')))
  else if (roll < 0.3) out.splice(0, out.length, 'c', 'x'.repeat(int(rng, 3000, 12_000)))
  return out
}

const COOKIES: Value[] = [
  { known: 'cookie' },
  { known: 'cookie' },
  { known: 'otherCookie' },
  'bc_session=garbage',
  'bc_session=%E0%A4%A',
  'bc_session=s%3Aforged.signature',
  'bc_session=; bc_session=twice',
  `bc_session=${'c'.repeat(5000)}`,
  Array.from({ length: 60 }, (_, i) => `c${i}=${'v'.repeat(60)}`).join('; '),
  '=; ;;; =x',
]

function headers(rng: Rng): [string, Value][] {
  const out: [string, Value][] = []
  const origin = rng()
  if (origin < 0.6) out.push(['Origin', { known: 'origin' }])
  else if (origin < 0.85) out.push(['Origin', pick(rng, ['https://evil.example', 'null', '', 'http://localhost:1', 'garbage', 'http://127.0.0.1'])])
  if (chance(rng, 0.15)) out.push(['Sec-Fetch-Site', pick(rng, ['same-origin', 'cross-site', 'same-site', 'none', 'nonsense'])])
  if (chance(rng, 0.5)) {
    out.push(['HX-Request', pick(rng, ['true', 'true', 'false', 'TRUE', '1'])])
    if (chance(rng, 0.8)) out.push(['HX-Request-Type', pick(rng, ['partial', 'partial', 'full', 'odd'])])
  }
  if (chance(rng, 0.75)) out.push(['Cookie', pick(rng, COOKIES)])
  if (chance(rng, 0.2)) out.push(['Accept', pick(rng, ['text/html', 'text/event-stream', '*/*', 'application/json', ';;;'])])
  if (chance(rng, 0.15)) out.push(['Referer', pick(rng, ['http://localhost/c/new', 'https://evil.example/', 'not a url', 'http://localhost/%E0%A4%A'])])
  if (chance(rng, 0.1)) out.push(['Authorization', pick(rng, ['Bearer x', 'Basic Zm9vOmJhcg==', 'Bearer'])])
  if (chance(rng, 0.05)) out.push(['X-Fuzz', 'h'.repeat(int(rng, 4_000, 40_000))])
  if (chance(rng, 0.05)) out.push(['Host', pick(rng, ['evil.example', 'localhost', '127.0.0.1:1'])])
  return out
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'PROPFIND', 'get']

/** A request anything may be wrong with: a route of the contract, then random methods, pieces and bodies. */
function wildRequest(rng: Rng): FuzzRequest {
  const [routeMethod, path] = pick(rng, ROUTES)
  const method = chance(rng, 0.6) ? routeMethod : pick(rng, METHODS)
  const fields = ROUTE_FIELDS[path] ?? []
  const canHaveBody = method.toUpperCase() !== 'GET' && method.toUpperCase() !== 'HEAD'
  return {
    method,
    segments: segments(rng, path),
    query: queryString(rng, routeMethod === 'GET' ? fields : []),
    headers: headers(rng),
    body: canHaveBody && chance(rng, 0.85) ? body(rng, fields) : undefined,
  }
}

/** A path parameter naming one of the browser's own things: or, now and then, a new chat or nothing. */
function ownValue(rng: Rng, param: string): Value {
  if (chance(rng, 0.05)) return 'b1946ac9-2c1d-4f5e-9f3a-000000000000'
  if (param === 'id') return chance(rng, 0.2) ? 'new' : { known: 'conversation' }
  return { known: param === 'replyId' ? 'reply' : 'attachment' }
}

/** One thing wrong with an otherwise ordinary form: each reaches further in than a wild request. */
const MUTATIONS: ((rng: Rng, fields: [string, FieldValue][]) => void)[] = [
  (rng, fields) => fields.length > 0 && fields.push([...pick(rng, fields)]),
  (rng, fields) => fields.length > 0 && (pick(rng, fields)[1] = withoutDirectives(pick(rng, HOSTILE))),
  (rng, fields) =>
    fields.length > 0 && (pick(rng, fields)[1] = `${words(rng)}${pick(rng, ['\u0000', '\u001b', '\r\n', '\t', '\u007f', '\u0085'])}${words(rng)}`),
  (rng, fields) => fields.push([pick(rng, FIELDS), fieldValue(rng, '')]),
  (rng, fields) => fields.push(['files', file(rng)]),
]

/**
 * An ordinary request of a person's browser (this site's origin, the owner's cookie, the route's
 * own method and fields with plausible values), with at most one thing wrong: it gets past the
 * early refusals into the validators, the conversation lookups and the replies.
 */
function nearlyValidRequest(rng: Rng): FuzzRequest {
  const [method, path] = chance(rng, 0.2) ? pick(rng, REPLY_ROUTES) : pick(rng, ROUTES)
  const fields = ROUTE_FIELDS[path] ?? []
  const values = (): [string, FieldValue][] =>
    fields.filter(() => chance(rng, 0.9)).map((f) => [f, withoutDirectives((chance(rng, 0.7) ? VALID : FIELD_VALUES)[f]!(rng))])
  const headers: [string, Value][] = [
    ['Origin', { known: 'origin' }],
    ['Cookie', { known: chance(rng, 0.9) ? 'cookie' : 'otherCookie' }],
  ]
  if (chance(rng, 0.6)) headers.push(['HX-Request', 'true'], ['HX-Request-Type', 'partial'])
  const segments: Value[] = path
    .split('/')
    .slice(1)
    .map((s) => (s.startsWith(':') ? ownValue(rng, s.slice(1)) : s))
  // a new chat from a browser with no cookie yet: its own session, so its reply runs beside the owner's
  if (path === '/c/:id/messages' && chance(rng, 0.4)) {
    segments[1] = 'new'
    headers.splice(1, 1)
  }
  if (method === 'GET') {
    const pairs = values().map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v).toWellFormed())}`)
    return { method, segments, query: pairs.length ? `?${pairs.join('&')}` : '', headers }
  }
  const form = values()
  if (chance(rng, 0.6)) pick(rng, MUTATIONS)(rng, form)
  const multipart = path === '/c/:id/messages' ? chance(rng, 0.6) : chance(rng, 0.05)
  if (multipart || form.some(([, v]) => typeof v !== 'string')) return { method, segments, query: '', headers, body: { kind: 'form', fields: form } }
  const text = form.map(([k, v]) => `${encodeURIComponent(k.toWellFormed())}=${encodeURIComponent(String(v).toWellFormed())}`).join('&')
  return {
    method,
    segments,
    query: '',
    headers,
    body: { kind: 'text', type: chance(rng, 0.9) ? FORM : pick(rng, ['application/json', 'text/plain', undefined]), text },
  }
}

/**
 * Sign-out ends the session and Delete the conversation that every other request names: they get
 * another browser's cookie and the doomed conversation instead, so the rest still reach real things.
 */
function spareOwnThings(r: FuzzRequest): FuzzRequest {
  const path = r.segments.map((s) => (typeof s === 'string' ? s : `:${s.known}`)).join('/')
  if (path === 'signout') r.headers = r.headers.map(([k, v]) => [k, typeof v !== 'string' && v.known === 'cookie' ? { known: 'otherCookie' } : v])
  if (path === 'c/:conversation/delete') r.segments[1] = { known: 'doomed' }
  return r
}

/** One odd request: an ordinary one with one thing wrong, or one anything may be wrong with. */
export function fuzzRequest(rng: Rng): FuzzRequest {
  return spareOwnThings(chance(rng, 0.4) ? nearlyValidRequest(rng) : wildRequest(rng))
}

const resolve = (v: Value, known: Known) => (typeof v === 'string' ? v : known[v.known])

/** The request as fetch sends it; undefined where fetch itself refuses it (a header value it cannot send). */
export function toRequest(r: FuzzRequest, base: string, known: Known): Request | undefined {
  const headers = new Headers()
  for (const [name, value] of r.headers) {
    try {
      headers.append(name, resolve(value, known))
    } catch {
      // a value fetch will not send: leave it out
    }
  }
  let body: BodyInit | undefined
  if (r.body?.kind === 'text') body = r.body.text
  else if (r.body?.kind === 'bytes') body = r.body.bytes
  else if (r.body?.kind === 'form') {
    const form = new FormData()
    for (const [name, value] of r.body.fields) {
      if (typeof value === 'string') form.append(name, value)
      else form.append(value.file, new File([value.bytes], value.name, { type: value.type }))
    }
    body = form
  }
  if (r.body?.type !== undefined) headers.set('Content-Type', r.body.type)
  else if (r.body && r.body.kind !== 'form') headers.delete('Content-Type')
  const url = `${base}/${r.segments.map((s) => resolve(s, known)).join('/')}${r.query}`
  try {
    return new Request(url, { method: r.method, headers, body, redirect: 'manual' })
  } catch {
    return undefined
  }
}

/** A short line that says what a request was, for a failure's report. */
export function describeRequest(r: FuzzRequest, known: Known): string {
  const path = `/${r.segments.map((s) => resolve(s, known)).join('/')}${r.query}`
  const headers = r.headers.map(([k, v]) => `${k}: ${resolve(v, known).slice(0, 60)}`).join(' | ')
  const body =
    r.body === undefined
      ? 'no body'
      : r.body.kind === 'form'
        ? `multipart ${JSON.stringify(r.body.fields.map(([k, v]) => [k, typeof v === 'string' ? v.slice(0, 40) : `file ${v.name}`]))}`
        : r.body.kind === 'text'
          ? `${r.body.type ?? 'no type'} ${JSON.stringify(r.body.text.slice(0, 120))}`
          : `${r.body.type ?? 'no type'} ${r.body.bytes.length} bytes`
  return `${r.method} ${path.slice(0, 200)} [${headers}] ${body}`
}
