import { randomBytes } from 'node:crypto'
import type { LucidModel, LucidRow, ModelAdapterOptions } from '@adonisjs/lucid/types/model'
import { symbols } from '@adonisjs/auth'
import { RuntimeException } from '@adonisjs/core/exceptions'
import { LRUCache } from 'lru-cache'
import { toMs } from '../define_config.ts'
import debug from '../debug.ts'
import {
  E_ROWND_ACCOUNT_CONFLICT,
  E_ROWND_API_ERROR,
  E_ROWND_PROFILE_INCOMPLETE,
  E_ROWND_USER_NOT_FOUND,
} from '../errors.ts'
import type {
  RowndEmitter,
  RowndLookupContext,
  RowndUserLookup,
  RowndUserProviderContract,
} from '../guard/types.ts'
import type { Duration, RowndProfile, RowndToken } from '../types.ts'
import { isUniqueViolation, notNullViolation } from '../database/driver_errors.ts'
import {
  findRow,
  isFlatRow,
  hasAfterFind,
  instanceFrom,
  toInstance,
  watchModel,
  type RawRow,
} from './lucid_rows.ts'

type ModelLoader<Model extends LucidModel> = () => Promise<{ default: Model }>

export interface RowndLucidUserProviderOptions<Model extends LucidModel> {
  /** The user model, lazily imported: `() => import('#models/user')` */
  model: ModelLoader<Model>
  /** Model attribute holding the Rownd user id. Default `'rowndUserId'` (column `rownd_user_id`) */
  rowndIdColumn?: string
  /** Model attribute holding the email used for linking. Default `'email'` */
  emailColumn?: string
  /** Link an existing row whose email Rownd has verified. Default true */
  link?: boolean
  /** Create a user on first sign-in. Default true */
  create?: boolean
  /**
   * Attributes written on creation and synced on session sign-in, webhook
   * deliveries, the Hub's data update call and `rownd:sync`. Default: the
   * email Rownd verified (never an unverified one), first/last name or full
   * name, where the model has such columns. `token` is the sign-in's token,
   * undefined when no sign-in is involved (webhooks, the Hub's data update,
   * `rownd:sync`).
   */
  mapProfile?: (profile: RowndProfile, token?: RowndToken) => Record<string, unknown>
  /**
   * Model attribute holding a password hash. Rows Rownd creates get an
   * unusable one (the hash of random bytes nobody knows, like Django's
   * `set_unusable_password`): a `password NOT NULL` column is satisfied, and
   * the app's password login answers "invalid credentials" after a real hash
   * check, as for any wrong password. Default `'password'` when the model
   * has that column; `false` to never set it
   */
  passwordColumn?: string | false
  /**
   * Keeps users' rows in memory by Rownd id so warm requests skip the
   * database. On by default (`ttl` 10 s, 10 000 entries). Every request
   * gets its own model instance built from the cached row, so nothing one
   * request changes or attaches reaches another. An entry is dropped when
   * its row is saved or deleted through Lucid in this process, and on every
   * instance when the user is revoked or signed out. A row changed any
   * other way (a query builder `update`, another process) is seen up to
   * `ttl` late. `false` turns it off.
   */
  identityCache?: { ttl?: Duration; maxEntries?: number } | false
}

/** An identity cache entry: the row as read, never an instance a request holds */
interface CachedIdentity {
  /** The primary key, as a string */
  key: string
  row: RawRow
  /** Only primitive values: instances are built from it without a copy */
  flat: boolean
  options: ModelAdapterOptions
}

/** What `planForProfile` found: the dry run of `rownd:sync` */
export type RowndProfilePlan<User> =
  | { action: 'existing'; user: User }
  | { action: 'link'; user: User }
  | { action: 'create'; attributes: Record<string, unknown> }
  | { action: 'conflict' }
  | { action: 'not_found' }
  | { action: 'incomplete'; column: string }

