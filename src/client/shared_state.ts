import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { ApplicationService } from '@adonisjs/core/types'
import debug from '../debug.ts'
import { E_ROWND_CONFIG } from '../errors.ts'
import type { RowndAppConfig, RowndJwks } from '../types.ts'
import type { RowndClient, RowndStateSync } from './rownd_client.ts'
import {
  coversRevocation as covers,
  mergeRevocations,
  type RevocationEntry,
  USER_REVOCATION_TTL,
} from './revocations.ts'

/**
 * One Rownd app (API URL + app key, or the pinned app id): every shared key
 * and bus message carries it, so two apps sharing one Redis and prefix
 * (staging and production) never adopt each other's config or keys.
 */
export function appScope(config: { apiUrl: string; appKey: string; appId?: string }): string {
  return createHash('sha256')
    .update(`${config.apiUrl}\n${config.appKey}\n${config.appId ?? ''}`)
    .digest('base64url')
    .slice(0, 16)
}

/** Keys of the shared entries of one app (inside the store's own prefix) */
export function sharedKeys(scope: string) {
  const base = `rownd:${scope}:`
  return {
    base,
    appConfig: `${base}app_config`,
    jwks: `${base}jwks`,
    revocationPrefix: `${base}revocation:`,
    probe: `${base}probe`,
  } as const
}

/**
 * The part of an `@adonisjs/cache` (bentocache) store we use. Structural,
 * so `@adonisjs/cache` stays an optional peer dependency.
 */
export interface SharedCacheStore {
  get(options: { key: string; suppressL2Errors?: boolean }): Promise<unknown>
  set(options: {
    key: string
    value: unknown
    ttl?: number | string | null
    suppressL2Errors?: boolean
  }): Promise<boolean>
}

/** The app emitter bentocache reports bus messages through */
export interface SharedStateEmitter {
  on(event: string, listener: (data: any) => void): unknown
  off(event: string, listener: (data: any) => void): unknown
}

export interface SharedStateLogger {
  warn(message: string): void
  info(message: string): void
}

export interface SharedRowndStateOptions {
  store: SharedCacheStore
  /** Name of the store, for log lines */
  storeName: string
  emitter: SharedStateEmitter
  logger: SharedStateLogger
  /** Longest wait for one shared-store operation before it counts as down. Default 500 ms */
  timeout?: number
  /** How often the store's health is probed. Default 1 s */
  probeInterval?: number
  /** A user's shared revocations are re-read at most this often (uncached path only). Default 5 min */
  userRecheckInterval?: number
  /** Most users remembered as already checked. Default 100 000 */
  maxCheckedUsers?: number
}

interface Stamped<T> {
  value: T
  loadedAt: number
}

const BUS_RECEIVED = 'bus:message:received'

class SharedStoreTimeout extends Error {}

/**
 * Shares what one instance learned from Rownd, and its revocations, with
 * every other instance through an `@adonisjs/cache` store (memory L1,
 * Redis L2 and a bus, typically):
 *
 * - app config and signing keys (public data) are written when fetched and
 *   read on start, so a cold instance makes no fetch while a fresh copy
 *   exists; a copy announced on the bus re-seeds the others, which then
 *   postpone their own background refresh;
 * - revocations are written under `rownd:<app scope>:revocation:<user id>` (a sign-out
 *   time and SHA-256 hashes of single tokens, never a raw token). The bus
 *   announces the write; every instance reads it and applies it to memory,
 *   where requests check it synchronously;
 * - the first time an instance meets a user (uncached verification or a
 *   session), it reads that user's entry once, so revocations written
 *   before it started apply too.
 *
 * The store failing never fails a request: the instance goes on from
 * memory (logging a warning once), remembers what it could not write and
 * writes it back, re-reading users, once the store answers again.
 */
export class SharedRowndState implements RowndStateSync {
  #options: Required<Omit<SharedRowndStateOptions, 'store' | 'emitter' | 'logger'>>
  #store: SharedCacheStore
  #emitter: SharedStateEmitter
  #logger: SharedStateLogger
  #client?: RowndClient
  #keys = sharedKeys('unattached')
  /** How long a revocation is kept in the store: as long as any session it ends */
  #revocationTtl = USER_REVOCATION_TTL
  #closed = false
  #down = false
  #probeTimer?: NodeJS.Timeout
  #probing = false
  /** Users whose shared entry this instance already read or wrote */
  #checked: LRUCache<string, true>
  #lookups = new Map<string, Promise<void>>()
  /** Writes that failed while the store was down, replayed when it returns */
  #pendingRevocations = new Map<string, RevocationEntry>()
  #pendingAppConfig?: Stamped<RowndAppConfig>
  #pendingJwks?: Stamped<RowndJwks>
  /** When the newest app config / keys this instance holds were fetched */
  #appConfigAt = 0
  #keysAt = 0

