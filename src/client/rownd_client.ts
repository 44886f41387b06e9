import { LRUCache } from 'lru-cache'
import debug from '../debug.ts'
import { E_ROWND_CONFIG } from '../errors.ts'
import type { ResolvedRowndConfig, RowndAppConfig, RowndProfile, RowndToken } from '../types.ts'
import { AppConfigStore } from './app_config.ts'
import { RowndHttpClient } from './http.ts'
import { KeyStore } from './key_store.ts'
import { coversRevocation, type RevocationEntry, RevocationList } from './revocations.ts'
import { PersistedRevocations, type RevocationStore } from './persisted_revocations.ts'
import { RowndUsersApi } from './users.ts'
import { hashToken, TokenVerifier } from './verifier.ts'
import { USER_REVOCATION_TTL } from './revocations.ts'

/**
 * Hooks a shared store (see `SharedRowndState`) plugs into, so instances
 * share fetched keys and app config and hear about each other's
 * revocations. Memory-only when absent.
 */
export interface RowndStateSync {
  /** Called once with the client; may seed it from the store */
  attach(client: RowndClient): Promise<void>
  appConfigLoaded(config: RowndAppConfig): void
  keysLoaded(jwks: { keys: unknown[] }): void
  revoked(userId: string, entry: RevocationEntry): Promise<void>
  /**
   * Called before a user's revocations are checked on a slow path (uncached
   * token, session); may load them from the store. Returns undefined when
   * there is nothing to wait for.
   */
  userSeen?(userId: string): Promise<void> | undefined
  /** The user's entry left memory: read it again on the next request */
  forget?(userId: string): void
  close(): Promise<void>
}

/**
 * The app's Rownd client: token verification from memory, the users API,
 * cached profiles and revocation. One per app, bound in the container by
 * the provider (`rownd-adonis/services/main`).
 */
export class RowndClient {
  readonly config: ResolvedRowndConfig
  readonly users: RowndUsersApi
  readonly http: RowndHttpClient
  readonly appConfig: AppConfigStore
  readonly keys: KeyStore
  readonly revocations: RevocationList
  readonly verifier: TokenVerifier
  #profiles: LRUCache<string, RowndProfile>
  #profileFetches = new Map<string, Promise<RowndProfile>>()
  #sync?: RowndStateSync
  #persisted?: PersistedRevocations
  /** Listeners told when a user's tokens or identity must be forgotten */
  #evictionListeners = new Set<(userId: string) => void>()

