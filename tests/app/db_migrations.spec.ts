import { test } from '@japa/runner'
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { AppFactory } from '@adonisjs/core/factories/app'
import { LoggerFactory } from '@adonisjs/core/factories/logger'
import { EmitterFactory } from '@adonisjs/core/factories/events'
import { Database } from '@adonisjs/lucid/database'
import { MigrationRunner } from '@adonisjs/lucid/migration'
import type { ConnectionConfig } from '@adonisjs/lucid/types/database'
import { stubsRoot } from '../../stubs/main.ts'
import { isUniqueViolation, notNullViolation } from '../../src/database/driver_errors.ts'
import { LucidRevocationStore } from '../../src/database/lucid_revocation_store.ts'
import { dbKind, knexConfig } from '../helpers/test_app.ts'

/**
 * The migrations the configure hook writes (stubs/make/migration/*.stub),
 * rendered with AdonisJS's own stub tooling into a scratch app and run up and
 * down with Lucid's MigrationRunner on the selected lane. Tables carry a
 * `rownd_stub_` prefix so the test app's own tables are never touched.
 */
const SCHEMA_TABLE = 'rownd_stub_schema'
const TABLES = [
  'rownd_stub_people',
  'rownd_stub_users',
  'rownd_stub_kit_users',
  'rownd_stub_revocations',
  SCHEMA_TABLE,
  `${SCHEMA_TABLE}_versions`,
]
const FOLDER = 'database/migrations'
/** Scratch apps live inside the repository so their migrations resolve our node_modules */
const SCRATCH = new URL(`../../tmp/db_migrations/${randomUUID()}/`, import.meta.url)

async function scratchApp() {
  const root = new URL(`${randomUUID()}/`, SCRATCH)
  await mkdir(new URL(`${FOLDER}/`, root), { recursive: true })
  const app = new AppFactory().create(root, (path: string) => import(path))
  await app.init()
  return app
}

type ScratchApp = Awaited<ReturnType<typeof scratchApp>>

/** Renders one of our migration stubs the way the configure hook does */
async function renderStub(
  app: ScratchApp,
  stub: string,
  fileName: string,
  tableName: string,
  extra: Record<string, string> = {}
) {
  const stubs = await app.stubs.create()
  const prepared = await (
    await stubs.build(stub, { source: stubsRoot })
  ).generate({
    migration: { folder: FOLDER, fileName, tableName, ...extra },
  })
  return prepared
}

function openDatabase(sqliteFile: string) {
  const kind = dbKind()
  const connection = {
    ...knexConfig(kind, sqliteFile),
    migrations: { naturalSort: true, paths: [FOLDER], tableName: SCHEMA_TABLE },
  } as ConnectionConfig
  return new Database(
    { connection: kind, connections: { [kind]: connection } },
    new LoggerFactory().create(),
    new EmitterFactory().create(new AppFactory().create(SCRATCH))
  )
}

async function migrate(db: Database, app: ScratchApp, direction: 'up' | 'down') {
  const runner = new MigrationRunner(db, app, {
    direction,
    disableLocks: dbKind() === 'sqlite',
  })
  await runner.run()
  if (runner.error) throw runner.error
  return Object.values(runner.migratedFiles).map((file) => [file.file.name, file.status])
}

async function failure(statement: () => Promise<unknown>): Promise<unknown> {
  try {
    await statement()
  } catch (error) {
    return error
  }
  throw new Error('the statement was expected to fail')
}

const now = () => new Date().toISOString().slice(0, 19).replace('T', ' ')

