/*
 * The migration rownd-adonis writes, as the database has it: the Rownd id
 * column with its unique index on the user model's table and connection,
 * and the revocations table.
 */
import type { Knex } from 'knex'
import { describeError } from './app_setup.ts'
import type { CheckResult, DoctorContext } from './types.ts'

interface Index {
  unique: boolean
  columns: string[]
}

const MIGRATE =
  'Run "node ace migration:run" (if no rownd-adonis migration is in database/migrations, run "node ace configure rownd-adonis" first)'

/** Indexes of a table with their columns, per dialect; undefined when the dialect is not known */
export async function indexesOf(
  knex: Knex,
  dialect: string,
  table: string
): Promise<Index[] | undefined> {
  const indexes = new Map<string, Index>()
  const add = (name: string, unique: boolean, column: string) => {
    const index = indexes.get(name) ?? { unique, columns: [] }
    index.columns.push(column)
    indexes.set(name, index)
  }
  if (['better-sqlite3', 'sqlite3', 'libsql'].includes(dialect)) {
    const list: Array<{ name: string; unique: number }> = await knex.raw(
      `PRAGMA index_list(${JSON.stringify(table)})`
    )
    for (const index of list) {
      const info: Array<{ name: string }> = await knex.raw(
        `PRAGMA index_info(${JSON.stringify(index.name)})`
      )
      for (const column of info) add(index.name, !!index.unique, column.name)
    }
  } else if (dialect === 'postgres' || dialect === 'redshift') {
    const result = await knex.raw(
      `SELECT i.relname AS index_name, ix.indisunique AS is_unique, a.attname AS column_name
       FROM pg_class t
       JOIN pg_index ix ON t.oid = ix.indrelid
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(ix.indkey)
       WHERE t.relname = ? AND t.relkind = 'r' AND pg_table_is_visible(t.oid)`,
      [table]
    )
    for (const row of result.rows) add(row.index_name, row.is_unique, row.column_name)
  } else if (dialect === 'mysql') {
    const [rows] = await knex.raw('SHOW INDEX FROM ??', [table])
    for (const row of rows) add(row.Key_name, Number(row.Non_unique) === 0, row.Column_name)
  } else {
    return undefined
  }
  return [...indexes.values()]
}

export async function checkMigration(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'database.migration', title: 'Migration applied (rownd_user_id, revocations)' }
  const { app, config } = context
  if (!context.booted) return { ...base, status: 'skip', detail: 'the app did not boot' }
  if (!app.container.hasBinding('lucid.db')) {
    return {
      ...base,
      status: 'skip',
      detail: 'no @adonisjs/lucid: your own user provider keeps the Rownd user id',
    }
  }

  let table = 'users'
  let connection: string | undefined
  let column = 'rownd_user_id'
  let modelProblem: string | undefined
  const guard = context.guards?.find((entry) => entry.driver === 'rownd')
  const provider = guard?.userProvider as
    { getModel?: () => Promise<any>; rowndIdColumn?: string } | undefined
  if (guard && provider && typeof provider.getModel !== 'function') {
    return {
      ...base,
      status: 'skip',
      detail: `the "${guard.name}" guard uses its own user provider, not rowndUserProvider`,
    }
  }
  if (provider?.getModel) {
    try {
      const model = await provider.getModel()
      table = model.table
      connection = model.connection
      column = model.$getColumn(provider.rowndIdColumn ?? 'rowndUserId')?.columnName ?? column
    } catch (error) {
      modelProblem = describeError(error)
    }
  }

  const db: any = await app.container.make('lucid.db')
  const connectionName: string = connection ?? db.primaryConnectionName
  const where = `on connection "${connectionName}"`
  const problems: string[] = []
  let uniqueNote = ' (unique)'
  try {
    const client = db.connection(connectionName)
    const knex: Knex = client.getWriteClient()
    if (!(await knex.schema.hasTable(table))) {
      problems.push(`table "${table}" does not exist ${where}`)
    } else {
      const columns = await client.columnsInfo(table)
      if (!(column in columns)) {
        problems.push(`column ${table}.${column} is missing ${where}`)
      } else {
        const indexes = await indexesOf(knex, client.dialect.name, table)
        if (!indexes) {
          uniqueNote = ` (unique index not checked on ${client.dialect.name})`
        } else if (
          !indexes.some(
            (index) => index.unique && index.columns.length === 1 && index.columns[0] === column
          )
        ) {
          problems.push(
            `${table}.${column} has no unique index ${where}: two rows could claim one Rownd user`
          )
        }
      }
    }
    if (config?.revocations) {
      const revocationsConnection = config.revocations.connection ?? db.primaryConnectionName
      const revocationsKnex: Knex = db.connection(revocationsConnection).getWriteClient()
      if (!(await revocationsKnex.schema.hasTable(config.revocations.table))) {
        problems.push(
          `table "${config.revocations.table}" is missing on connection "${revocationsConnection}": sign-outs are not persisted`
        )
      }
    }
  } catch (error) {
    return {
      ...base,
      status: 'fail',
      detail: `Cannot inspect the database ${where}: ${describeError(error)}`,
      fix: 'Check config/database.ts and that the database is running, then run "node ace migration:run"',
    }
  }
  if (!problems.length && modelProblem) problems.push(modelProblem)
  if (problems.length) {
    return {
      ...base,
      status: 'fail',
      detail: `${problems.join('; ')}. Sign-ins fail until it is applied`,
      fix: MIGRATE,
    }
  }
  const revocations = config?.revocations ? ` and ${config.revocations.table}` : ''
  return {
    ...base,
    status: 'pass',
    detail: `${table}.${column}${uniqueNote}${revocations} ${where}`,
  }
}
