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

  /**
   * Whether `token` was revoked, alone or with every token of its user.
   * `iat` has one-second resolution: a token issued in the very second of a
   * sign-out is let through, so signing straight back in works (the other
   * choice would lock the user out for the new token's whole lifetime).
   */
  isRevoked(token: RowndToken): boolean {
    if (this.#entries.size === 0) return false
    const entry = this.#entries.get(token.userId)
    if (!entry) return false
    if (entry.before !== undefined && (token.issuedAt ?? 0) < Math.floor(entry.before / 1000)) {
      return true
    }
    return entry.tokens !== undefined && token.hash in entry.tokens
  }

  /**
   * Whether a session established at `establishedAt` (unix ms) is revoked:
   * by a sign-out of its user since then, or because the token that opened
   * it (`tokenHash`) was revoked on its own.
   */
  isSessionRevoked(userId: string, establishedAt: number, tokenHash?: string): boolean {
    if (this.#entries.size === 0) return false
    const entry = this.#entries.get(userId)
    if (!entry) return false
    if (entry.before !== undefined && establishedAt <= entry.before) return true
    return tokenHash !== undefined && entry.tokens !== undefined && tokenHash in entry.tokens
  }

  get(userId: string): RevocationEntry | undefined {
    return this.#entries.get(userId)
  }

  /** Merges an entry (a local revocation, or one read from a shared store) */
  merge(userId: string, incoming: RevocationEntry): RevocationEntry {
    const merged = mergeRevocations(this.#entries.get(userId), incoming)
    this.#entries.set(userId, merged)
    return merged
  }
}

/** Union of two revocation entries, dropping single-token revocations that expired */
export function mergeRevocations(
  current: RevocationEntry | undefined,
  incoming: RevocationEntry
): RevocationEntry {
  const now = Date.now() / 1000
  const merged: RevocationEntry = {}
  const before = Math.max(
    current?.before ?? Number.NEGATIVE_INFINITY,
    incoming.before ?? Number.NEGATIVE_INFINITY
  )
  if (Number.isFinite(before)) merged.before = before
  const tokens: Record<string, number> = {}
  for (const source of [current?.tokens, incoming.tokens]) {
    for (const [hash, exp] of Object.entries(source ?? {})) {
      if (exp > now) tokens[hash] = exp
    }
  }
  if (Object.keys(tokens).length > 0) merged.tokens = tokens
  return merged
}