  constructor(config: ResolvedRowndConfig) {
    this.config = config
    if (!config.appKey && !(config.appId && config.jwks)) {
      debug('no app key configured: verification will fail until ROWND_APP_KEY is set')
    }
    this.http = new RowndHttpClient({
      apiUrl: config.apiUrl,
      appKey: config.appKey,
      appSecret: config.appSecret,
      timeout: config.timeout,
    })
    const retry = { retryBase: config.cache.retryBase, retryMax: config.cache.retryMax }
    this.appConfig = new AppConfigStore({
      http: this.http,
      appId: config.appId,
      ttl: config.cache.appConfigTtl,
      ...retry,
      onLoad: (app) => this.#sync?.appConfigLoaded(app),
    })
    this.keys = new KeyStore({
      http: this.http,
      jwks: config.jwks,
      refreshEvery: config.cache.keysRefreshInterval,
      maxStale: config.cache.keysMaxStale,
      unknownKidCooldown: config.cache.unknownKidCooldown,
      ...retry,
      onLoad: (set) => this.#sync?.keysLoaded(set.jwks),
    })
    this.revocations = new RevocationList({
      maxEntries: config.cache.revocationMaxEntries,
      clockTolerance: config.clockTolerance,
      // Without a persisted copy, memory must cover the longest session too
      ttl: Math.max(USER_REVOCATION_TTL, config.session.maxAge + 60 * 60 * 1000),
      onForget: (userId) => {
        this.#persisted?.forget(userId)
        this.#sync?.forget?.(userId)
      },
    })
    this.verifier = new TokenVerifier({
      keys: this.keys,
      appConfig: this.appConfig,
      revocations: this.revocations,
      issuer: config.issuer,
      clockTolerance: config.clockTolerance,
      maxTokenLength: config.maxTokenLength,
      cacheMaxEntries: config.cache.verifiedTokenMaxEntries,
      userSeen: (userId) => this.userSeen(userId),
    })
    this.users = new RowndUsersApi(
      this.http,
      () => this.appId(),
      Boolean(config.appKey && config.appSecret)
    )
    this.#profiles = new LRUCache({
      max: config.cache.profileMaxEntries,
      ttl: config.cache.profileTtl,
    })
  }

  /** Plugs in a shared store (done by the provider when `cache.store` is set) */
  async useStateSync(sync: RowndStateSync) {
    this.#sync = sync
    await sync.attach(this)
  }

  /**
   * Persists sign-outs (done by the provider with the `rownd_revocations`
   * table when Lucid is installed): they then hold across restarts.
   */
  useRevocationStore(store: RevocationStore) {
    this.#persisted = new PersistedRevocations(store, {
      recheckInterval: this.config.revocations
        ? this.config.revocations.recheckInterval
        : 5 * 60 * 1000,
    })
  }

  /** The persisted revocation store, when one is plugged in */
  get revocationStore(): RevocationStore | undefined {
    return this.#persisted?.store
  }

  /**
   * Loads the revocations of a user this instance has not met yet (or not
   * for a while) from the persisted and shared stores. Undefined (nothing
   * to await) when memory is up to date: the hot path stays synchronous.
   */
  userSeen(userId: string): Promise<void> | undefined {
    const shared = this.#sync?.userSeen?.(userId)
    const persisted = this.#persisted?.userSeen(userId, (entry) => this.#applyStored(userId, entry))
    if (!shared) return persisted
    if (!persisted) return shared
    return Promise.all([shared, persisted]).then(() => undefined)
  }

  /** Applies an entry read from the persisted store, unless memory already covers it */
  #applyStored(userId: string, entry: RevocationEntry) {
    const current = this.revocations.get(userId)
    if (current && coversRevocation(current, entry)) return
    return this.#applyRevocation(userId, entry, false)
  }

  #configured() {
    return Boolean(this.config.appKey || this.config.appId)
  }

  #assertConfigured() {
    if (!this.#configured()) throw this.#configError()
  }

  /** The app id: configured, or from Rownd's app config */
  async appId(): Promise<string> {
    this.#assertConfigured()
    const app = await this.appConfig.get()
    return app.id
  }

  async getAppConfig(): Promise<RowndAppConfig> {
    this.#assertConfigured()
    return this.appConfig.get()
  }

  /**
   * Verifies an access token. Resolves with the typed token, or rejects
   * with an `E_ROWND_*` 401 error (bad token) or `E_ROWND_UNAVAILABLE`
   * (Rownd unreachable and nothing cached).
   */
  verifyToken(token: unknown): Promise<RowndToken> {
    if (!this.#configured()) return Promise.reject(this.#configError())
    return this.verifier.verify(token)
  }

  /** `verifyToken` answered from memory, or undefined when it must run (see `verifier.verifyWarm`) */
  verifyTokenWarm(token: string, connection?: object): RowndToken | undefined {
    return this.verifier.verifyWarm(token, connection)
  }

  #configError() {
    return new E_ROWND_CONFIG('rownd-adonis: set ROWND_APP_KEY (or appId) in config/rownd.ts')
  }

  /** Fetches app config and signing keys now, instead of on the first request */
  async warmUp() {
    this.#assertConfigured()
    await Promise.all([this.appConfig.get(), this.keys.get()])
  }

  /**
   * The user's Rownd profile, cached for `cache.profileTtl`; concurrent
   * callers for one user share one fetch. `{ fresh: true }` skips the cache
   * and any fetch already under way (it may have started before the change
   * the caller heard about); later callers share the fresh one.
   */
  async getProfile(userId: string, options: { fresh?: boolean } = {}): Promise<RowndProfile> {
    if (!options.fresh) {
      const cached = this.#profiles.get(userId)
      if (cached) return cached
      const inflight = this.#profileFetches.get(userId)
      if (inflight) return inflight
    }
    const fetch: Promise<RowndProfile> = this.users
      .get(userId)
      .then((profile) => {
        // An older fetch finishing after a fresh one must not cache its stale answer
        if (this.#profileFetches.get(userId) === fetch) this.#profiles.set(userId, profile)
        return profile
      })
      .finally(() => {
        if (this.#profileFetches.get(userId) === fetch) this.#profileFetches.delete(userId)
      })
    this.#profileFetches.set(userId, fetch)
    return fetch
  }

  /** Forgets a cached profile */
  forgetProfile(userId: string) {
    this.#profiles.delete(userId)
  }

  /**
   * Revokes one token on every instance until it expires. Accepts the raw
   * token or a verified `RowndToken`.
   */
  async revoke(token: string | RowndToken) {
    const verified = typeof token === 'string' ? await this.verifyToken(token) : token
    // Remembered past the token's expiry: a session it opened may live on
    const keepUntil = verified.expiresAt + this.config.session.maxAge / 1000
    const entry: RevocationEntry = { tokens: { [verified.hash]: keepUntil } }
    await this.#applyRevocation(verified.userId, entry, true)
  }

  /**
   * Signs the user out everywhere: every token and session of this app the
   * user was issued up to now is refused, on every instance, for good (with
   * the persisted store). With `{ rownd: true }`, also signs the user out of
   * Rownd through the API.
   */
  async revokeUser(
    userId: string,
    options: { rownd?: boolean; all?: boolean; tokenHashes?: string[] } = {}
  ) {
    const entry: RevocationEntry = { before: Date.now() }
    // Named tokens (the one that opened a session being signed out) are
    // refused too, even when issued within clockTolerance of the cut-off.
    // Their expiry is unknown here: kept past the longest a token and the
    // session it opened can live
    const keepUntil = (Date.now() + 2 * 60 * 60 * 1000 + this.config.session.maxAge) / 1000
    for (const hash of options.tokenHashes ?? []) {
      entry.tokens ??= {}
      entry.tokens[hash] = keepUntil
    }
    await this.#applyRevocation(userId, entry, true)
    if (options.rownd) await this.users.signOut(userId, { all: options.all ?? true })
  }

  /** Applies a revocation heard from another instance (no re-broadcast) */
  applyRemoteRevocation(userId: string, entry: RevocationEntry) {
    return this.#applyRevocation(userId, entry, false)
  }

  /**
   * Memory first (this instance refuses at once), then the persisted and
   * shared stores. A failed persisted write is reported after the shared
   * store had its chance: the sign-out then holds until this process ends.
   */
  async #applyRevocation(userId: string, entry: RevocationEntry, local: boolean) {
    const merged = this.revocations.merge(userId, entry)
    this.verifier.evict(userId)
    this.#profiles.delete(userId)
    for (const listener of this.#evictionListeners) listener(userId)
    debug('revoked tokens of a user (%s)', local ? 'local' : 'stored')
    if (!local) return
    const [persisted] = await Promise.allSettled([
      this.#persisted?.write(userId, entry),
      this.#sync?.revoked(userId, merged),
    ])
    if (persisted.status === 'rejected') throw persisted.reason
  }

  /** Registers a callback run when a user's cached identity must be dropped */
  onEviction(listener: (userId: string) => void) {
    this.#evictionListeners.add(listener)
    return () => this.#evictionListeners.delete(listener)
  }

  /** Sizes of the in-memory caches */
  stats() {
    return {
      verifiedTokens: this.verifier.cacheSize,
      profiles: this.#profiles.size,
      revocations: this.revocations.size,
    }
  }

  /** Stops background refreshes (called on app shutdown) */
  async close() {
    this.appConfig.close()
    this.keys.close()
    await this.#sync?.close()
  }
}

export { hashToken }