/** What hashes a password: the app's `hash` service */
export interface PasswordHasher {
  make(value: string): Promise<string>
}

/** Lowercased verified email of a profile, if Rownd verified one */
function verifiedEmail(profile: RowndProfile): string | undefined {
  const email = profile.verified_data?.email
  return typeof email === 'string' && email.length > 0 ? email.toLowerCase() : undefined
}

/** The verified email as Rownd spells it: the only email ever written to a row */
function verifiedEmailAsSent(profile: RowndProfile): string | undefined {
  const email = profile.verified_data?.email
  return typeof email === 'string' && email.length > 0 ? email : undefined
}

/** Any email of the profile, verified or not: used to detect collisions only */
function profileEmail(profile: RowndProfile): string | undefined {
  const email = profile.data?.email ?? profile.verified_data?.email
  return typeof email === 'string' && email.length > 0 ? email : undefined
}

/**
 * Maps Rownd users onto a Lucid model: by the Rownd id column, else by an
 * email Rownd has verified (linking), else by creating the row. Exactly one
 * row per Rownd user under concurrency: concurrent lookups in one process
 * share one attempt, and across processes the unique constraint decides.
 */
export class RowndLucidUserProvider<Model extends LucidModel> implements RowndUserProviderContract<
  InstanceType<Model>