  /**
   * Builds the shared state on the app's `@adonisjs/cache` store named
   * `storeName` (register `@adonisjs/cache/cache_provider`).
   */
  static async fromApp(app: ApplicationService, storeName: string): Promise<SharedRowndState> {
    const container = app.container as unknown as {
      make(binding: string): Promise<any>
      hasBinding(binding: string): boolean
    }
    if (!container.hasBinding('cache.manager')) {
      throw new E_ROWND_CONFIG(
        `rownd-adonis: cache.store "${storeName}" needs @adonisjs/cache (register its provider)`
      )
    }
    const manager = (await container.make('cache.manager')) as {
      use(name: string): SharedCacheStore
    }
    let store: SharedCacheStore
    try {
      store = manager.use(storeName)
    } catch {
      throw new E_ROWND_CONFIG(
        `rownd-adonis: cache.store "${storeName}" is not a store of config/cache.ts`
      )
    }
    // @adonisjs/cache hands bentocache the app emitter: bus messages arrive there
    const emitter = (await container.make('emitter')) as SharedStateEmitter
    const logger = (await container.make('logger')) as SharedStateLogger
    return new SharedRowndState({ store, storeName, emitter, logger })
  }

  constructor(options: SharedRowndStateOptions) {
    this.#store = options.store
    this.#emitter = options.emitter
    this.#logger = options.logger
    this.#options = {
      storeName: options.storeName,
      timeout: options.timeout ?? 500,
      probeInterval: options.probeInterval ?? 1000,
      userRecheckInterval: options.userRecheckInterval ?? 5 * 60 * 1000,
      maxCheckedUsers: options.maxCheckedUsers ?? 100_000,
    }
    this.#checked = new LRUCache({
      max: this.#options.maxCheckedUsers,
      ttl: this.#options.userRecheckInterval,
      // Read on every request: no timer per millisecond (see verifier.ts)
      ttlResolution: 0,
    })
  }

  /** Whether the store answered the last operation (false while it is down) */
  get available() {
    return !this.#down
  }

  async attach(client: RowndClient) {
    this.#client = client
    this.#keys = sharedKeys(appScope(client.config))
    this.#revocationTtl = Math.max(
      USER_REVOCATION_TTL,
      client.config.session.maxAge + 60 * 60 * 1000
    )
    this.#emitter.on(BUS_RECEIVED, this.#onBusMessage)
    this.#scheduleProbe()
    await Promise.all([this.#readAppConfig(), this.#readKeys()])
  }

  appConfigLoaded(config: RowndAppConfig) {
    this.#appConfigAt = Date.now()
    void this.#writeAppConfig({ value: config, loadedAt: this.#appConfigAt })
  }

  keysLoaded(jwks: { keys: unknown[] }) {
    this.#keysAt = Date.now()
    void this.#writeKeys({ value: jwks as RowndJwks, loadedAt: this.#keysAt })
  }

  async revoked(userId: string, entry: RevocationEntry) {
    this.#checked.set(userId, true)
    await this.#writeRevocation(userId, entry)
  }

  /**
   * The first time this instance meets a user (or after the recheck
   * interval), reads the user's shared revocations. Undefined when there is
   * nothing to wait for, so warm requests stay synchronous.
   */
  userSeen(userId: string): Promise<void> | undefined {
    if (this.#down || this.#closed || this.#checked.has(userId)) return undefined
    let lookup = this.#lookups.get(userId)
    if (!lookup) {
      lookup = this.#lookupUser(userId).finally(() => this.#lookups.delete(userId))
      this.#lookups.set(userId, lookup)
    }
    return lookup
  }

  forget(userId: string) {
    this.#checked.delete(userId)
  }

  async close() {
    this.#closed = true
    clearTimeout(this.#probeTimer)
    this.#emitter.off(BUS_RECEIVED, this.#onBusMessage)
  }

  /**
   * Runs one store operation with a time limit. Failing or timing out marks
   * the store as down (warning logged once) and never throws.
   */
  async #run<T>(operation: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    let timer: NodeJS.Timeout | undefined
    try {
      const value = await Promise.race([
        operation(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new SharedStoreTimeout()), this.#options.timeout)
        }),
      ])
      return { ok: true, value }
    } catch (error) {
      this.#markDown(error)
      return { ok: false }
    } finally {
      clearTimeout(timer)
    }
  }

  #get(key: string) {
    return this.#run(() => this.#store.get({ key, suppressL2Errors: false }))
  }

  #set(key: string, value: unknown, ttl: number) {
    return this.#run(() => this.#store.set({ key, value, ttl, suppressL2Errors: false }))
  }

  #markDown(error: unknown) {
    if (this.#down || this.#closed) return
    this.#down = true
    const reason = error instanceof SharedStoreTimeout ? 'timed out' : 'failed'
    debug('shared store %s: %s', reason, (error as Error)?.name)
    this.#logger.warn(
      `rownd-adonis: shared cache store "${this.#options.storeName}" ${reason}; ` +
        'using memory only until it answers again'
    )
  }

  /** The store answers again: replay what could not be written, re-read users */
  async #recovered() {
    this.#down = false
    this.#logger.info(
      `rownd-adonis: shared cache store "${this.#options.storeName}" is back; ` +
        'sharing state again'
    )
    // Bus messages sent while this instance was cut off are lost: forget
    // which users were checked and which tokens were verified, so each is
    // re-read from the store on its next request
    this.#checked.clear()
    this.#client?.verifier.evict()

    // Replay the writes that failed. Revocations written before the outage
    // are not re-written: this instance reads through its own memory layer
    // and cannot tell whether Redis lost them (see docs/several_instances.md, Limits).
    const revocations = [...this.#pendingRevocations]
    this.#pendingRevocations.clear()
    for (const [userId, entry] of revocations) await this.#writeRevocation(userId, entry)
    // App config and keys are cheap and stamped with their fetch time, so
    // they are written again unconditionally: a Redis that came back empty
    // can seed cold instances again, and readers only take a newer copy
    const appConfig =
      this.#pendingAppConfig ?? this.#held(this.#client?.appConfig.peek(), this.#appConfigAt)
    this.#pendingAppConfig = undefined
    if (appConfig) await this.#writeAppConfig(appConfig)
    const jwks = this.#pendingJwks ?? this.#held(this.#client?.keys.peek()?.jwks, this.#keysAt)
    this.#pendingJwks = undefined
    if (jwks) await this.#writeKeys(jwks)
  }

  /** What this instance holds, stamped with when it was fetched (here or by another instance) */
  #held<T>(value: T | undefined, loadedAt: number): Stamped<T> | undefined {
    return value !== undefined && loadedAt > 0 ? { value, loadedAt } : undefined
  }

  #scheduleProbe() {
    if (this.#closed) return
    // unref: the probe must never keep the process alive
    this.#probeTimer = setTimeout(() => void this.#probe(), this.#options.probeInterval).unref()
  }

  /** Reads a key that is never written: always a round trip to the shared layer */
  async #probe() {
    if (this.#probing || this.#closed) return
    this.#probing = true
    try {
      const wasDown = this.#down
      const result = await this.#get(this.#keys.probe)
      if (result.ok && wasDown) await this.#recovered()
    } finally {
      this.#probing = false
      this.#scheduleProbe()
    }
  }

  /** Bentocache announces writes of other instances by key */
  #onBusMessage = (data: unknown) => {
    const keys = (data as { message?: { keys?: unknown } })?.message?.keys
    if (!Array.isArray(keys)) return
    for (const key of keys) {
      // Only this app's keys: another app may share the store and its bus
      if (typeof key !== 'string' || !key.startsWith(this.#keys.base)) continue
      // Let bentocache finish expiring its L1 copy first, then read through to L2
      setImmediate(() => void this.#onRemoteWrite(key))
    }
  }

  async #onRemoteWrite(key: string) {
    if (this.#closed) return
    if (key.startsWith(this.#keys.revocationPrefix)) {
      const userId = key.slice(this.#keys.revocationPrefix.length)
      const result = await this.#get(key)
      if (result.ok) await this.#applyRemote(userId, result.value, true)
    } else if (key === this.#keys.jwks) {
      await this.#readKeys()
    } else if (key === this.#keys.appConfig) {
      await this.#readAppConfig()
    }
  }

  async #lookupUser(userId: string) {
    const result = await this.#get(this.#keys.revocationPrefix + userId)
    if (!result.ok) return
    this.#checked.set(userId, true)
    if (result.value !== undefined) await this.#applyRemote(userId, result.value)
  }

  async #applyRemote(userId: string, raw: unknown, repair = false) {
    const entry = toRevocationEntry(raw)
    if (!entry || !this.#client) return
    this.#checked.set(userId, true)
    await this.#client.applyRemoteRevocation(userId, entry)
    // Two instances writing one user's entry at once can drop a part of it
    // in the store: whoever still holds more in memory writes the union back
    const local = this.#client.revocations.get(userId)
    if (repair && local && !covers(entry, local)) await this.#writeRevocation(userId, local)
  }

  /**
   * Read, merge, write: an entry written meanwhile by another instance is
   * kept (two writes racing within one round trip can still lose one part;
   * both instances keep it in memory).
   */
  async #writeRevocation(userId: string, entry: RevocationEntry) {
    if (this.#down) {
      this.#queueRevocation(userId, entry)
      return
    }
    const key = this.#keys.revocationPrefix + userId
    const current = await this.#get(key)
    if (!current.ok) {
      this.#queueRevocation(userId, entry)
      return
    }
    const stored = toRevocationEntry(current.value)
    if (stored && covers(stored, entry)) return
    const merged = mergeRevocations(stored, entry)
    const written = await this.#set(key, merged, this.#revocationTtl)
    if (!written.ok) this.#queueRevocation(userId, merged)
  }

  #queueRevocation(userId: string, entry: RevocationEntry) {
    if (this.#pendingRevocations.size >= 10_000 && !this.#pendingRevocations.has(userId)) return
    this.#pendingRevocations.set(
      userId,
      mergeRevocations(this.#pendingRevocations.get(userId), entry)
    )
  }

  async #writeAppConfig(stamped: Stamped<RowndAppConfig>) {
    if (this.#down) {
      this.#pendingAppConfig = stamped
      return
    }
    const ttl = this.#client?.config.cache.appConfigTtl ?? 15 * 60 * 1000
    const written = await this.#set(this.#keys.appConfig, stamped, ttl)
    if (!written.ok) this.#pendingAppConfig = stamped
  }

  async #writeKeys(stamped: Stamped<RowndJwks>) {
    if (this.#down) {
      this.#pendingJwks = stamped
      return
    }
    const ttl = this.#client?.config.cache.keysRefreshInterval ?? 60 * 60 * 1000
    const written = await this.#set(this.#keys.jwks, stamped, ttl)
    if (!written.ok) this.#pendingJwks = stamped
  }

  /** Seeds the app config from the store when it holds a fresher copy than memory */
  async #readAppConfig() {
    const client = this.#client
    if (!client || client.config.appId) return
    const result = await this.#get(this.#keys.appConfig)
    if (!result.ok) return
    const stamped = toStamped(result.value)
    const config = stamped?.value as RowndAppConfig | undefined
    if (!stamped || !config || typeof config !== 'object' || typeof config.id !== 'string') return
    if (!config.id || !isFresh(stamped, client.config.cache.appConfigTtl)) return
    if (stamped.loadedAt <= this.#appConfigAt) return
    this.#appConfigAt = stamped.loadedAt
    client.appConfig.seed(config, stamped.loadedAt)
    debug('app config seeded from the shared store')
  }

  /** Seeds the signing keys from the store when it holds a fresher copy than memory */
  async #readKeys() {
    const client = this.#client
    if (!client || client.config.jwks) return
    const result = await this.#get(this.#keys.jwks)
    if (!result.ok) return
    const stamped = toStamped(result.value)
    if (!stamped || !isFresh(stamped, client.config.cache.keysRefreshInterval)) return
    if (stamped.loadedAt <= this.#keysAt) return
    try {
      // Imported like a fetched set: only well-formed public Ed25519 keys are kept
      await client.keys.seed(stamped.value as RowndJwks, stamped.loadedAt)
      this.#keysAt = stamped.loadedAt
      debug('signing keys seeded from the shared store')
    } catch {
      debug('ignoring an unusable key set in the shared store')
    }
  }
}

