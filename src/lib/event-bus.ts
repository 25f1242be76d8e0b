/** A tiny in-process publish/subscribe, typed by event name. Listeners that throw are isolated. */
export function createEventBus<Events extends Record<string, unknown>>() {
  const listeners = new Map<keyof Events, Set<(payload: never) => void>>()
  return {
    on<K extends keyof Events>(name: K, listener: (payload: Events[K]) => void): () => void {
      const set = listeners.get(name) ?? new Set()
      set.add(listener as (payload: never) => void)
      listeners.set(name, set)
      return () => void set.delete(listener as (payload: never) => void)
    },
    emit<K extends keyof Events>(name: K, payload: Events[K]): void {
      for (const listener of listeners.get(name) ?? []) {
        try {
          ;(listener as (payload: Events[K]) => void)(payload)
        } catch {
          // one listener's failure never reaches the publisher or the other listeners
        }
      }
    },
  }
}
