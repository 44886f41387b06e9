import { importJWK, type CryptoKey } from 'jose'
import debug from '../debug.ts'
import { E_ROWND_UNAVAILABLE, E_ROWND_UNKNOWN_KEY } from '../errors.ts'
import type { RowndJwk, RowndJwks } from '../types.ts'
import type { RowndHttpClient } from './http.ts'
import { Refreshable } from './refreshable.ts'

export interface KeySet {
  /** The JWKS as published (public keys only): shareable */
  jwks: RowndJwks
  keys: Map<string, CryptoKey>
}

export interface KeyStoreOptions {
  http: RowndHttpClient
  /** Pinned keys: verify offline, never fetch */
  jwks?: RowndJwks
  refreshEvery: number
  maxStale: number
  unknownKidCooldown: number
  retryBase: number
  retryMax: number
  onLoad?: (set: KeySet) => void
}

/**
 * Imports the usable Ed25519 signing keys of a JWKS. Anything else is
 * skipped; a set with no usable key is an unusable answer, so the last
 * good keys keep serving.
 */
export async function importKeySet(jwks: unknown): Promise<KeySet> {
  const list = (jwks as RowndJwks | undefined)?.keys
  if (!Array.isArray(list)) throw new E_ROWND_UNAVAILABLE('Rownd sent an unusable key set')
  const keys = new Map<string, CryptoKey>()
  const published: RowndJwk[] = []
  for (const jwk of list as RowndJwk[]) {
    if (
      !jwk ||
      jwk.kty !== 'OKP' ||
      jwk.crv !== 'Ed25519' ||
      typeof jwk.x !== 'string' ||
      typeof jwk.kid !== 'string' ||
      jwk.kid.length === 0 ||
      'd' in jwk ||
      (jwk.alg !== undefined && jwk.alg !== 'EdDSA' && jwk.alg !== 'Ed25519') ||
      (jwk.use !== undefined && jwk.use !== 'sig')
    ) {
      continue
    }
    try {
      const publicJwk = {
        kty: 'OKP',
        crv: 'Ed25519',
        x: jwk.x,
        kid: jwk.kid,
        alg: 'EdDSA',
        use: 'sig',
      }
      keys.set(jwk.kid, (await importJWK(publicJwk, 'EdDSA')) as CryptoKey)
      published.push(publicJwk)
    } catch {
      debug('skipping unusable key %s', jwk.kid)
    }
  }
  if (keys.size === 0) throw new E_ROWND_UNAVAILABLE('Rownd sent an unusable key set')
  return { jwks: { keys: published }, keys }
}

/** At most one refetch per this window for kids that look like a rotation */
const ROTATION_REFETCH_INTERVAL = 5_000
const ROWND_KID = /^sig-(\d{9,11})(?:-\d+)?$/

/**
 * Rownd names keys `sig-<unix seconds>`. A kid of that form, not older than
 * the newest key we hold and not from the future, is what a rotation looks
 * like; anything else is junk and waits for the normal cooldown.
 */
function isPlausibleRotation(kid: string, known: Map<string, unknown>, now: number): boolean {
  const match = ROWND_KID.exec(kid)
  if (!match) return false
  const issued = Number(match[1])
  if (issued > now / 1000 + 60) return false
  let newest = 0
  for (const knownKid of known.keys()) {
    const knownMatch = ROWND_KID.exec(knownKid)
    if (knownMatch) newest = Math.max(newest, Number(knownMatch[1]))
  }
  return issued >= newest
}

/**
 * Rownd's signing keys (`GET /hub/auth/keys`), held in memory so a token
 * verifies without I/O. Refreshed in the background; on errors the last
 * good keys serve for `maxStale`. An unknown `kid` triggers at most one
 * refetch per cooldown window, shared by every concurrent caller; a kid
 * shaped like Rownd's next key may refetch once per 5 s within it, so a
 * junk-kid probe cannot hide a real rotation.
 */
export class KeyStore {
  #options: KeyStoreOptions
  #pinned?: Promise<KeySet>
  #refreshable?: Refreshable<KeySet>
  #lastUnknownRefetch = Number.NEGATIVE_INFINITY
  #lastRotationRefetch = Number.NEGATIVE_INFINITY
  #unknownRefetch?: Promise<KeySet>

  constructor(options: KeyStoreOptions) {
    this.#options = options
    if (options.jwks) {
      this.#pinned = importKeySet(options.jwks)
      this.#pinned.catch(() => {})
      return
    }
    this.#refreshable = new Refreshable({
      name: 'signing keys',
      refreshEvery: options.refreshEvery,
      maxStale: options.maxStale,
      retryBase: options.retryBase,
      retryMax: options.retryMax,
      onLoad: options.onLoad,
      load: async () =>
        importKeySet(await options.http.request({ path: '/hub/auth/keys', auth: 'none' })),
    })
  }

  /** The current key set without I/O */
  peek(): KeySet | undefined {
    return this.#refreshable?.peek()
  }

  /** The key set, fetching it (once, shared) on first need */
  async get(): Promise<KeySet> {
    return this.#pinned ?? this.#refreshable!.get()
  }

  /** Seeds keys obtained elsewhere (a shared cache) */
  async seed(jwks: RowndJwks, loadedAt?: number) {
    this.#refreshable?.set(await importKeySet(jwks), loadedAt)
  }

  /**
   * The key for `kid`. Unknown kid: refetch (at most once per cooldown,
   * shared); the refetch failing is an outage (503), a completed or
   * cooling-down refetch without the kid is a bad token (401).
   */
  async resolve(kid: string): Promise<CryptoKey> {
    const current = this.peek() ?? (await this.get())
    const known = current.keys.get(kid)
    if (known) return known
    if (this.#pinned) throw new E_ROWND_UNKNOWN_KEY()

    let refetch = this.#unknownRefetch
    if (!refetch) {
      const now = Date.now()
      if (now - this.#lastUnknownRefetch >= this.#options.unknownKidCooldown) {
        this.#lastUnknownRefetch = now
      } else if (
        // A junk kid must not hide a real rotation for a whole cooldown: a kid
        // that looks like Rownd's next key gets its own, tighter-limited lane
        isPlausibleRotation(kid, current.keys, now) &&
        now - this.#lastRotationRefetch >= ROTATION_REFETCH_INTERVAL
      ) {
        this.#lastRotationRefetch = now
      } else {
        throw new E_ROWND_UNKNOWN_KEY()
      }
      debug('unknown kid: refetching signing keys')
      refetch = this.#refreshable!.refresh().finally(() => {
        this.#unknownRefetch = undefined
      })
      this.#unknownRefetch = refetch
    }
    const refreshed = await refetch
    const key = refreshed.keys.get(kid)
    if (key) return key
    throw new E_ROWND_UNKNOWN_KEY()
  }

  close() {
    this.#refreshable?.close()
  }
}
