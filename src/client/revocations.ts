import { LRUCache } from 'lru-cache'
import type { RowndToken } from '../types.ts'

/** How long a per-user revocation is remembered: longer than any Rownd token lives */
export const USER_REVOCATION_TTL = 25 * 60 * 60 * 1000

export interface RevocationEntry {
  /** Tokens and sessions of this user issued at or before this time (unix ms) are revoked */
  before?: number
  /** Hashes of single revoked tokens, with their expiry (unix seconds) */
  tokens?: Record<string, number>
}

/**
 * Revoked tokens and users, checked synchronously on every request. Held
 * per user (a revoked token is known by its user once verified), bounded,
 * and forgotten once the tokens it covers would have expired anyway.
 */
export class RevocationList {
  #entries: LRUCache<string, RevocationEntry>

  constructor(maxEntries = 100_000) {
    this.#entries = new LRUCache({ max: maxEntries, ttl: USER_REVOCATION_TTL })
  }

  get size() {
    return this.#entries.size
  }

  /** Whether `token` was revoked, alone or with every token of its user */
  isRevoked(token: RowndToken): boolean {
    if (this.#entries.size === 0) return false
    const entry = this.#entries.get(token.userId)
    if (!entry) return false
    if (entry.before !== undefined && (token.issuedAt ?? 0) * 1000 <= entry.before) return true
    return entry.tokens !== undefined && token.hash in entry.tokens
  }

  /** Whether a session established at `establishedAt` (unix ms) for this user is revoked */
  isSessionRevoked(userId: string, establishedAt: number): boolean {
    if (this.#entries.size === 0) return false
    const before = this.#entries.get(userId)?.before
    return before !== undefined && establishedAt <= before
  }

  get(userId: string): RevocationEntry | undefined {
    return this.#entries.get(userId)
  }

  /** Merges an entry (a local revocation, or one read from a shared store) */
  merge(userId: string, incoming: RevocationEntry): RevocationEntry {
    const now = Date.now() / 1000
    const current = this.#entries.get(userId) ?? {}
    const before = Math.max(
      current.before ?? Number.NEGATIVE_INFINITY,
      incoming.before ?? Number.NEGATIVE_INFINITY
    )
    const tokens: Record<string, number> = {}
    for (const source of [current.tokens, incoming.tokens]) {
      for (const [hash, exp] of Object.entries(source ?? {})) {
        if (exp > now) tokens[hash] = exp
      }
    }
    const merged: RevocationEntry = {}
    if (Number.isFinite(before)) merged.before = before
    if (Object.keys(tokens).length > 0) merged.tokens = tokens
    this.#entries.set(userId, merged)
    return merged
  }
}
