import type { QueryClientContract } from '@adonisjs/lucid/types/database'

type Knex = ReturnType<QueryClientContract['getReadClient']>

/** What this module uses of a better-sqlite3 connection */
interface SqliteConnection {
  prepare(sql: string): { get(...bindings: unknown[]): unknown }
}
type Statement = ReturnType<SqliteConnection['prepare']>

/** A lookup compiled once: its SQL and where the looked-up value goes in its bindings */
interface CompiledLookup {
  sql: string
  bindings: unknown[]
  valueAt: number
}

const VALUE = Symbol('value')
// By Knex instance, table, then column
const compiled = new WeakMap<Knex, Map<string, Map<string, CompiledLookup>>>()
// One statement per lookup SQL per connection: a handful (the providers' id columns)
const statements = new WeakMap<SqliteConnection, Map<string, Statement>>()

/**
 * Whether `readSqliteRow` may serve this client: better-sqlite3, outside a
 * transaction (a transaction holds the pool's only connection: its reads
 * must go through it) and without `debug` (whose query events Lucid emits).
 */
export function canReadSqliteRow(client: QueryClientContract): boolean {
  return client.dialect.name === 'better-sqlite3' && !client.isTransaction && !client.debug
}

function compile(knex: Knex, table: string, column: string): CompiledLookup {
  let byTable = compiled.get(knex)
  if (!byTable) compiled.set(knex, (byTable = new Map()))
  let byColumn = byTable.get(table)
  if (!byColumn) byTable.set(table, (byColumn = new Map()))
  let lookup = byColumn.get(column)
  if (!lookup) {
    // What the query builder writes for `.where(column, value).first()`,
    // with the limit written out: SQLite re-plans a statement on every run
    // when a bound value may change its plan, and a bound LIMIT does
    const { sql, bindings } = knex
      .from(table)
      .where(column, VALUE as never)
      .toSQL()
    lookup = {
      sql: `${sql} limit 1`,
      bindings: [...bindings],
      valueAt: bindings.indexOf(VALUE as never),
    }
    byColumn.set(column, lookup)
  }
  return lookup
}

/**
 * The first row where `column` equals `value`, read with a statement
 * prepared once per connection. Knex prepares the SQL again on every query,
 * and on SQLite that and the query builder are most of an uncached lookup's
 * CPU (bench/lookup_micro.ts). The connection is taken from and given back
 * to Knex's pool, so the read waits for a running transaction as any other.
 */
export async function readSqliteRow(
  client: QueryClientContract,
  table: string,
  column: string,
  value: string | number
): Promise<Record<string, unknown> | null> {
  const knex = client.getReadClient()
  const lookup = compile(knex, table, column)
  const connection = (await knex.client.acquireConnection()) as SqliteConnection
  try {
    let prepared = statements.get(connection)
    if (!prepared) statements.set(connection, (prepared = new Map()))
    let statement = prepared.get(lookup.sql)
    if (!statement) {
      statement = connection.prepare(lookup.sql)
      prepared.set(lookup.sql, statement)
    }
    const bindings = [...lookup.bindings]
    bindings[lookup.valueAt] = value
    return (statement.get(...bindings) as Record<string, unknown> | undefined) ?? null
  } finally {
    knex.client.releaseConnection(connection)
  }
}
