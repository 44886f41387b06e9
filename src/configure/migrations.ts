import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type Configure from '@adonisjs/core/commands/configure'
import { stubsRoot } from '../../stubs/main.ts'
import type { ConfigureOptions } from './options.ts'
import { type Codemods, listFiles } from './files.ts'

const FOLDER = 'database/migrations'

/** Migration files of the app with their contents */
async function readMigrations(folder: string) {
  const files: { name: string; contents: string }[] = []
  for (const name of await listFiles(folder)) {
    if (name.includes('/') || !/\.(ts|js|mjs|cjs|mts)$/.test(name) || name.endsWith('.d.ts')) {
      continue
    }
    files.push({ name, contents: await readFile(join(folder, name), 'utf-8') })
  }
  return files
}

/** True when a migration mentions the table by name (tableName or a direct call) */
function mentionsTable(contents: string, table: string) {
  return contents.includes(`'${table}'`) || contents.includes(`"${table}"`)
}

const CREATES_TABLE = /createTable(IfNotExists)?\(/

/** A file name after every existing one (several written in one run stay ordered) */
function timestamped(name: string, offset: number) {
  return `${Date.now() + offset}_${name}.ts`
}

/**
 * Writes what is missing, and only that, so running configure again on an
 * app (including one set up by rownd-adonis 0.1.0) adds just the new parts:
 *
 * - `rownd_user_id` on the users table (an `alterTable`, or a full
 *   create-table when asked or when no migration creates the table yet);
 * - the `rownd_revocations` table that makes sign-outs hold across restarts;
 * - with `--nullable-email`, email made nullable (phone-only users).
 *
 * `--force` rewrites the files it wrote before, under their own names.
 */
export async function writeMigrations(
  command: Configure,
  codemods: Codemods,
  options: ConfigureOptions,
  done: string[]
) {
  const migrations = await readMigrations(command.app.makePath(FOLDER))
  await writeRowndIdMigration(command, codemods, options, migrations, done)
  await writeRevocationsMigration(command, codemods, options, migrations, done)
  if (options.nullableEmail) {
    await writeNullableEmailMigration(command, codemods, options, migrations, done)
  }
}

type Migration = { name: string; contents: string }

async function writeRowndIdMigration(
  command: Configure,
  codemods: Codemods,
  options: ConfigureOptions,
  migrations: Migration[],
  done: string[]
) {
  const existing = migrations.find(
    (file) => file.contents.includes('rownd_user_id') && mentionsTable(file.contents, options.table)
  )
  if (existing && !options.force) {
    command.logger
      .action(`create ${FOLDER}/${existing.name}`)
      .skipped(`a migration already adds rownd_user_id to "${options.table}"`)
    return
  }

  const createsTable = migrations.some(
    (file) =>
      file !== existing &&
      CREATES_TABLE.test(file.contents) &&
      mentionsTable(file.contents, options.table)
  )
  // --force rewrites an existing migration in its own variant, under its own name
  const create = existing
    ? CREATES_TABLE.test(existing.contents)
    : options.createTable || !createsTable
  const fileName =
    existing?.name ??
    timestamped(
      create ? `create_${options.table}_table` : `add_rownd_user_id_to_${options.table}_table`,
      0
    )
  const stub = create
    ? 'make/migration/create_users_table.stub'
    : 'make/migration/add_rownd_user_id.stub'
  const result = await codemods.makeUsingStub(stubsRoot, stub, {
    migration: { folder: FOLDER, fileName, tableName: options.table },
  })
  if (result.status !== 'skipped') {
    done.push(
      create
        ? `migration creating the "${options.table}" table with rownd_user_id (${FOLDER}/${fileName})`
        : `migration adding rownd_user_id to "${options.table}" (${FOLDER}/${fileName})`
    )
  }
}

async function writeRevocationsMigration(
  command: Configure,
  codemods: Codemods,
  options: ConfigureOptions,
  migrations: Migration[],
  done: string[]
) {
  const table = 'rownd_revocations'
  const existing = migrations.find(
    (file) => CREATES_TABLE.test(file.contents) && mentionsTable(file.contents, table)
  )
  if (existing && !options.force) {
    command.logger
      .action(`create ${FOLDER}/${existing.name}`)
      .skipped(`a migration already creates "${table}"`)
    return
  }
  const fileName = existing?.name ?? timestamped(`create_${table}_table`, 1)
  const result = await codemods.makeUsingStub(
    stubsRoot,
    'make/migration/create_rownd_revocations_table.stub',
    { migration: { folder: FOLDER, fileName, tableName: table } }
  )
  if (result.status !== 'skipped') {
    done.push(
      `migration creating "${table}": sign-outs that survive restarts (${FOLDER}/${fileName})`
    )
  }
}

async function writeNullableEmailMigration(
  command: Configure,
  codemods: Codemods,
  options: ConfigureOptions,
  migrations: Migration[],
  done: string[]
) {
  const name = `make_${options.table}_email_nullable`
  const existing = migrations.find((file) => file.name.includes(name))
  if (existing && !options.force) {
    command.logger.action(`create ${FOLDER}/${existing.name}`).skipped('already there')
    return
  }
  const fileName = existing?.name ?? timestamped(name, 2)
  const result = await codemods.makeUsingStub(
    stubsRoot,
    'make/migration/make_email_nullable.stub',
    {
      migration: { folder: FOLDER, fileName, tableName: options.table, column: 'email' },
    }
  )
  if (result.status !== 'skipped') {
    done.push(`migration making "${options.table}.email" nullable (${FOLDER}/${fileName})`)
  }
}