function toStamped(raw: unknown): Stamped<unknown> | undefined {
  if (!raw || typeof raw !== 'object') return undefined
  const { value, loadedAt } = raw as Partial<Stamped<unknown>>
  if (typeof loadedAt !== 'number' || !Number.isFinite(loadedAt)) return undefined
  return { value, loadedAt }
}

function isFresh(stamped: Stamped<unknown>, maxAge: number) {
  const age = Date.now() - stamped.loadedAt
  return age >= 0 && age < maxAge
}

/** Validates an entry read from the store; anything malformed is ignored */
export function toRevocationEntry(raw: unknown): RevocationEntry | undefined {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return undefined
  const { before, tokens } = raw as Record<string, unknown>
  const entry: RevocationEntry = {}
  if (typeof before === 'number' && Number.isFinite(before)) entry.before = before
  if (tokens && typeof tokens === 'object' && !Array.isArray(tokens)) {
    const valid: Record<string, number> = {}
    for (const [hash, exp] of Object.entries(tokens)) {
      if (typeof exp === 'number' && Number.isFinite(exp) && /^[A-Za-z0-9_-]{43}$/.test(hash)) {
        valid[hash] = exp
      }
    }
    if (Object.keys(valid).length > 0) entry.tokens = valid
  }
  return entry.before === undefined && entry.tokens === undefined ? undefined : entry
}