> {
  declare [symbols.PROVIDER_REAL_USER]: InstanceType<Model>

  #options: RowndLucidUserProviderOptions<Model>
  #model?: Model
  #emitter?: RowndEmitter
  #hasher?: PasswordHasher
  #pending = new Map<string, Promise<RowndUserLookup<InstanceType<Model>>>>()
  /** Cached rows as the database returned them, by Rownd id */
  #identities?: LRUCache<string, CachedIdentity>
  /** Rownd id of each cached row by primary key: a save or delete finds its entry */
  #cachedKeys = new Map<string, string>()
  /**
   * Counts drops: a row read before a save or revocation finished must not
   * be cached after it (the read may hold the old values)
   */
  #drops = 0
  /** The table's column definitions, read once (dry runs of `rownd:sync`) */
  #columnsInfo?: Promise<Record<string, { nullable?: boolean; defaultValue?: unknown }>>
  readonly rowndIdColumn: string
  readonly emailColumn: string

  constructor(
    options: RowndLucidUserProviderOptions<Model>,
    emitter?: RowndEmitter,
    hasher?: PasswordHasher
  ) {
    this.#options = options
    this.#emitter = emitter
    this.#hasher = hasher
    this.rowndIdColumn = options.rowndIdColumn ?? 'rowndUserId'
    this.emailColumn = options.emailColumn ?? 'email'
    if (options.identityCache !== false) {
      this.#identities = new LRUCache<string, CachedIdentity>({
        max: options.identityCache?.maxEntries ?? 10_000,
        ttl: toMs(options.identityCache?.ttl, '10s'),
        // Read on every request: no timer per millisecond (see verifier.ts)
        ttlResolution: 0,
        dispose: (entry, rowndUserId) => {
          if (this.#cachedKeys.get(entry.key) === rowndUserId) this.#cachedKeys.delete(entry.key)
        },
      })
    }
  }

  /** Number of cached identities (0 when the cache is off) */
  get identityCacheSize() {
    return this.#identities?.size ?? 0
  }

  async getModel(): Promise<Model> {
    if (this.#model) return this.#model
    const imported = await this.#options.model()
    const model = imported.default
    if (!model || typeof model.query !== 'function') {
      throw new RuntimeException(
        'rowndUserProvider: "model" must import a Lucid model as default export'
      )
    }
    if (!model.$hasColumn(this.rowndIdColumn)) {
      throw new RuntimeException(
        `rowndUserProvider: ${model.name} has no "${this.rowndIdColumn}" column (run the rownd-adonis migration)`
      )
    }
    model.boot()
    // A row saved or deleted through Lucid must not be served from the cache
    if (this.#identities) watchModel(model, (row) => this.#dropRow(row))
    this.#model = model
    return model
  }

  #dropRow(row: LucidRow) {
    const rowndUserId = this.#cachedKeys.get(String(row.$primaryKeyValue))
    if (rowndUserId) this.forget(rowndUserId)
    const current = (row as LucidRow & Record<string, unknown>)[this.rowndIdColumn]
    if (typeof current === 'string') this.forget(current)
  }

  #column(model: Model, attribute: string) {
    return model.$getColumn(attribute)?.columnName ?? attribute
  }

  getId(user: InstanceType<Model>): string | number {
    return (user as LucidRow).$primaryKeyValue as string | number
  }

  getRowndUserId(user: InstanceType<Model>): string | null | undefined {
    return (user as any)[this.rowndIdColumn]
  }

  forget(rowndUserId: string) {
    this.#drops++
    this.#identities?.delete(rowndUserId)
  }

  /**
   * A fresh instance of this token's user from the identity cache, without
   * a promise (the guard's warm path); undefined when not cached or when
   * the model's after:find hooks must run (`findForToken` does it then)
   */
  cachedUser(token: RowndToken): InstanceType<Model> | undefined {
    const entry = this.#identities?.get(token.userId)
    if (!entry || hasAfterFind(this.#model!)) return undefined
    return instanceFrom(this.#model!, entry.row, entry.options, entry.flat)
  }

  /** A fresh instance of a cached row of this Rownd user, if any (nothing to await when off) */
  #cached(rowndUserId: string): InstanceType<Model> | Promise<InstanceType<Model>> | undefined {
    const entry = this.#identities?.get(rowndUserId)
    if (!entry) return undefined
    return toInstance(this.#model!, entry.row, entry.options, entry.flat)
  }

  #remember(
    rowndUserId: string,
    model: Model,
    found: { row: RawRow; options: ModelAdapterOptions },
    drops: number
  ) {
    if (!this.#identities || drops !== this.#drops) return
    const key = String(found.row[this.#column(model, model.primaryKey)])
    this.#identities.set(rowndUserId, {
      key,
      row: found.row,
      flat: isFlatRow(found.row),
      options: found.options,
    })
    this.#cachedKeys.set(key, rowndUserId)
  }

  async findById(id: string | number, rowndUserId?: string): Promise<InstanceType<Model> | null> {
    if (rowndUserId && this.#identities) {
      const entry = this.#identities.get(rowndUserId)
      // The session's row must still be the one this Rownd user maps to
      if (entry && entry.key === String(id))
        return toInstance(this.#model!, entry.row, entry.options, entry.flat)
    }
    const model = await this.getModel()
    const drops = this.#drops
    const found = await findRow(model, this.#column(model, model.primaryKey), id)
    if (!found) return null
    const user = await toInstance(model, found.row, found.options)
    if (rowndUserId && this.getRowndUserId(user) === rowndUserId) {
      this.#remember(rowndUserId, model, found, drops)
    }
    return user
  }

  async findForToken(
    token: RowndToken,
    context: RowndLookupContext
  ): Promise<RowndUserLookup<InstanceType<Model>>> {
    const cached = this.#cached(token.userId)
    if (cached) return { user: await cached, created: false, linked: false }

    // Concurrent first requests of one user in this process share one
    // attempt; the others then read the row for an instance of their own
    const pending = this.#pending.get(token.userId)
    if (pending) {
      const shared = await pending
      const user =
        (await this.#cached(token.userId)) ??
        (await this.#findByRowndId(await this.getModel(), token.userId))
      return { user: user ?? shared.user, created: false, linked: false }
    }
    const attempt = this.#resolve(token.userId, context, token).finally(() =>
      this.#pending.delete(token.userId)
    )
    this.#pending.set(token.userId, attempt)
    return attempt
  }

  /**
   * Finds, links or creates the row of a Rownd user from a profile read
   * from Rownd's users API, with the rules of sign-in (no token involved):
   * the Rownd id, else a row whose email Rownd verified, else a new row.
   * Throws as sign-in does: `E_ROWND_ACCOUNT_CONFLICT`,
   * `E_ROWND_USER_NOT_FOUND` (`create: false`), `E_ROWND_PROFILE_INCOMPLETE`.
   * Used by `node ace rownd:sync`.
   */
  async findOrCreateForProfile(
    rowndUserId: string,
    profile: RowndProfile,
    context: { guardName?: string } = {}
  ): Promise<RowndUserLookup<InstanceType<Model>>> {
    const pending = this.#pending.get(rowndUserId)
    if (pending) return pending
    const lookup: RowndLookupContext = {
      guardName: context.guardName,
      profile: async () => profile,
    }
    const attempt = this.#resolve(rowndUserId, lookup).finally(() =>
      this.#pending.delete(rowndUserId)
    )
    this.#pending.set(rowndUserId, attempt)
    return attempt
  }

  /**
   * What `findOrCreateForProfile` would do, without writing anything (the
   * dry run of `rownd:sync`). A row the database would refuse for an empty
   * NOT NULL column is reported as `incomplete`, read from the table's
   * column definitions.
   */
  async planForProfile(
    rowndUserId: string,
    profile: RowndProfile
  ): Promise<RowndProfilePlan<InstanceType<Model>>> {
    const model = await this.getModel()
    const existing = await this.#findByRowndId(model, rowndUserId)
    if (existing) return { action: 'existing', user: existing }

    const linkEnabled = this.#options.link !== false && model.$hasColumn(this.emailColumn)
    const email = profileEmail(profile)
    if (linkEnabled && email) {
      const lowered = email.toLowerCase()
      const match = await this.#findByEmail(model, lowered)
      if (match) {
        if (this.getRowndUserId(match) === rowndUserId) return { action: 'existing', user: match }
        if (verifiedEmail(profile) !== lowered || this.getRowndUserId(match)) {
          return { action: 'conflict' }
        }
        return { action: 'link', user: match }
      }
    }
    if (this.#options.create === false) return { action: 'not_found' }

    const attributes: Record<string, unknown> = {
      ...this.mapProfile(model, profile),
      [this.rowndIdColumn]: rowndUserId,
    }
    const mappedEmail = attributes[this.emailColumn]
    if (typeof mappedEmail === 'string' && model.$hasColumn(this.emailColumn)) {
      if (await this.#findByEmail(model, mappedEmail)) return { action: 'conflict' }
    }
    const missing = await this.#missingRequiredColumn(model, attributes)
    if (missing !== undefined) return { action: 'incomplete', column: missing }
    return { action: 'create', attributes }
  }

  /**
   * The first NOT NULL column without a default that a new row with these
   * attributes would leave empty, read from the table's definition
   */
  async #missingRequiredColumn(
    model: Model,
    attributes: Record<string, unknown>
  ): Promise<string | undefined> {
    this.#columnsInfo ??= model.query().client.columnsInfo(model.table) as Promise<
      Record<string, { nullable?: boolean; defaultValue?: unknown }>
    >
    const columns = await this.#columnsInfo
    const filled = new Set<string>([this.#column(model, model.primaryKey)])
    for (const [attribute, value] of Object.entries(attributes)) {
      if (value !== undefined && value !== null) filled.add(this.#column(model, attribute))
    }
    const password = this.#passwordColumn(model)
    if (password) filled.add(this.#column(model, password))
    for (const [attribute, definition] of model.$columnsDefinitions) {
      if (definition.meta?.autoCreate) filled.add(this.#column(model, attribute))
    }
    for (const [name, info] of Object.entries(columns)) {
      if (filled.has(name) || info.nullable !== false) continue
      if (info.defaultValue !== null && info.defaultValue !== undefined) continue
      return name
    }
    return undefined
  }

  /** The row linked to a Rownd user id, if any (reads the database, never the cache) */
  async findByRowndUserId(rowndUserId: string): Promise<InstanceType<Model> | null> {
    return this.#findByRowndId(await this.getModel(), rowndUserId)
  }

  /** Deletes a row (a user deleted in Rownd, `onUserDeleted: 'delete'`) */
  async deleteUser(user: InstanceType<Model>) {
    const rowndUserId = this.getRowndUserId(user)
    await (user as LucidRow).delete()
    if (rowndUserId) this.forget(rowndUserId)
  }

  /**
   * Clears the Rownd id of a row (a user deleted in Rownd, `onUserDeleted:
   * 'detach'`). Conditional: a row linked to another Rownd user meanwhile
   * is left alone.
   */
  async detachUser(user: InstanceType<Model>) {
    const model = await this.getModel()
    const rowndUserId = this.getRowndUserId(user)
    if (!rowndUserId) return
    const idColumn = this.#column(model, this.rowndIdColumn)
    await model
      .query()
      .where(this.#column(model, model.primaryKey), this.getId(user))
      .where(idColumn, rowndUserId)
      .update({ [idColumn]: null })
    ;(user as LucidRow & Record<string, unknown>)[this.rowndIdColumn] = null
    this.forget(rowndUserId)
  }

  /** The row of this Rownd id, read from the database (and cached, when the cache is on) */
  async #findByRowndId(model: Model, rowndUserId: string): Promise<InstanceType<Model> | null> {
    const drops = this.#drops
    const found = await findRow(model, this.#column(model, this.rowndIdColumn), rowndUserId)
    if (!found) return null
    this.#remember(rowndUserId, model, found, drops)
    return toInstance(model, found.row, found.options)
  }

  /**
   * A row whose email equals this one, ignoring case. LOWER() on both sides
   * makes it case-insensitive whatever the column collation (PostgreSQL and
   * SQLite compare case-sensitively by default, MySQL usually does not).
   */
  async #findByEmail(model: Model, email: string) {
    return (await model
      .query()
      .whereRaw(`LOWER(??) = ?`, [this.#column(model, this.emailColumn), email.toLowerCase()])
      .first()) as InstanceType<Model> | null
  }

  async #resolve(
    rowndUserId: string,
    context: RowndLookupContext,
    token?: RowndToken
  ): Promise<RowndUserLookup<InstanceType<Model>>> {
    const model = this.#model ?? (await this.getModel())
    const existing = await this.#findByRowndId(model, rowndUserId)
    if (existing) return { user: existing, created: false, linked: false }

    // Everything below needs the profile; if it cannot be fetched, nothing is written
    const profile = await this.#profileOf(context)

    const linkEnabled = this.#options.link !== false && model.$hasColumn(this.emailColumn)
    const email = profileEmail(profile)
    if (linkEnabled && email) {
      const linked = await this.#link(model, rowndUserId, profile, email, context)
      if (linked) return linked
    }

    if (this.#options.create === false) throw new E_ROWND_USER_NOT_FOUND()
    return this.#create(model, rowndUserId, profile, context, token)
  }

  /** The profile; a user Rownd no longer knows (deleted) is a 401, not a 502 */
  async #profileOf(context: RowndLookupContext) {
    try {
      return await context.profile()
    } catch (error) {
      if (error instanceof E_ROWND_API_ERROR && error.rowndStatus === 404)
        throw new E_ROWND_USER_NOT_FOUND()
      throw error
    }
  }

  /**
   * Links a row with the same email, only when Rownd verified that email.
   * An unverified match is refused (409): linking it would let anyone who
   * types an address take over that account.
   */
  async #link(
    model: Model,
    rowndUserId: string,
    profile: RowndProfile,
    email: string,
    context: RowndLookupContext
  ): Promise<RowndUserLookup<InstanceType<Model>> | undefined> {
    const idColumn = this.#column(model, this.rowndIdColumn)
    const lowered = email.toLowerCase()
    const match = await this.#findByEmail(model, lowered)
    if (!match) return undefined
    // Another process linked or created this user since our lookup by Rownd id
    if (this.getRowndUserId(match) === rowndUserId) {
      return { user: match, created: false, linked: false }
    }

    if (verifiedEmail(profile) !== lowered || this.getRowndUserId(match)) {
      throw new E_ROWND_ACCOUNT_CONFLICT()
    }

    // Conditional update: only the first of racing linkers wins
    const primaryKey = this.#column(model, model.primaryKey)
    const updated = await model
      .query()
      .where(primaryKey, this.getId(match))
      .whereNull(idColumn)
      .update({ [idColumn]: rowndUserId })
    const count = Array.isArray(updated) ? Number(updated[0] ?? 0) : Number(updated)
    const user = await this.#findByRowndId(model, rowndUserId)
    if (!user) throw new E_ROWND_ACCOUNT_CONFLICT()
    if (count > 0) {
      debug('linked an existing user by verified email')
      this.#emitter?.emit('rownd_auth:user_linked', {
        guardName: context.guardName,
        user,
        rowndUserId,
      })
      return { user, created: false, linked: true }
    }
    return { user, created: false, linked: false }
  }

  async #create(
    model: Model,
    rowndUserId: string,
    profile: RowndProfile,
    context: RowndLookupContext,
    token?: RowndToken
  ): Promise<RowndUserLookup<InstanceType<Model>>> {
    const attributes: Record<string, unknown> = {
      ...this.mapProfile(model, profile, token),
      [this.rowndIdColumn]: rowndUserId,
    }
    const passwordColumn = this.#passwordColumn(model)
    if (passwordColumn && attributes[passwordColumn] === undefined) {
      const unusable = await this.#unusablePassword(model)
      if (unusable !== undefined) attributes[passwordColumn] = unusable
    }
    // An email that differs only in case from an existing row is a collision
    // on every database, not only where the unique index happens to ignore case
    // (linking, when on, has already claimed or refused such a row)
    const email = attributes[this.emailColumn]
    if (typeof email === 'string' && model.$hasColumn(this.emailColumn)) {
      const match = await this.#findByEmail(model, email)
      if (match && this.getRowndUserId(match) === rowndUserId) {
        return { user: match, created: false, linked: false }
      }
      if (match) throw new E_ROWND_ACCOUNT_CONFLICT()
    }
    try {
      const user = (await model.create(attributes as any)) as InstanceType<Model>
      debug('created a user for a new Rownd user')
      this.#emitter?.emit('rownd_auth:user_created', {
        guardName: context.guardName,
        user,
        rowndUserId,
      })
      return { user, created: true, linked: false }
    } catch (error) {
      const column = notNullViolation(error)
      if (column !== undefined) throw this.#incomplete(column)
      if (!isUniqueViolation(error)) throw error
      // Another process created it first: use that row
      const user = await this.#findByRowndId(model, rowndUserId)
      if (user) return { user, created: false, linked: false }
      // The unique column that collided is not ours (e.g. email)
      throw new E_ROWND_ACCOUNT_CONFLICT()
    }
  }

  #passwordColumn(model: Model): string | undefined {
    const option = this.#options.passwordColumn
    if (option === false) return undefined
    const column = option ?? 'password'
    return model.$hasColumn(column) ? column : undefined
  }

  /**
   * A password nobody knows. A model using `withAuthFinder` hashes a dirty
   * password itself before saving, so it gets the random value; any other
   * model gets it hashed with the app's `hash` service.
   */
  async #unusablePassword(model: Model): Promise<string | undefined> {
    const secret = randomBytes(32).toString('base64url')
    const hashesOnSave =
      typeof (model as unknown as { hashPassword?: unknown }).hashPassword === 'function' &&
      typeof (model as unknown as { verifyCredentials?: unknown }).verifyCredentials === 'function'
    if (hashesOnSave) return secret
    return this.#hasher?.make(secret)
  }

  /** The typed 422 for a row the database refused for an empty required column */
  #incomplete(column: string | null) {
    const which = column ? `"${column}"` : 'a column'
    const reason =
      column === this.#emailColumnName()
        ? 'This Rownd account has no verified email, which the users table requires'
        : `The users table requires ${which}, which this Rownd account does not provide`
    debug('user creation refused by a NOT NULL column')
    return new E_ROWND_PROFILE_INCOMPLETE(`${reason} (column ${which})`, {
      column: column ?? undefined,
    })
  }

  #emailColumnName() {
    return this.#model ? this.#column(this.#model, this.emailColumn) : 'email'
  }

  /** Attributes mapped from a profile (the configured function, or the default) */
  mapProfile(model: Model, profile: RowndProfile, token?: RowndToken): Record<string, unknown> {
    if (this.#options.mapProfile) return this.#options.mapProfile(profile, token)
    const data = profile.data ?? {}
    const attributes: Record<string, unknown> = {}
    // An unverified address is never stored: whoever typed it could squat an
    // account (and lock out the real owner, whose verified sign-in would 409)
    const email = verifiedEmailAsSent(profile)
    const first = typeof data.first_name === 'string' ? data.first_name : undefined
    const last = typeof data.last_name === 'string' ? data.last_name : undefined
    const full =
      typeof data.full_name === 'string'
        ? data.full_name
        : [first, last].filter(Boolean).join(' ') || undefined
    if (email && model.$hasColumn(this.emailColumn)) attributes[this.emailColumn] = email
    if (first && model.$hasColumn('firstName')) attributes.firstName = first
    if (last && model.$hasColumn('lastName')) attributes.lastName = last
    // Without an email, a phone number is the only name to show (the starter
    // kits' `initials` getter reads fullName, else splits the email)
    const phone = typeof data.phone_number === 'string' ? data.phone_number : undefined
    const display = full ?? (email ? undefined : phone)
    if (display && model.$hasColumn('fullName')) attributes.fullName = display
    return attributes
  }

  /**
   * Writes mapped fields only, and only those that changed. Returns the
   * attributes written (empty when nothing changed). With `dryRun`, returns
   * them without writing.
   */
  async syncProfile(
    user: InstanceType<Model>,
    profile: RowndProfile,
    token?: RowndToken,
    options: { dryRun?: boolean } = {}
  ): Promise<string[]> {
    const model = await this.getModel()
    const attributes = { ...this.mapProfile(model, profile, token) }
    const row = user as LucidRow & Record<string, unknown>
    const email = attributes[this.emailColumn]
    if (typeof email === 'string' && email !== row[this.emailColumn]) {
      // Never sync an email onto a second row, even where the index ignores case
      const owner = await this.#findByEmail(model, email)
      if (owner && this.getId(owner) !== this.getId(user)) delete attributes[this.emailColumn]
    }
    const changed: string[] = []
    for (const [key, value] of Object.entries(attributes)) {
      if (key === this.rowndIdColumn || value === undefined) continue
      if (row[key] !== value) changed.push(key)
    }
    if (!changed.length || options.dryRun) return changed
    for (const key of changed) row[key] = attributes[key]
    try {
      await row.save()
    } catch (error) {
      // A synced email colliding with another row must not break sign-in
      if (!isUniqueViolation(error)) throw error
      debug('profile sync skipped: unique collision')
      await row.refresh()
      return []
    }
    // A cached identity of this user holds the old values
    const rowndUserId = this.getRowndUserId(user)
    if (rowndUserId) this.forget(rowndUserId)
    return changed
  }
}
