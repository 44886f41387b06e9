import { KeyObject, verify as verifySignature } from 'node:crypto'
import type { CryptoKey } from 'jose'
import { LRUCache } from 'lru-cache'
import { digest } from '../compat.ts'
import debug from '../debug.ts'
import {
  E_ROWND_BAD_SIGNATURE,
  E_ROWND_TOKEN_AUDIENCE,
  E_ROWND_TOKEN_EXPIRED,
  E_ROWND_TOKEN_ISSUER,
  E_ROWND_TOKEN_MALFORMED,
  E_ROWND_TOKEN_MISSING,
  E_ROWND_TOKEN_NOT_YET_VALID,
  E_ROWND_TOKEN_REVOKED,
} from '../errors.ts'
import type { RowndToken } from '../types.ts'
import type { AppConfigStore } from './app_config.ts'
import type { KeyStore } from './key_store.ts'
import type { RevocationList } from './revocations.ts'
import { hasDuplicateKeys } from './strict_json.ts'

const CLAIM = 'https://auth.rownd.io/'
const SEGMENT = /^[A-Za-z0-9_-]+$/
const KID = /^[A-Za-z0-9._:-]{1,128}$/
/** Rownd sends `alg` and `kid` only; anything else (jku, x5u, jwk, crit, b64...) is refused */
const HEADER_FIELDS = new Set(['alg', 'kid', 'typ'])
/** Invalid UTF-8 is refused; the header keeps a BOM (so it fails to parse), the payload drops it */
const HEADER_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const PAYLOAD_UTF8 = new TextDecoder('utf-8', { fatal: true })
/** Node key objects of the imported signing keys, made once per key */
const keyObjects = new WeakMap<CryptoKey, KeyObject>()

export interface VerifierOptions {
  keys: KeyStore
  appConfig: AppConfigStore
  revocations: RevocationList
  issuer: string
  /** Milliseconds */
  clockTolerance: number
  maxTokenLength: number
  cacheMaxEntries: number
  /** Before a freshly verified token's revocation check: may load the user's shared revocations */
  userSeen?: (userId: string) => Promise<void> | undefined
}

/** Value of each base64url character, -1 for anything else */
const BASE64URL_VALUES = new Int8Array(128).fill(-1)
for (const [index, char] of [
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
].entries()) {
  BASE64URL_VALUES[char.charCodeAt(0)] = index
}

/**
 * Whether an unpadded base64url segment is spelled canonically: the bits
 * its last character carries beyond the data must be zero (checked
 * without decoding, since this runs for every new token).
 */
function isCanonical(segment: string): boolean {
  const rest = segment.length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const value = BASE64URL_VALUES[segment.charCodeAt(segment.length - 1)] ?? -1
  if (value < 0) return false
  return rest === 2 ? (value & 0x0f) === 0 : (value & 0x03) === 0
}

/** SHA-256 of a raw token, base64url: the only form of a token we cache, store, share or log */
export function hashToken(token: string): string {
  // One-shot hash: no Hash object per request
  return digest('sha256', token, 'base64url')
}

/**
 * Verifies Rownd access tokens: EdDSA only, signed by a published Rownd key,
 * `aud` an array holding `app:<app id>`, `iss` as configured, `exp`
 * required, `nbf`/`iat` not in the future (with clock tolerance). Verified
 * tokens are cached by SHA-256 until they expire, so a repeated token
 * skips the signature check.
 */
export class TokenVerifier {
  #options: VerifierOptions
  #cache: LRUCache<string, RowndToken>
  /**
   * The last token verifyWarm() hashed and missed: verify() runs right
   * after it, in the same tick, and need not hash it again
   */
  #missed?: { token: string; hash: string }
  /**
   * Per connection, the last cached token seen on it. A keep-alive
   * connection (a browser's, an API client's) sends the same token request
   * after request: comparing it with the last one costs far less than
   * hashing it. Keyed weakly, so an entry lives as long as its connection.
   */
  #lastOnConnection = new WeakMap<object, { raw: string; token: RowndToken; generation: number }>()
  /** Bumped by evict(): per-connection entries from before it no longer count */
  #generation = 0
  #toleranceSeconds: number

