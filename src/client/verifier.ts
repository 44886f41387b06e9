import { createHash } from 'node:crypto'
import { errors as joseErrors, jwtVerify } from 'jose'
import { LRUCache } from 'lru-cache'
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

/** SHA-256 of a raw token, base64url: the only form of a token we keep or log */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
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
  #toleranceSeconds: number

  constructor(options: VerifierOptions) {
    this.#options = options
    this.#toleranceSeconds = options.clockTolerance / 1000
    this.#cache = new LRUCache({ max: options.cacheMaxEntries, ttlAutopurge: false })
  }

  get cacheSize() {
    return this.#cache.size
  }

  /** Drops cached verifications (all of them, or one user's) */
  evict(userId?: string) {
    if (userId === undefined) return this.#cache.clear()
    for (const [hash, token] of this.#cache.entries()) {
      if (token.userId === userId) this.#cache.delete(hash)
    }
  }

  evictHash(hash: string) {
    this.#cache.delete(hash)
  }

  async verify(token: unknown): Promise<RowndToken> {
    if (typeof token !== 'string' || token.length === 0) throw new E_ROWND_TOKEN_MISSING()
    if (token.length > this.#options.maxTokenLength) {
      throw new E_ROWND_TOKEN_MALFORMED('Rownd access token is too long')
    }

    const hash = hashToken(token)
    const cached = this.#cache.get(hash)
    if (cached) {
      if (cached.expiresAt + this.#toleranceSeconds < Date.now() / 1000) {
        this.#cache.delete(hash)
        throw new E_ROWND_TOKEN_EXPIRED()
      }
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
    for (const part of parts) {
      if (Buffer.from(part, 'base64url').toString('base64url') !== part) {
        throw new E_ROWND_TOKEN_MALFORMED()
      }
    }

    const headerText = Buffer.from(parts[0], 'base64url').toString('utf8')
    const payloadText = Buffer.from(parts[1], 'base64url').toString('utf8')
    let header: Record<string, unknown>
    try {
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

    let payload: Record<string, unknown>
    try {
      const result = await jwtVerify(token, key, {
        algorithms: ['EdDSA'],
        issuer: this.#options.issuer,
        clockTolerance: this.#toleranceSeconds,
        requiredClaims: ['exp'],
      })
      payload = result.payload as Record<string, unknown>
    } catch (error) {
      throw mapJoseError(error, hash)
    }

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

function mapJoseError(error: unknown, hash: string): Error {
  debug('token %s rejected: %s', hash.slice(0, 12), (error as Error)?.constructor?.name)
  if (error instanceof joseErrors.JWTExpired) return new E_ROWND_TOKEN_EXPIRED()
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new E_ROWND_BAD_SIGNATURE()
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing')
      return new E_ROWND_TOKEN_MALFORMED(`Rownd access token has no ${error.claim} claim`)
    // A claim of the wrong type (`"exp": "soon"`) is malformed, not expired
    if (error.reason === 'invalid')
      return new E_ROWND_TOKEN_MALFORMED('Rownd access token has claims of the wrong type')
    if (error.claim === 'iss') return new E_ROWND_TOKEN_ISSUER()
    if (error.claim === 'nbf') return new E_ROWND_TOKEN_NOT_YET_VALID()
    if (error.claim === 'exp') return new E_ROWND_TOKEN_EXPIRED()
    return new E_ROWND_TOKEN_MALFORMED('Rownd access token has an invalid claim')
  }
  return new E_ROWND_TOKEN_MALFORMED()
}
