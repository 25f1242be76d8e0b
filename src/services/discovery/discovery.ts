import { createHash } from 'node:crypto'
import type { Log } from '../../logger.ts'
import { isApiKey } from '../aws-credentials.ts'
import { catalog, findModel, listedModels } from '../models.ts'
import type { AccountModel, ControlPlane, Credentials } from './control-plane.ts'

/**
 * Which models the Model select offers: what the credentials in use can call in their region, as
 * Bedrock's control plane lists them, named and ordered by the catalogue (src/services/models.ts
 * stays the source of names, limits and prices). Lists are cached per credentials and region. A
 * page never waits on Bedrock for longer than PAGE_WAIT_MS: until the list has come it shows the
 * catalogue, and an old list is shown while a new one is fetched. When Bedrock refuses (no
 * bedrock:ListFoundationModels) or fails, the catalogue is the fallback, and `note` says so.
 */

/** How long a list is used before it is asked for again: models are enabled rarely, and Refresh models is there. */
export const DISCOVERY_TTL_MS = 10 * 60_000
/** How long a refusal or failure stands before Bedrock is asked again (a page load after it tries once more). */
export const DISCOVERY_FAILURE_TTL_MS = 60_000
/** The most credentials-and-region lists kept; the least recently used goes first. */
export const DISCOVERY_MAX_ENTRIES = 500
/** How long one listing (both lists, every page) may take before it is abandoned as failed. */
export const DISCOVERY_TIMEOUT_MS = 5_000
/** How long a page render waits for a list it does not have yet; then it shows the catalogue. */
export const PAGE_WAIT_MS = 300

export type ModelChoice = { id: string; name: string }

export type ModelMenu = {
  models: ModelChoice[]
  /** `account`: Bedrock's own list for these credentials; `catalogue`: the fallback. */
  source: 'account' | 'catalogue'
  /** One line for the page when the catalogue is shown instead of the account's list. */
  note?: string
  /** The model a new chat starts with. */
  defaultModelId: string
}

export type DiscoveryOptions = {
  controlPlane: ControlPlane
  /** BEDROCK_MODEL_ID. */
  defaultModelId: string
  /** True when BEDROCK_MODEL_ID was set to something of its own: it is then the default even if the list lacks it. */
  defaultIsChosen: boolean
  log: Log
  ttlMs?: number
  failureTtlMs?: number
  maxEntries?: number
  timeoutMs?: number
  pageWaitMs?: number
  now?: () => number
}

type Outcome = { ok: true; models: AccountModel[] } | { ok: false; name: string; message: string }
type Entry = { at: number; outcome?: Outcome; pending?: Promise<Outcome> }

/** The wording of the one line, by what happened. */
export const MODELS_NOTE = {
  refused: (name: string) =>
    `Bedrock would not list the models these credentials can call (${name}: they lack bedrock:ListFoundationModels), so the catalogue's models are shown.`,
  failed: (name: string) => `Bedrock's list of this account's models could not be read (${name}), so the catalogue's models are shown.`,
  pending: 'Bedrock has not answered which models this account can call yet, so the catalogue is shown: Refresh models to see them.',
}

const ACCESS_ERRORS = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'ExpiredTokenException', 'CredentialsProviderError'])

/** The order of profiles of one model: global first, then geographic ones, then the in-region model. */
function placeRank(m: AccountModel): number {
  if (m.kind === 'application') return 3
  if (m.id.startsWith('global.')) return 0
  return m.kind === 'profile' ? 1 : 2
}

/** " (global)", " (US)", " (EU)"… for a system-defined profile; an application profile keeps its own name. */
function placeLabel(m: AccountModel): string {
  if (m.kind !== 'profile') return ''
  const prefix = m.id.split('.')[0]!
  return prefix === 'global' ? ' (global)' : ` (${prefix.toUpperCase()})`
}

/** The account's models as the select shows them: the catalogue's names and order, unknown models after. */
export function menuFrom(models: AccountModel[]): ModelChoice[] {
  const order = new Map(catalog().map((e, i) => [e.id, i]))
  const seen = new Set<string>()
  const rows = models
    .filter((m) => !seen.has(m.id) && seen.add(m.id))
    .map((m) => {
      const entry = m.kind === 'application' ? undefined : (findModel(m.id) ?? findModel(m.foundationModelId))
      const name = m.kind === 'application' ? `${m.name} (application profile)` : `${entry?.name ?? m.name}${placeLabel(m)}`
      return { id: m.id, name, rank: entry ? (order.get(entry.id) ?? catalog().length) : Number.POSITIVE_INFINITY, place: placeRank(m) }
    })
  rows.sort((a, b) => a.rank - b.rank || a.place - b.place || a.name.localeCompare(b.name))
  return rows.map(({ id, name }) => ({ id, name }))
}