test.group(`Database (${dbKind()}) | migration stubs`, (group) => {
  let db: Database
  let sqliteFile: string

  group.setup(async () => {
    sqliteFile = fileURLToPath(new URL(`db-${randomUUID()}.sqlite3`, SCRATCH))
    await mkdir(SCRATCH, { recursive: true })
    db = openDatabase(sqliteFile)
    const drop = async () => {
      for (const table of TABLES) await db.connection().schema.dropTableIfExists(table)
    }
    await drop()
    return async () => {
      await drop()
      await db.manager.closeAll()
      await rm(SCRATCH, { recursive: true, force: true })
    }
  })

  test('the add_rownd_user_id migration runs on an existing table and rolls back', async ({
    assert,
  }) => {
    const app = await scratchApp()
    const client = db.connection()
    await copyFile(
      new URL('../fixtures/migrations/create_people_table.ts', import.meta.url),
      app.makePath(FOLDER, '1_create_people_table.ts')
    )
    assert.deepEqual(await migrate(db, app, 'up'), [
      [`${FOLDER}/1_create_people_table`, 'completed'],
    ])
    await client
      .table('rownd_stub_people')
      .insert({ email: 'before@example.com', created_at: now() })

    const generated = await renderStub(
      app,
      'make/migration/add_rownd_user_id.stub',
      '2_add_rownd_user_id.ts',
      'rownd_stub_people'
    )
    assert.equal(generated.status, 'created')
    assert.equal(generated.destination, app.makePath(FOLDER, '2_add_rownd_user_id.ts'))
    assert.include(await readFile(generated.destination, 'utf-8'), `'rownd_stub_people'`)

    assert.deepEqual(await migrate(db, app, 'up'), [[`${FOLDER}/2_add_rownd_user_id`, 'completed']])
    assert.isTrue(await client.schema.hasColumn('rownd_stub_people', 'rownd_user_id'))

    // Existing rows survive with a null id; several nulls are allowed
    await client
      .table('rownd_stub_people')
      .insert({ email: 'after@example.com', created_at: now() })
    const nulls = await client.from('rownd_stub_people').whereNull('rownd_user_id')
    assert.lengthOf(nulls, 2)

    // Rownd ids are unique and fit 255 characters
    const longId = `user_${'x'.repeat(250)}`
    await client.from('rownd_stub_people').where('email', 'before@example.com').update({
      rownd_user_id: longId,
    })
    const duplicate = await failure(() =>
      client.table('rownd_stub_people').insert({ rownd_user_id: longId, created_at: now() })
    )
    assert.isTrue(isUniqueViolation(duplicate), String(duplicate))

    // Rolling back the last batch removes the column (and its index), keeping the rows
    assert.deepEqual(await migrate(db, app, 'down'), [
      [`${FOLDER}/2_add_rownd_user_id`, 'completed'],
    ])
    assert.isFalse(await client.schema.hasColumn('rownd_stub_people', 'rownd_user_id'))
    const emails = await client.from('rownd_stub_people').orderBy('id').select('email')
    assert.deepEqual(
      emails.map((row: { email: string }) => row.email),
      ['before@example.com', 'after@example.com']
    )

    // And it runs again after a rollback (the index name is free again)
    await migrate(db, app, 'up')
    assert.isTrue(await client.schema.hasColumn('rownd_stub_people', 'rownd_user_id'))
    await client.from('rownd_stub_people').update({ rownd_user_id: null })
    await migrate(db, app, 'down')
    await migrate(db, app, 'down')
    assert.isFalse(await client.schema.hasTable('rownd_stub_people'))
  }).timeout(60_000)

  test('the create_users_table migration runs and rolls back', async ({ assert }) => {
    const app = await scratchApp()
    const client = db.connection()
    const generated = await renderStub(
      app,
      'make/migration/create_users_table.stub',
      '1_create_rownd_stub_users_table.ts',
      'rownd_stub_users'
    )
    assert.equal(generated.status, 'created')

    assert.deepEqual(await migrate(db, app, 'up'), [
      [`${FOLDER}/1_create_rownd_stub_users_table`, 'completed'],
    ])
    assert.isTrue(await client.schema.hasTable('rownd_stub_users'))
    for (const column of ['id', 'email', 'full_name', 'rownd_user_id', 'created_at']) {
      assert.isTrue(await client.schema.hasColumn('rownd_stub_users', column), column)
    }
    await client.table('rownd_stub_users').insert([
      { email: 'one@example.com', rownd_user_id: 'user_one', created_at: now() },
      { email: 'two@example.com', created_at: now() },
      { email: null, created_at: now() },
    ])
    const duplicateId = await failure(() =>
      client.table('rownd_stub_users').insert({ rownd_user_id: 'user_one', created_at: now() })
    )
    assert.isTrue(isUniqueViolation(duplicateId), String(duplicateId))
    const duplicateEmail = await failure(() =>
      client.table('rownd_stub_users').insert({ email: 'one@example.com', created_at: now() })
    )
    assert.isTrue(isUniqueViolation(duplicateEmail), String(duplicateEmail))

    assert.deepEqual(await migrate(db, app, 'down'), [
      [`${FOLDER}/1_create_rownd_stub_users_table`, 'completed'],
    ])
    assert.isFalse(await client.schema.hasTable('rownd_stub_users'))
  }).timeout(60_000)

  test('the rownd_revocations migration runs, its store never lowers a cut-off, it rolls back', async ({
    assert,
  }) => {
    const app = await scratchApp()
    const client = db.connection()
    await renderStub(
      app,
      'make/migration/create_rownd_revocations_table.stub',
      '1_create_rownd_stub_revocations_table.ts',
      'rownd_stub_revocations'
    )
    await migrate(db, app, 'up')
    assert.isTrue(await client.schema.hasTable('rownd_stub_revocations'))

    const store = new LucidRevocationStore({
      database: async () => db,
      table: 'rownd_stub_revocations',
    })
    const hash = 'a'.repeat(43)
    const keepUntil = Date.now() / 1000 + 3600
    await store.write('user_1', { before: 2_000_000_000_000 })
    // An older cut-off written later (another instance) never lowers it
    await store.write('user_1', { before: 1_000_000_000_000, tokens: { [hash]: keepUntil } })
    await store.write('user_1', { tokens: { [hash]: keepUntil - 60 } })
    const entry = await store.read('user_1')
    assert.equal(entry?.before, 2_000_000_000_000)
    assert.approximately(entry!.tokens![hash], keepUntil, 0.01)
    assert.isUndefined(await store.read('user_2'))
    // A token row past its retention is ignored
    await store.write('user_2', { tokens: { ['b'.repeat(43)]: Date.now() / 1000 - 1 } })
    assert.isUndefined(await store.read('user_2'))

    await migrate(db, app, 'down')
    assert.isFalse(await client.schema.hasTable('rownd_stub_revocations'))
    // With the table gone the store warns once and persists nothing, never throwing
    const warnings: string[] = []
    const missing = new LucidRevocationStore({
      database: async () => db,
      table: 'rownd_stub_revocations',
      logger: { warn: (message) => warnings.push(message) },
    })
    await missing.write('user_1', { before: Date.now() })
    assert.isUndefined(await missing.read('user_1'))
    assert.lengthOf(warnings, 1)
    assert.include(warnings[0], 'node ace configure rownd-adonis')
  }).timeout(60_000)

  test('the nullable-email migration runs; its down() refuses while rows lack an email', async ({
    assert,
  }) => {
    const app = await scratchApp()
    const client = db.connection()
    // The starter kits' users table: email NOT NULL unique
    await client.schema.createTable('rownd_stub_kit_users', (table) => {
      table.increments('id').notNullable()
      table.string('email', 254).notNullable().unique()
      table.string('password').notNullable()
      table.timestamp('created_at').notNullable()
    })
    const missingEmail = await failure(() =>
      client.table('rownd_stub_kit_users').insert({ password: 'x', created_at: now() })
    )
    assert.equal(notNullViolation(missingEmail), 'email', String(missingEmail))

    await renderStub(
      app,
      'make/migration/make_email_nullable.stub',
      '1_make_rownd_stub_kit_users_email_nullable.ts',
      'rownd_stub_kit_users',
      { column: 'email' }
    )
    await migrate(db, app, 'up')
    await client.table('rownd_stub_kit_users').insert([
      { email: 'kept@example.com', password: 'x', created_at: now() },
      { password: 'x', created_at: now() },
    ])
    // Still unique
    const duplicate = await failure(() =>
      client
        .table('rownd_stub_kit_users')
        .insert({ email: 'kept@example.com', password: 'x', created_at: now() })
    )
    assert.isTrue(isUniqueViolation(duplicate), String(duplicate))

    const refused = (await failure(() => migrate(db, app, 'down'))) as Error
    assert.include(
      refused.message,
      'Cannot make rownd_stub_kit_users.email NOT NULL again: 1 row(s)'
    )
    assert.lengthOf(await client.from('rownd_stub_kit_users'), 2)

    await client.from('rownd_stub_kit_users').whereNull('email').delete()
    await migrate(db, app, 'down')
    const again = await failure(() =>
      client.table('rownd_stub_kit_users').insert({ password: 'x', created_at: now() })
    )
    assert.equal(notNullViolation(again), 'email', String(again))
    const rows = await client.from('rownd_stub_kit_users').select('email')
    assert.deepEqual(
      rows.map((row: { email: string }) => row.email),
      ['kept@example.com']
    )
  }).timeout(60_000)
})
