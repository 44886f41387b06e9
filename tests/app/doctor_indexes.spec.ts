/**
 * rownd:doctor reads a table's indexes on each database lane
 * (DB_CONNECTION=sqlite|pg|mysql) to tell a unique index on the Rownd id
 * column from a plain one.
 */
import { test } from '@japa/runner'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import knex from 'knex'
import { indexesOf } from '../../src/commands/doctor/database.ts'
import { dbKind, knexConfig } from '../helpers/test_app.ts'

const TABLE = 'rownd_doctor_probe'
const DIALECT = { sqlite: 'better-sqlite3', pg: 'postgres', mysql: 'mysql' } as const

test.group('rownd:doctor | indexes', () => {
  test('unique and plain indexes with their columns', async ({ assert, cleanup }) => {
    const kind = dbKind()
    const dir = fileURLToPath(new URL('../../tmp/doctor_indexes/', import.meta.url))
    await mkdir(dir, { recursive: true })
    const db = knex(knexConfig(kind, `${dir}db.sqlite3`))
    cleanup(async () => {
      await db.schema.dropTableIfExists(TABLE)
      await db.destroy()
    })
    await db.schema.dropTableIfExists(TABLE)
    await db.schema.createTable(TABLE, (table) => {
      table.increments('id')
      table.string('rownd_user_id').nullable().unique()
      table.string('email').index()
      table.string('a')
      table.string('b')
      table.unique(['a', 'b'])
    })

    const indexes = await indexesOf(db, DIALECT[kind], TABLE)
    assert.isDefined(indexes)
    const find = (columns: string[]) =>
      indexes!.find((index) => index.columns.join(',') === columns.join(','))
    assert.isTrue(find(['rownd_user_id'])?.unique)
    assert.isFalse(find(['email'])?.unique)
    assert.sameMembers(indexes!.find((index) => index.columns.includes('a'))!.columns, ['a', 'b'])
    assert.isUndefined(await indexesOf(db, 'mssql', TABLE))
  })
})
