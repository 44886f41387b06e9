/*
 * rownd-adonis
 *
 * Key pairs and token minting helpers used by the Rownd emulator. Exported
 * publicly so tests can craft hostile tokens by hand.
 */

import { randomBytes, randomUUID } from 'node:crypto'
import { CompactSign, exportJWK, generateKeyPair, base64url } from 'jose'
import type { CryptoKey, JWK, KeyObject } from 'jose'

/**
 * Namespaced claims Rownd puts in its access tokens
 */
export const ROWND_CLAIMS = {
  appUserId: 'https://auth.rownd.io/app_user_id',
  isVerifiedUser: 'https://auth.rownd.io/is_verified_user',
  authLevel: 'https://auth.rownd.io/auth_level',
  isAnonymous: 'https://auth.rownd.io/is_anonymous',
} as const

/**
 * Authentication levels found in the `auth_level` claim
 */
export type RowndAuthLevel = 'instant' | 'unverified' | 'guest' | 'verified'

/**
 * Public JWK as served by `GET /hub/auth/keys`
 */
export type RowndPublicJwk = {
  kty: 'OKP'
  crv: 'Ed25519'
  alg: 'EdDSA'
  use: 'sig'
  kid: string
  x: string
}

/**
 * An Ed25519 key pair with its key id and public JWK
 */
export interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  publicJwk: RowndPublicJwk
}

/**
 * Returns a Rownd style key id (`sig-<unix ts>`) that is not in `taken`.
 * Rotations within the same second get a `-2`, `-3`... suffix.
 */
export function createKid(taken: Iterable<string> = [], now: number = Date.now()): string {
  const used = new Set(taken)
  const base = `sig-${Math.floor(now / 1000)}`
  if (!used.has(base)) return base
  let n = 2
  while (used.has(`${base}-${n}`)) n++
  return `${base}-${n}`
}

/**
 * Generates an extractable Ed25519 key pair, like the ones Rownd signs with
 */
export async function generateSigningKey(kid: string = createKid()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  })
  const jwk = await exportJWK(publicKey)
  return {
    kid,
    privateKey,
    publicKey,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid, x: jwk.x! },
  }
}

/**
 * Signs an arbitrary header and payload as a compact JWS. No claim is added or
 * checked, so tests can produce tokens a real issuer never would.
 * `header.alg` wins over the `alg` argument when both are set.
 */
export async function signCompact(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  key: CryptoKey | KeyObject | JWK | Uint8Array,
  alg: string = 'EdDSA'
): Promise<string> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  return new CompactSign(new TextEncoder().encode(body))
    .setProtectedHeader({ alg, ...header } as { alg: string })
    .sign(key)
}

/**
 * Base64url encodes a header, payload and signature without signing anything.
 * Strings are encoded verbatim, which lets tests craft JSON that
 * `JSON.stringify` cannot produce (duplicate keys, odd whitespace...).
 */
export function encodeUnsigned(
  header: Record<string, unknown> | string,
  payload: Record<string, unknown> | string,
  signature: string | Uint8Array = ''
): string {
  const part = (value: Record<string, unknown> | string) =>
    base64url.encode(typeof value === 'string' ? value : JSON.stringify(value))
  const sig = typeof signature === 'string' ? signature : base64url.encode(signature)
  return `${part(header)}.${part(payload)}.${sig}`
}

/**
 * Random token id, same spirit as Rownd's uuid `jti`
 */
export function randomJti(): string {
  return randomUUID()
}

/**
 * Random lowercase alphanumeric string, used for ids
 */
export function randomId(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  const bytes = randomBytes(length)
  let out = ''
  for (const byte of bytes) out += alphabet[byte % alphabet.length]
  return out
}

/**
 * Input of {@link buildRowndClaims}
 */
export interface RowndClaimsInput {
  appId: string
  issuer: string
  userId: string
  sub: string
  authLevel: RowndAuthLevel
  isVerifiedUser: boolean
  /** Rownd writes this claim on anonymous (guest) tokens only: undefined leaves it out */
  isAnonymous?: boolean
  issuedAt: number
  expiresAt: number
}

/**
 * Builds the payload of a Rownd access token, claims in the order Rownd
 * writes them (docs/notes/rownd_token_claims.md)
 */
export function buildRowndClaims(input: RowndClaimsInput): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    jti: randomJti(),
    aud: [`app:${input.appId}`],
    sub: input.sub,
    iat: input.issuedAt,
    [ROWND_CLAIMS.appUserId]: input.userId,
    [ROWND_CLAIMS.isVerifiedUser]: input.isVerifiedUser,
  }
  if (input.isAnonymous !== undefined) claims[ROWND_CLAIMS.isAnonymous] = input.isAnonymous
  claims[ROWND_CLAIMS.authLevel] = input.authLevel
  claims.iss = input.issuer
  claims.exp = input.expiresAt
  return claims
}

/**
 * Applies overrides to an object: `undefined` values delete the key
 */
export function applyOverrides(
  target: Record<string, unknown>,
  overrides: Record<string, unknown> | undefined
): Record<string, unknown> {
  if (!overrides) return target
  const out: Record<string, unknown> = { ...target }
  for (const key of Object.keys(overrides)) {
    const value = overrides[key]
    if (value === undefined) delete out[key]
    else out[key] = value
  }
  return out
}
