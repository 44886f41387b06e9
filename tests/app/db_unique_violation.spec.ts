import { test } from '@japa/runner'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import knex, { type Knex } from 'knex'
import { isUniqueViolation } from '../../src/database/driver_errors.ts'
import { dbKind, knexConfig } from '../helpers/test_app.ts'

const TABLE = 'rownd_unique_violation_probe'

/** Runs a statement expected to fail and returns the driver's error */
async function failure(statement: () => Promise<unknown>): Promise<unknown> {
  try {
    await statement()
  } catch (error) {
    return error
  }
  throw new Error('the statement was expected to fail')
}

/**
 * isUniqueViolation against the real driver errors of the selected lane:
 * recognized by code, never by message text.
 */
test.group(`Database (${dbKind()}) | unique violations by driver code`, (group) => {
  let db: Knex
  const sqliteFile = join(tmpdir(), `rownd-uv-${randomUUID()}.sqlite3`)

  group.setup(async () => {
    db = knex(knexConfig(dbKind(), sqliteFile))
    await db.schema.dropTableIfExists(TABLE)
    await db.schema.createTable(TABLE, (table) => {
      table.increments('id')
      table.string('rownd_user_id', 255).nullable().unique()
      table.string('email', 254).nullable().unique()
      table.string('role').notNullable()
    })
    return async () => {
      await db.schema.dropTableIfExists(TABLE)
      await db.destroy()
      rmSync(sqliteFile, { force: true })
    }
  })

  test('a duplicate in a unique column is a unique violation', async ({ assert }) => {
    await db(TABLE).insert({ rownd_user_id: 'user_dup', role: 'member' })
    const error = await failure(() => db(TABLE).insert({ rownd_user_id: 'user_dup', role: 'x' }))

    assert.isTrue(isUniqueViolation(error), String(error))
  })

  test('a duplicate primary key is a unique violation', async ({ assert }) => {
    const [row] = await db(TABLE).where('rownd_user_id', 'user_dup').select('id')
    const error = await failure(() => db(TABLE).insert({ id: row.id, role: 'member' }))

    assert.isTrue(isUniqueViolation(error), String(error))
  })

  test('several rows may share a null Rownd id (users not signed in yet)', async ({ assert }) => {
    await db(TABLE).insert([
      { email: 'a@example.com', role: 'member' },
      { email: 'b@example.com', role: 'member' },
    ])
    const [{ n }] = await db(TABLE).whereNull('rownd_user_id').count({ n: '*' })
    assert.equal(Number(n), 2)
  })

  test('a NOT NULL violation is not a unique violation', async ({ assert }) => {
    const error = await failure(() => db(TABLE).insert({ rownd_user_id: 'user_nn', role: null }))

    assert.instanceOf(error, Error)
    assert.isFalse(isUniqueViolation(error), String(error))
  })

  test('a missing table is not a unique violation', async ({ assert }) => {
    const error = await failure(() => db('rownd_no_such_table').insert({ id: 1 }))

    assert.isFalse(isUniqueViolation(error), String(error))
  })

  test('the message text alone is not enough', ({ assert }) => {
    assert.isFalse(isUniqueViolation(new Error('duplicate key value violates unique constraint')))
    assert.isFalse(isUniqueViolation(new Error('UNIQUE constraint failed: users.email')))
    assert.isFalse(isUniqueViolation(new Error("Duplicate entry 'x' for key 'users_email_unique'")))
    assert.isFalse(isUniqueViolation(undefined))
    assert.isFalse(isUniqueViolation('23505'))
  })

  test('node:sqlite errors are told apart by their extended code', async ({ assert }) => {
    const { DatabaseSync } = await import('node:sqlite')
    const memory = new DatabaseSync(':memory:')
    memory.exec('CREATE TABLE t (a TEXT UNIQUE, b TEXT NOT NULL)')
    memory.exec(`INSERT INTO t VALUES ('x', 'y')`)

    const duplicate = await failure(async () => memory.exec(`INSERT INTO t VALUES ('x', 'y')`))
    const notNull = await failure(async () => memory.exec(`INSERT INTO t VALUES ('z', NULL)`))
    memory.close()

    assert.isTrue(isUniqueViolation(duplicate))
    assert.isFalse(isUniqueViolation(notNull))
  }).skip(dbKind() !== 'sqlite', 'SQLite lane only')

  test('a driver error wrapped as a cause is recognized', async ({ assert }) => {
    const error = await failure(() => db(TABLE).insert({ rownd_user_id: 'user_dup', role: 'x' }))

    assert.isTrue(isUniqueViolation(new Error('wrapped', { cause: error })))
  })
})
