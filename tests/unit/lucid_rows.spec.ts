import { mkdirSync, rmSync } from 'node:fs'
import { test } from '@japa/runner'
import { AppFactory } from '@adonisjs/core/factories/app'
import { LoggerFactory } from '@adonisjs/core/factories/logger'
import { EmitterFactory } from '@adonisjs/core/factories/events'
import { Database } from '@adonisjs/lucid/database'
import { Adapter, BaseModel, column } from '@adonisjs/lucid/orm'
import type { ConnectionConfig } from '@adonisjs/lucid/types/database'
import { findRow } from '../../src/user_providers/lucid_rows.ts'
import { canReadSqliteRow } from '../../src/user_providers/sqlite_statements.ts'

class Person extends BaseModel {
  static table = 'people'
  @column({ isPrimary: true })
  declare id: number
  @column()
  declare rowndUserId: string | null
  @column()
  declare score: number | null
  @column()
  declare avatar: Buffer | null
}

/**
 * The identity lookup on better-sqlite3 reads with a statement prepared once
 * per connection instead of through Knex. It must read what the query
 * builder reads, and wait for (or join) transactions as Lucid's reads do.
 */
test.group('lucid rows | the SQLite lookup path', (group) => {
  const dir = new URL('../../tmp/unit_lucid_rows/', import.meta.url).pathname
  let db: Database
  let queries: string[]

  group.each.setup(async () => {
    mkdirSync(dir, { recursive: true })
    const file = `${dir}${Date.now()}-${Math.random()}.sqlite3`
    const sqlite = (debug: boolean) =>
      ({
        client: 'better-sqlite3',
        connection: { filename: file },
        useNullAsDefault: true,
        debug,
      }) as ConnectionConfig
    const app = new AppFactory().create(new URL('../../', import.meta.url))
    const emitter = new EmitterFactory().create(app)
    queries = []
    emitter.on('db:query', (query: { sql: string }) => {
      queries.push(query.sql)
    })
    db = new Database(
      { connection: 'sqlite', connections: { sqlite: sqlite(false), debugged: sqlite(true) } },
      new LoggerFactory().create(),
      emitter
    )
    Person.$adapter = new Adapter(db)
    Person.connection = undefined
    await db.connection().schema.createTable('people', (table) => {
      table.increments('id')
      table.string('rownd_user_id').unique()
      table.integer('score')
      table.binary('avatar')
    })
    await db.table('people').multiInsert([
      { rownd_user_id: 'user_a', score: 7, avatar: Buffer.from([1, 2, 3]) },
      { rownd_user_id: 'user_b', score: null, avatar: null },
    ])
    return async () => {
      await db.manager.closeAll()
      rmSync(file, { force: true })
    }
  })

  test('reads the row the query builder reads', async ({ assert }) => {
    assert.isTrue(canReadSqliteRow(Person.$adapter.modelConstructorClient(Person)))
    for (const [name, value] of [
      ['rownd_user_id', 'user_a'],
      ['rownd_user_id', 'user_b'],
      ['id', 1],
      ['id', '2'],
      ['rownd_user_id', 'nobody'],
    ] as const) {
      const expected = await db.from('people').where(name, value).first()
      const found = await findRow(Person, name, value)
      assert.deepEqual(found?.row ?? null, expected)
    }
    // Read twice from the same prepared statement: no state left from the first read
    assert.equal((await findRow(Person, 'rownd_user_id', 'user_a'))?.row.score, 7)
  })

  test('waits for a transaction holding the connection, then reads what it committed', async ({
    assert,
  }) => {
    const trx = await db.transaction()
    await trx.from('people').where('rownd_user_id', 'user_b').update({ score: 42 })
    // The pool's only connection is in the transaction: the read must not see its write early
    let read: Record<string, unknown> | undefined
    const reading = findRow(Person, 'rownd_user_id', 'user_b').then((found) => {
      read = found?.row
    })
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.isUndefined(read)
    await trx.commit()
    await reading
    assert.equal(read?.score, 42)
  })

  test('reads through a global transaction (as apps under test do)', async ({ assert }) => {
    await db.beginGlobalTransaction()
    try {
      await db.table('people').insert({ rownd_user_id: 'user_c', score: 1 })
      assert.isFalse(canReadSqliteRow(Person.$adapter.modelConstructorClient(Person)))
      const found = await findRow(Person, 'rownd_user_id', 'user_c')
      assert.equal(found?.row.score, 1)
    } finally {
      await db.rollbackGlobalTransaction()
    }
    assert.isNull(await findRow(Person, 'rownd_user_id', 'user_c'))
  })

  test('a connection with debug on goes through Lucid, so its query events are emitted', async ({
    assert,
  }) => {
    Person.connection = 'debugged'
    assert.isFalse(canReadSqliteRow(Person.$adapter.modelConstructorClient(Person)))
    const found = await findRow(Person, 'rownd_user_id', 'user_a')
    assert.equal(found?.row.score, 7)
    assert.lengthOf(
      queries.filter((sql) => sql.includes('rownd_user_id')),
      1
    )
  })

  test('sees a column added after its statement was prepared', async ({ assert }) => {
    await findRow(Person, 'rownd_user_id', 'user_a')
    await db.connection().schema.alterTable('people', (table) => {
      table.string('nickname').defaultTo('ace')
    })
    const found = await findRow(Person, 'rownd_user_id', 'user_a')
    assert.equal(found?.row.nickname, 'ace')
  })
})
