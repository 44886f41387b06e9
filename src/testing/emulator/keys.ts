/*
 * rownd-adonis
 *
 * The emulator's signing keys: the published JWKS, the current signing key
 * and an unpublished look-alike for forged tokens.
 */

import { exportJWK, importJWK, type CryptoKey } from 'jose'
import { createKid, generateSigningKey, type RowndPublicJwk, type SigningKey } from '../tokens.ts'
import type { PersistedKey } from './persistence.ts'

export class KeyRing {
  #allKids = new Set<string>()
  #published: SigningKey[] = []
  #current?: SigningKey
  #foreign?: SigningKey

  /** Creates a key with a fresh kid, publishes it and signs with it from now on */
  async add(): Promise<SigningKey> {
    const key = await generateSigningKey(createKid(this.#allKids))
    this.#allKids.add(key.kid)
    this.#published.push(key)
    this.#current = key
    return key
  }

  /** Keeps only the current key published */
  withdrawAllButCurrent() {
    this.#published = [this.current]
  }

  get current(): SigningKey {
    if (!this.#current) throw new Error('The Rownd emulator has no signing key yet')
    return this.#current
  }

  get jwks(): { keys: RowndPublicJwk[] } {
    return { keys: this.#published.map((key) => ({ ...key.publicJwk })) }
  }

  /** A key never published, created once, to sign tokens that must fail verification */
  async foreignKey(): Promise<CryptoKey> {
    this.#foreign ??= await generateSigningKey(this.current.kid)
    return this.#foreign.privateKey
  }

  /** Every published key with its private JWK, and the current kid (see persistence.ts) */
  async export(): Promise<{ current: string; keys: PersistedKey[] }> {
    const keys = await Promise.all(
      this.#published.map(async (key) => ({
        kid: key.kid,
        jwk: await exportJWK(key.privateKey),
        published: true,
      }))
    )
    return { current: this.current.kid, keys }
  }

  /** Replaces the keys with persisted ones; false when none of them can sign */
  async restore(state: { current: string; keys: PersistedKey[] }): Promise<boolean> {
    const restored: SigningKey[] = []
    for (const entry of state.keys) {
      const { d, ...publicJwk } = entry.jwk
      if (typeof d !== 'string' || entry.jwk.crv !== 'Ed25519') continue
      const privateKey = (await importJWK({ ...entry.jwk, alg: 'EdDSA' }, 'EdDSA', {
        extractable: true,
      })) as CryptoKey
      const publicKey = (await importJWK({ ...publicJwk, alg: 'EdDSA' }, 'EdDSA', {
        extractable: true,
      })) as CryptoKey
      restored.push({
        kid: entry.kid,
        privateKey,
        publicKey,
        publicJwk: {
          kty: 'OKP',
          crv: 'Ed25519',
          alg: 'EdDSA',
          use: 'sig',
          kid: entry.kid,
          x: publicJwk.x!,
        },
      })
    }
    const current = restored.find((key) => key.kid === state.current) ?? restored.at(-1)
    if (!current) return false
    this.#published = restored
    this.#current = current
    for (const key of restored) this.#allKids.add(key.kid)
    return true
  }
}