export function createDiscovery(options: DiscoveryOptions) {
  const ttlMs = options.ttlMs ?? DISCOVERY_TTL_MS
  const failureTtlMs = options.failureTtlMs ?? DISCOVERY_FAILURE_TTL_MS
  const maxEntries = options.maxEntries ?? DISCOVERY_MAX_ENTRIES
  const timeoutMs = options.timeoutMs ?? DISCOVERY_TIMEOUT_MS
  const pageWaitMs = options.pageWaitMs ?? PAGE_WAIT_MS
  const now = options.now ?? Date.now
  const entries = new Map<string, Entry>()

  /** Credentials by what they are, never by object: a hash of the secret, kept in memory only. */
  function keyOf(region: string, credentials?: Credentials): string {
    if (!credentials) return `${region}\nserver`
    if (isApiKey(credentials)) return `${region}\napi-key\n${createHash('sha256').update(credentials.apiKey).digest('base64url')}`
    const secret = createHash('sha256')
      .update(`${credentials.secretAccessKey}\n${credentials.sessionToken ?? ''}`)
      .digest('base64url')
    return `${region}\n${credentials.accessKeyId}\n${secret}`
  }

  function remember(key: string, entry: Entry): void {
    entries.delete(key)
    entries.set(key, entry)
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
  }

  function fresh(entry: Entry | undefined): boolean {
    if (!entry?.outcome) return false
    return now() - entry.at < (entry.outcome.ok ? ttlMs : failureTtlMs)
  }

  /** Starts a listing (or joins the one under way); it never rejects. */
  function fetch(key: string, region: string, credentials?: Credentials): Promise<Outcome> {
    const current = entries.get(key)
    if (current?.pending) return current.pending
    const signal = AbortSignal.timeout(timeoutMs)
    const pending = options.controlPlane.list(region, credentials, signal).then(
      (models): Outcome => ({ ok: true, models }),
      (err: unknown): Outcome => {
        const e = err as { name?: string; message?: string }
        const name = signal.aborted ? 'TimeoutError' : e?.name && e.name !== 'Error' ? e.name : 'Error'
        options.log.warn('model discovery failed', { region, error: name, message: e?.message })
        return { ok: false, name, message: String(e?.message ?? err) }
      },
    )
    remember(key, { ...current, at: current?.at ?? 0, pending })
    void pending.then((outcome) => {
      if (entries.get(key)?.pending === pending) remember(key, { at: now(), outcome })
    })
    return pending
  }

  function menuOf(outcome: Outcome | undefined): ModelMenu {
    if (outcome?.ok) {
      const models = menuFrom(outcome.models)
      if (models.length > 0) return { models, source: 'account', defaultModelId: defaultFrom(models) }
    }
    const note = !outcome
      ? MODELS_NOTE.pending
      : outcome.ok
        ? MODELS_NOTE.failed('no text models listed')
        : ACCESS_ERRORS.has(outcome.name)
          ? MODELS_NOTE.refused(outcome.name)
          : MODELS_NOTE.failed(outcome.name)
    return { models: listedModels().map((m) => ({ id: m.id, name: m.name })), source: 'catalogue', note, defaultModelId: options.defaultModelId }
  }

  /** BEDROCK_MODEL_ID when the list has it or it was chosen; else the first model the catalogue knows. */
  function defaultFrom(models: ModelChoice[]): string {
    if (options.defaultIsChosen || models.some((m) => m.id === options.defaultModelId)) return options.defaultModelId
    return (models.find((m) => findModel(m.id)) ?? models[0]!).id
  }

  async function within(pending: Promise<Outcome>, ms: number): Promise<Outcome | undefined> {
    let cancel = () => {}
    const late = new Promise<undefined>((resolve) => {
      const timer = setTimeout(resolve, ms)
      cancel = () => clearTimeout(timer)
    })
    try {
      return await Promise.race([pending, late])
    } finally {
      cancel()
    }
  }

  return {
    /** The Model select for a page: the cached list, or what arrives within PAGE_WAIT_MS, else the catalogue. */
    async menu(region: string, credentials?: Credentials): Promise<ModelMenu> {
      const key = keyOf(region, credentials)
      const entry = entries.get(key)
      if (fresh(entry)) {
        remember(key, entry!)
        return menuOf(entry!.outcome)
      }
      const pending = fetch(key, region, credentials)
      // an old list is better than none while the new one comes
      if (entry?.outcome?.ok) return menuOf(entry.outcome)
      return menuOf((await within(pending, pageWaitMs)) ?? entry?.outcome)
    },

    /** Refresh models: the list asked for again now, waited for (within DISCOVERY_TIMEOUT_MS). */
    async refresh(region: string, credentials?: Credentials): Promise<ModelMenu> {
      const key = keyOf(region, credentials)
      const entry = entries.get(key)
      if (entry && !entry.pending) remember(key, { at: 0, outcome: entry.outcome })
      return menuOf(await fetch(key, region, credentials))
    },

    /** The account's models as last listed for these credentials, if any (no network): for error messages. */
    known(region: string, credentials?: Credentials): AccountModel[] | undefined {
      const outcome = entries.get(keyOf(region, credentials))?.outcome
      return outcome?.ok ? outcome.models : undefined
    },
  }
}

export type Discovery = ReturnType<typeof createDiscovery>
