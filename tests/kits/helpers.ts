import type { Assert } from '@japa/assert'
import type { KitApp } from '../helpers/kit_app.ts'

let counter = 0

/** An email no other test in this process used */
export function uniqueEmail(name: string) {
  return `${name}@example${process.pid}x${++counter}.test`
}

/**
 * The kits' users table: full_name nullable, email NOT NULL unique (254),
 * password NOT NULL, timestamps
 */
export async function assertUsersTable(assert: Assert, app: KitApp) {
  const columns: { name: string; type: string; notnull: number }[] = await app
    .db()
    .raw('PRAGMA table_info(users)')
  const byName = Object.fromEntries(columns.map((column) => [column.name, column]))
  assert.sameMembers(Object.keys(byName), [
    'id',
    'full_name',
    'email',
    'password',
    'created_at',
    'updated_at',
  ])
  assert.equal(byName.full_name.notnull, 0)
  assert.equal(byName.email.notnull, 1)
  assert.equal(byName.email.type, 'varchar(254)')
  assert.equal(byName.password.notnull, 1)
  assert.equal(byName.created_at.notnull, 1)
  assert.equal(byName.updated_at.notnull, 0)

  const indexes: { name: string; unique: number }[] = await app.db().raw('PRAGMA index_list(users)')
  const unique = []
  for (const index of indexes.filter((entry) => entry.unique)) {
    const info: { name: string }[] = await app.db().raw(`PRAGMA index_info(${index.name})`)
    unique.push(...info.map((column) => column.name))
  }
  assert.include(unique, 'email')
}