  constructor(options: VerifierOptions) {
    this.#options = options
    this.#toleranceSeconds = options.clockTolerance / 1000
    // ttlResolution 0: read the clock on each get rather than arm a timer every millisecond
    this.#cache = new LRUCache({
      max: options.cacheMaxEntries,
      ttlAutopurge: false,
      ttlResolution: 0,
    })
  }

  get cacheSize() {
    return this.#cache.size
  }

  /** Drops cached verifications (all of them, or one user's) */
  evict(userId?: string) {
    this.#generation++
    if (userId === undefined) return this.#cache.clear()
    for (const [hash, token] of this.#cache.entries()) {
      if (token.userId === userId) this.#cache.delete(hash)
    }
  }

  /**
   * The verified token when everything about it is known in memory: cached,
   * unexpired, the user's stored sign-outs read lately, not revoked. Else
   * undefined, and `verify()` decides (it throws the typed errors). Lets
   * the warm path skip a promise per request. `connection` (the request's
   * socket) lets a token repeated on one connection skip the hash.
   */
  verifyWarm(token: string, connection?: object): RowndToken | undefined {
    if (token.length === 0 || token.length > this.#options.maxTokenLength) return undefined
    const last = connection && this.#lastOnConnection.get(connection)
    let cached: RowndToken | undefined
    // The whole token is compared: the same credential, not a part of it
    if (last && last.raw === token && last.generation === this.#generation) cached = last.token
    else {
      const hash = hashToken(token)
      cached = this.#cache.get(hash)
      if (!cached) {
        this.#missed = { token, hash }
        return undefined
      }
      if (connection) {
        this.#lastOnConnection.set(connection, {
          raw: token,
          token: cached,
          generation: this.#generation,
        })
      }
    }
    if (cached.expiresAt + this.#toleranceSeconds < Date.now() / 1000) return undefined
    if (this.#options.userSeen?.(cached.userId)) return undefined
    if (this.#options.revocations.isRevoked(cached)) return undefined
    return cached
  }

  async verify(token: unknown): Promise<RowndToken> {
    if (typeof token !== 'string' || token.length === 0) throw new E_ROWND_TOKEN_MISSING()
    if (token.length > this.#options.maxTokenLength) {
      throw new E_ROWND_TOKEN_MALFORMED('Rownd access token is too long')
    }

    const missed = this.#missed
    this.#missed = undefined
    const hash = missed?.token === token ? missed.hash : hashToken(token)
    const cached = this.#cache.get(hash)
    if (cached) {
      if (cached.expiresAt + this.#toleranceSeconds < Date.now() / 1000) {
        this.#cache.delete(hash)
        throw new E_ROWND_TOKEN_EXPIRED()
      }
      // Usually nothing to wait for; now and then the user's stored sign-outs are re-read
      const seen = this.#options.userSeen?.(cached.userId)
      if (seen) await seen
      if (this.#options.revocations.isRevoked(cached)) throw new E_ROWND_TOKEN_REVOKED()
      return cached
    }

    const verified = await this.#verifyUncached(token, hash)
    const seen = this.#options.userSeen?.(verified.userId)
    if (seen) await seen
    if (this.#options.revocations.isRevoked(verified)) throw new E_ROWND_TOKEN_REVOKED()
    const ttl = Math.floor((verified.expiresAt + this.#toleranceSeconds) * 1000 - Date.now())
    if (ttl > 0) this.#cache.set(hash, verified, { ttl })
    return verified
  }

  async #verifyUncached(token: string, hash: string): Promise<RowndToken> {
    const parts = token.split('.')
    if (
      parts.length !== 3 ||
      !SEGMENT.test(parts[0]) ||
      !SEGMENT.test(parts[1]) ||
      !SEGMENT.test(parts[2])
    ) {
      throw new E_ROWND_TOKEN_MALFORMED()
    }
    // Base64url leaves unused low bits in a segment's last character, so one
    // signature has several spellings that decode alike. Only the canonical
    // one is accepted: otherwise a revoked token (known by the hash of its
    // text) would verify again under another spelling.
    if (!isCanonical(parts[0]) || !isCanonical(parts[1]) || !isCanonical(parts[2])) {
      throw new E_ROWND_TOKEN_MALFORMED()
    }

    let payloadText: string
    let headerText: string
    let header: Record<string, unknown>
    try {
      payloadText = PAYLOAD_UTF8.decode(Buffer.from(parts[1], 'base64url'))
      headerText = HEADER_UTF8.decode(Buffer.from(parts[0], 'base64url'))
      header = JSON.parse(headerText)
    } catch {
      throw new E_ROWND_TOKEN_MALFORMED()
    }
    if (!header || typeof header !== 'object' || Array.isArray(header))
      throw new E_ROWND_TOKEN_MALFORMED()
    if (hasDuplicateKeys(headerText) || hasDuplicateKeys(payloadText)) {
      throw new E_ROWND_TOKEN_MALFORMED('Rownd access token has duplicate JSON keys')
    }
    for (const field of Object.keys(header)) {
      if (!HEADER_FIELDS.has(field))
        throw new E_ROWND_TOKEN_MALFORMED('Rownd access token has an unexpected header')
    }
    if (header.alg !== 'EdDSA')
      throw new E_ROWND_TOKEN_MALFORMED('Rownd access tokens are signed with EdDSA only')
    if (typeof header.kid !== 'string' || !KID.test(header.kid)) {
      throw new E_ROWND_TOKEN_MALFORMED('Rownd access token has no usable key id')
    }

    // App id and key come from memory once warm; the first calls share one fetch each
    const [app, key] = await Promise.all([
      this.#options.appConfig.get(),
      this.#options.keys.resolve(header.kid),
    ])

    const payload = verifySigned(
      parts,
      payloadText,
      key,
      this.#options.issuer,
      this.#toleranceSeconds,
      hash
    )

    const now = Date.now() / 1000
    if (typeof payload.iat === 'number' && payload.iat > now + this.#toleranceSeconds) {
      throw new E_ROWND_TOKEN_NOT_YET_VALID('Rownd access token was issued in the future')
    }
    const audience = payload.aud
    if (!Array.isArray(audience) || !audience.every((entry) => typeof entry === 'string')) {
      throw new E_ROWND_TOKEN_AUDIENCE('Rownd access token audience must be a list')
    }
    if (!audience.includes(`app:${app.id}`)) throw new E_ROWND_TOKEN_AUDIENCE()

    return toRowndToken(payload, audience as string[], hash)
  }
}

function toRowndToken(
  payload: Record<string, unknown>,
  audience: string[],
  hash: string
): RowndToken {
  const appUserId = payload[`${CLAIM}app_user_id`]
  const subject = payload.sub
  if (appUserId !== undefined && (typeof appUserId !== 'string' || appUserId.length === 0)) {
    throw new E_ROWND_TOKEN_MALFORMED('Rownd access token has an invalid app_user_id claim')
  }
  if (subject !== undefined && typeof subject !== 'string') {
    throw new E_ROWND_TOKEN_MALFORMED('Rownd access token has an invalid sub claim')
  }
  const userId = (appUserId as string | undefined) ?? (subject as string | undefined)
  if (!userId || userId.length > 256)
    throw new E_ROWND_TOKEN_MALFORMED('Rownd access token names no user')

  const isVerified = payload[`${CLAIM}is_verified_user`]
  const isAnonymous = payload[`${CLAIM}is_anonymous`]
  const authLevel = payload[`${CLAIM}auth_level`]
  if (
    (isVerified !== undefined && typeof isVerified !== 'boolean') ||
    (isAnonymous !== undefined && typeof isAnonymous !== 'boolean') ||
    (authLevel !== undefined && typeof authLevel !== 'string') ||
    (payload.iat !== undefined && typeof payload.iat !== 'number') ||
    (payload.jti !== undefined && typeof payload.jti !== 'string')
  ) {
    throw new E_ROWND_TOKEN_MALFORMED('Rownd access token has claims of the wrong type')
  }

  return {
    userId,
    subject: (subject as string | undefined) ?? userId,
    isVerifiedUser: isVerified === true,
    authLevel: authLevel as string | undefined,
    isAnonymous: isAnonymous === true,
    audience,
    issuedAt: payload.iat as number | undefined,
    expiresAt: payload.exp as number,
    id: payload.jti as string | undefined,
    hash,
    claims: Object.freeze(payload),
  }
}

/**
 * Checks the Ed25519 signature, then the registered claims, as jose's
 * jwtVerify did (EdDSA, required `iss` and `exp`, numeric dates, clock
 * tolerance), with the same outcomes. Node's one-shot `crypto.verify` runs
 * synchronously: WebCrypto (what jose uses) queues every verification as
 * a thread-pool job and jose decodes and parses the token a second time,
 * which together cost about a third of a distinct token's price.
 */
function verifySigned(
  parts: string[],
  payloadText: string,
  key: CryptoKey,
  issuer: string,
  toleranceSeconds: number,
  hash: string
): Record<string, unknown> {
  const reject = (reason: string, error: Error) => {
    debug('token %s rejected: %s', hash.slice(0, 12), reason)
    return error
  }

  let keyObject = keyObjects.get(key)
  if (!keyObject) {
    keyObject = KeyObject.from(key)
    keyObjects.set(key, keyObject)
  }
  let valid = false
  try {
    valid =
      keyObject.asymmetricKeyType === 'ed25519' &&
      verifySignature(
        null,
        Buffer.from(`${parts[0]}.${parts[1]}`),
        keyObject,
        Buffer.from(parts[2], 'base64url')
      )
  } catch {}
  if (!valid) throw reject('signature', new E_ROWND_BAD_SIGNATURE())

  let payload: Record<string, unknown>
  try {
    payload = JSON.parse(payloadText)
  } catch {
    throw reject('payload', new E_ROWND_TOKEN_MALFORMED())
  }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw reject('payload', new E_ROWND_TOKEN_MALFORMED())
  }
  for (const claim of ['iss', 'exp']) {
    if (!Object.hasOwn(payload, claim)) {
      throw reject(claim, new E_ROWND_TOKEN_MALFORMED(`Rownd access token has no ${claim} claim`))
    }
  }
  if (payload.iss !== issuer) throw reject('iss', new E_ROWND_TOKEN_ISSUER())
  // A claim of the wrong type (`"exp": "soon"`) is malformed, not expired
  for (const claim of ['iat', 'nbf', 'exp']) {
    if (payload[claim] !== undefined && typeof payload[claim] !== 'number') {
      throw reject(
        claim,
        new E_ROWND_TOKEN_MALFORMED('Rownd access token has claims of the wrong type')
      )
    }
  }
  const now = Math.floor(Date.now() / 1000)
  if (typeof payload.nbf === 'number' && payload.nbf > now + toleranceSeconds) {
    throw reject('nbf', new E_ROWND_TOKEN_NOT_YET_VALID())
  }
  if ((payload.exp as number) <= now - toleranceSeconds) {
    throw reject('exp', new E_ROWND_TOKEN_EXPIRED())
  }
  return payload
}
