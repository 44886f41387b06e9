import { LRUCache } from 'lru-cache'
import type { RowndToken } from '../types.ts'

/** How long a per-user revocation is kept in memory at least: longer than any Rownd token lives */
export const USER_REVOCATION_TTL = 25 * 60 * 60 * 1000

export interface RevocationEntry {
  /** Tokens and sessions of this user issued at or before this time (unix ms) are revoked */
  before?: number
  /**
   * Hashes of single revoked tokens, each with the time (unix seconds) until
   * which it must be remembered: the token's expiry plus the longest session
   * it may have opened
   */
  tokens?: Record<string, number>
}

export interface RevocationListOptions {
  /** Most users held. Default 100 000 */
  maxEntries?: number
  /** How long an entry stays in memory (ms). Default 25 h */
  ttl?: number
  /**
   * Skew allowed between Rownd's clock (`iat`) and ours (ms): tokens issued
   * up to this long before a sign-out stay valid. Default 0
   */
  clockTolerance?: number
  /** Called when an entry leaves memory (size bound or age), so it can be re-read */
  onForget?: (userId: string) => void
}

/**
 * Revoked tokens and users, checked synchronously on every request. Held
 * per user (a revoked token is known by its user once verified), bounded,
 * and aged out of memory; the persisted copy (see `PersistedRevocations`)
 * is re-read when an entry has left memory.
 */
export class RevocationList {
  #entries: LRUCache<string, RevocationEntry>
  #tolerance: number

  constructor(options: RevocationListOptions = {}) {
    this.#tolerance = options.clockTolerance ?? 0
    const onForget = options.onForget
    this.#entries = new LRUCache({
      max: options.maxEntries ?? 100_000,
      ttl: options.ttl ?? USER_REVOCATION_TTL,
      // Read on every request: no timer per millisecond (see verifier.ts)
      ttlResolution: 0,
      dispose: onForget
        ? (_value, userId, reason) => {
            if (reason === 'evict' || reason === 'expire') onForget(userId)
          }
        : undefined,
    })
  }

  get size() {
    return this.#entries.size
  }

  /**
   * Whether `token` was revoked, alone or with every token of its user.
   * The cut-off is moved back by the clock tolerance, and compared in whole
   * seconds (`iat` has one-second resolution): a token issued just after a
   * sign-out by a Rownd clock running a little behind ours stays valid, so
   * signing straight back in works.
   */
  isRevoked(token: RowndToken): boolean {
    if (this.#entries.size === 0) return false
    const entry = this.#entries.get(token.userId)
    if (!entry) return false
    if (
      entry.before !== undefined &&
      (token.issuedAt ?? 0) < Math.floor((entry.before - this.#tolerance) / 1000)
    ) {
      return true
    }
    return entry.tokens !== undefined && token.hash in entry.tokens
  }

  /**
   * Whether a session established at `establishedAt` (unix ms, our clock) is
   * revoked: by a sign-out of its user since then, or because the token that
   * opened it (`tokenHash`) was revoked on its own.
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

  /** Merges an entry (a local revocation, or one read from a store) */
  merge(userId: string, incoming: RevocationEntry): RevocationEntry {
    const merged = mergeRevocations(this.#entries.get(userId), incoming)
    this.#entries.set(userId, merged)
    return merged
  }
}

/** Union of two revocation entries, dropping single-token revocations no longer needed */
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
    for (const [hash, keepUntil] of Object.entries(source ?? {})) {
      if (keepUntil > now) tokens[hash] = Math.max(tokens[hash] ?? 0, keepUntil)
    }
  }
  if (Object.keys(tokens).length > 0) merged.tokens = tokens
  return merged
}

/** Whether `stored` already revokes everything `entry` revokes */
export function coversRevocation(stored: RevocationEntry, entry: RevocationEntry): boolean {
  if (entry.before !== undefined && (stored.before ?? Number.NEGATIVE_INFINITY) < entry.before) {
    return false
  }
  const now = Date.now() / 1000
  for (const [hash, keepUntil] of Object.entries(entry.tokens ?? {})) {
    if (keepUntil > now && !(stored.tokens && hash in stored.tokens)) return false
  }
  return true
}
