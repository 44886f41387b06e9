import type { Knex } from 'knex'
import debug from '../debug.ts'
import type { RevocationEntry } from '../client/revocations.ts'
import type { RevocationStore } from '../client/persisted_revocations.ts'
import { isMissingTable } from './driver_errors.ts'

/** The part of Lucid's `Database` service this store uses */
export interface LucidDatabaseLike {
  primaryConnectionName: string
  connection(name?: string): { dialect: { name: string }; getWriteClient(): Knex }
}

export interface LucidRevocationStoreOptions {
  /** Resolves Lucid's database service (lazily: nothing loads until first use) */
  database: () => Promise<LucidDatabaseLike>
  table: string
  connection?: string
  /** Warned once when the table is missing */
  logger?: { warn(message: string): void }
}

/** Token rows past their retention are deleted at most this often */
const PRUNE_INTERVAL = 60 * 60 * 1000

/**
 * Persists sign-outs in the `rownd_revocations` table (see the migration
 * `node ace configure rownd-adonis` writes): one row per signed-out Rownd
 * user (`token_hash` empty, `revoked_before` = the cut-off, unix ms) and one
 * per revoked token (`token_hash` = SHA-256 of the token, deletable after
 * `expires_at`). Never a raw token.
 *
 * Reads go to the write connection: a replica lagging behind would let a
 * revoked session back in. A missing table (migration not run) is warned
 * about once and treated as "nothing persisted", so an upgraded app keeps
 * running; `node ace rownd:doctor` reports it.
 */
export class LucidRevocationStore implements RevocationStore {
  #options: LucidRevocationStoreOptions
  #missingWarned = false
  #lastPrune = 0

  constructor(options: LucidRevocationStoreOptions) {
    this.#options = options
  }

  async #client() {
    const db = await this.#options.database()
    return db.connection(this.#options.connection ?? db.primaryConnectionName)
  }

  #missing(error: unknown): boolean {
    if (!isMissingTable(error)) return false
    if (!this.#missingWarned) {
      this.#missingWarned = true
      this.#options.logger?.warn(
        `rownd-adonis: table "${this.#options.table}" is missing, so sign-outs do not survive a restart. ` +
          'Run "node ace configure rownd-adonis" (it writes only the missing migration), then "node ace migration:run"'
      )
    }
    return true
  }

  async read(userId: string): Promise<RevocationEntry | undefined> {
    let rows: { token_hash: string; revoked_before: unknown; expires_at: unknown }[]
    try {
      const client = await this.#client()
      const knex = client.getWriteClient()
      rows = await knex(this.#options.table)
        .select('token_hash', 'revoked_before', 'expires_at')
        .where('rownd_user_id', userId)
    } catch (error) {
      if (this.#missing(error)) return undefined
      throw error
    }
    const entry: RevocationEntry = {}
    const now = Date.now()
    for (const row of rows) {
      // bigint columns come back as strings from some drivers
      const before = row.revoked_before === null ? Number.NaN : Number(row.revoked_before)
      const expires = row.expires_at === null ? Number.NaN : Number(row.expires_at)
      if (row.token_hash === '') {
        if (Number.isFinite(before)) entry.before = Math.max(entry.before ?? 0, before)
      } else if (Number.isFinite(expires) && expires > now) {
        entry.tokens ??= {}
        entry.tokens[row.token_hash] = expires / 1000
      }
    }
    return entry.before === undefined && entry.tokens === undefined ? undefined : entry
  }

  async write(userId: string, entry: RevocationEntry): Promise<void> {
    try {
      const client = await this.#client()
      const knex = client.getWriteClient()
      const table = this.#options.table
      if (entry.before !== undefined) {
        await knex(table)
          .insert({ rownd_user_id: userId, token_hash: '', revoked_before: entry.before })
          .onConflict(['rownd_user_id', 'token_hash'])
          .merge({ revoked_before: this.#greatest(knex, client.dialect.name, 'revoked_before') })
      }
      const tokens = Object.entries(entry.tokens ?? {})
      if (tokens.length > 0) {
        await knex(table)
          .insert(
            tokens.map(([hash, keepUntil]) => ({
              rownd_user_id: userId,
              token_hash: hash,
              expires_at: Math.ceil(keepUntil * 1000),
            }))
          )
          .onConflict(['rownd_user_id', 'token_hash'])
          .merge({ expires_at: this.#greatest(knex, client.dialect.name, 'expires_at') })
      }
      await this.#prune(knex)
    } catch (error) {
      if (this.#missing(error)) return
      throw error
    }
  }

  /**
   * `column = max(stored, incoming)` in each dialect's upsert syntax, so two
   * instances writing at once never lower a cut-off
   */
  #greatest(knex: Knex, dialect: string, column: string) {
    const table = this.#options.table
    switch (dialect) {
      case 'postgres':
      case 'redshift':
        return knex.raw('GREATEST(??, excluded.??)', [`${table}.${column}`, column])
      case 'mysql':
        return knex.raw('GREATEST(??, VALUES(??))', [column, column])
      case 'sqlite3':
      case 'better-sqlite3':
      case 'libsql':
        return knex.raw('MAX(??, excluded.??)', [column, column])
      default:
        return knex.raw('excluded.??', [column])
    }
  }

  /** Deletes token rows nobody needs any more, at most once an hour */
  async #prune(knex: Knex) {
    const now = Date.now()
    if (now - this.#lastPrune < PRUNE_INTERVAL) return
    this.#lastPrune = now
    const deleted = await knex(this.#options.table)
      .whereNot('token_hash', '')
      .where('expires_at', '<', now)
      .delete()
    if (deleted) debug('pruned %d expired token revocations', deleted)
  }
}
