import type { LucidModel, LucidRow, ModelAdapterOptions } from '@adonisjs/lucid/types/model'
import { canReadSqliteRow, readSqliteRow } from './sqlite_statements.ts'

/** A row as the database driver returned it: column names, driver values */
export type RawRow = Record<string, unknown>

/**
 * A copy of a row that shares nothing mutable with it: dates, buffers and
 * JSON values (objects on PostgreSQL and MySQL) are copied, so a model built
 * from the copy cannot change the cached original.
 */
export function copyRow(row: RawRow): RawRow {
  const copy: RawRow = {}
  for (const key in row) {
    const value = row[key]
    if (typeof value !== 'object' || value === null) copy[key] = value
    else if (value instanceof Date) copy[key] = new Date(value.getTime())
    else if (Buffer.isBuffer(value)) copy[key] = Buffer.from(value)
    else copy[key] = structuredClone(value)
  }
  return copy
}

/**
 * Whether every value of the row is a primitive (or null): Lucid copies
 * values out of the row it builds an instance from and keeps no reference
 * to it, so such a row can be handed to it as is, with no copy
 */
export function isFlatRow(row: RawRow): boolean {
  for (const key in row) {
    const value = row[key]
    if (typeof value === 'object' && value !== null) return false
  }
  return true
}

function hasFindHooks(model: LucidModel) {
  return model.$hooks.has('before:find') || model.$hooks.has('after:find')
}

/**
 * The first row where `column` equals `value`, read as `Model.findBy` reads
 * it (find hooks included) but returned as the driver's row, so it can be
 * cached and turned into a fresh instance per request. Without find hooks
 * the model query builder is skipped, and on better-sqlite3 so is Knex
 * (a prepared statement: sqlite_statements.ts). Also returns the client
 * options instances carry.
 */
export async function findRow(
  model: LucidModel,
  column: string,
  value: unknown
): Promise<{ row: RawRow; options: ModelAdapterOptions } | null> {
  if (hasFindHooks(model)) {
    // Soft deletes and the like add their conditions in before:find
    const query = model.query().where(column, value as string)
    await model.$hooks.runner('before:find').run(query)
    const row = (await query.pojo<RawRow>().first()) as RawRow | null
    return row ? { row, options: query.clientOptions } : null
  }
  const client = model.$adapter.modelConstructorClient(model)
  const row = canReadSqliteRow(client)
    ? await readSqliteRow(client, model.table, column, value as string | number)
    : ((await client
        .from(model.table)
        .where(column, value as string)
        .first()) as RawRow | null)
  return row ? { row, options: { client, connection: client.connectionName } } : null
}

/**
 * A new persisted instance from a copy of a row (no hooks run); `flat`
 * (see isFlatRow) skips the copy
 */
export function instanceFrom<Model extends LucidModel>(
  model: Model,
  row: RawRow,
  options: ModelAdapterOptions,
  flat = false
): InstanceType<Model> {
  return model.$createFromAdapterResult(
    flat ? row : copyRow(row),
    undefined,
    options
  ) as InstanceType<Model>
}

/** Whether instances of the model need after:find hooks run (so cannot be built synchronously) */
export function hasAfterFind(model: LucidModel) {
  return model.$hooks.has('after:find')
}

/**
 * A new persisted instance from a row, with the model's after:find hooks
 * run; a promise only when there are such hooks (the usual lookup awaits
 * nothing more than its query)
 */
export function toInstance<Model extends LucidModel>(
  model: Model,
  row: RawRow,
  options: ModelAdapterOptions,
  flat = false
): InstanceType<Model> | Promise<InstanceType<Model>> {
  const instance = instanceFrom(model, row, options, flat)
  if (!hasAfterFind(model)) return instance
  return model.$hooks
    .runner('after:find')
    .run(instance)
    .then(() => instance)
}

type RowListener = (row: LucidRow) => void
const watchers = new WeakMap<LucidModel, Set<RowListener>>()

/**
 * Calls `listener` after any instance of the model is saved or deleted
 * through Lucid (`save`, `delete`, `create`, `merge().save()`, …), and again
 * when the transaction it ran in commits. Hooks are added once per model;
 * `saveQuietly`, `deleteQuietly` and query builder writes skip them.
 */
export function watchModel(model: LucidModel, listener: RowListener) {
  let listeners = watchers.get(model)
  if (!listeners) {
    const set = new Set<RowListener>()
    listeners = set
    watchers.set(model, set)
    const notify = (row: LucidRow) => {
      for (const each of set) each(row)
      // Another request may re-read the old row before the commit: drop it again then
      row.$trx?.after('commit', () => {
        for (const each of set) each(row)
      })
    }
    model.after('save', notify)
    model.after('delete', notify)
  }
  listeners.add(listener)
}
