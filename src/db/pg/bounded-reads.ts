import { READ_TIMEOUT_MS, StorageNotAnswering, type ReaderStatus, type Remote } from '../read-pool.ts'
import { pgStorageFault } from './write-engine.ts'

/**
 * PostgreSQL's reads as the app calls them (the same Remote<T> shape as SQLite's read threads):
 * the driver is asynchronous, so they run on the server's thread, each answered within
 * `timeoutMs` or failed with StorageNotAnswering (the server cancels it too: the read pool's
 * statement_timeout), and a server that cannot be reached is said the same way.
 */
export function boundedReads<T extends object>(impl: T, { timeoutMs = READ_TIMEOUT_MS } = {}) {
  let status: ReaderStatus = { ok: true }
  const failed = (reason: string) => {
    if (status.ok) status = { ok: false, since: new Date(), reason }
  }

  async function call(fn: (...args: unknown[]) => unknown, self: unknown, args: unknown[]): Promise<unknown> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StorageNotAnswering(`The database did not answer within ${timeoutMs / 1000} s (it may be locked, busy or unreachable).`)),
        timeoutMs,
      )
    })
    try {
      const value = await Promise.race([Promise.resolve(fn.apply(self, args)), late])
      status = { ok: true }
      return value
    } catch (err) {
      if (err instanceof StorageNotAnswering) {
        failed(err.message)
        throw err
      }
      if (pgStorageFault(err)) {
        const reason = `The database cannot be reached or did not answer (${(err as Error).message}).`
        failed(reason)
        throw new StorageNotAnswering(reason)
      }
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  function wrap(target: object): unknown {
    return new Proxy(target, {
      get(obj, key) {
        const value = Reflect.get(obj, key)
        if (typeof value === 'function') return (...args: unknown[]) => call(value as (...a: unknown[]) => unknown, obj, args)
        return value && typeof value === 'object' ? wrap(value) : value
      },
    })
  }

  return {
    reads: wrap(impl) as Remote<T>,
    get status(): ReaderStatus {
      return status
    },
  }
}
