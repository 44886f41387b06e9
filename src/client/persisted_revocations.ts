import { LRUCache } from 'lru-cache'
import debug from '../debug.ts'
import type { RevocationEntry } from './revocations.ts'

/**
 * Where sign-outs are persisted, so they hold across restarts, deploys and
 * any amount of time. `LucidRevocationStore` keeps them in the
 * `rownd_revocations` table; implement this for another store.
 */
export interface RevocationStore {
  /** Everything persisted for one Rownd user (undefined when nothing) */
  read(userId: string): Promise<RevocationEntry | undefined>
  /** Adds an entry to what is persisted for the user (never lowers a cut-off) */
  write(userId: string, entry: RevocationEntry): Promise<void>
}

export interface PersistedRevocationsOptions {
  /** A user's persisted entry is re-read at most this often (ms) */
  recheckInterval: number
  /** Most users remembered as read. Default 100 000 */
  maxUsers?: number
}

/**
 * The durable layer under the in-memory revocation list: the first time
 * this process meets a user (and again after `recheckInterval`, or once
 * the user's entry has left memory), their persisted sign-outs are read
 * and applied. Requests in between check memory only.
 */
export class PersistedRevocations {
  #store: RevocationStore
  #read: LRUCache<string, true>
  #lookups = new Map<string, Promise<void>>()

  constructor(store: RevocationStore, options: PersistedRevocationsOptions) {
    this.#store = store
    this.#read = new LRUCache({
      max: options.maxUsers ?? 100_000,
      ttl: Math.max(1, options.recheckInterval),
      // Read on every request: no timer per millisecond (see verifier.ts)
      ttlResolution: 0,
    })
  }

  get store() {
    return this.#store
  }

  /**
   * Reads the user's persisted entry when due and hands it to `apply`.
   * Undefined (nothing to wait for) when it was read recently: the hot path
   * stays synchronous.
   */
  userSeen(
    userId: string,
    apply: (entry: RevocationEntry) => Promise<void> | void
  ): Promise<void> | undefined {
    if (this.#read.has(userId)) return undefined
    let lookup = this.#lookups.get(userId)
    if (!lookup) {
      lookup = this.#lookup(userId, apply).finally(() => this.#lookups.delete(userId))
      this.#lookups.set(userId, lookup)
    }
    return lookup
  }

  async #lookup(userId: string, apply: (entry: RevocationEntry) => Promise<void> | void) {
    const entry = await this.#store.read(userId)
    this.#read.set(userId, true)
    if (entry) {
      debug('applying a persisted revocation')
      await apply(entry)
    }
  }

  /** Forgets that a user was read, so the next request reads again */
  forget(userId: string) {
    this.#read.delete(userId)
  }

  async write(userId: string, entry: RevocationEntry) {
    await this.#store.write(userId, entry)
  }
}
