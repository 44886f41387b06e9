/*
 * rownd-adonis
 *
 * The emulator's signing keys: the published JWKS, the current signing key
 * and an unpublished look-alike for forged tokens.
 */

import type { CryptoKey } from 'jose'
import { createKid, generateSigningKey, type RowndPublicJwk, type SigningKey } from '../tokens.ts'

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
}
