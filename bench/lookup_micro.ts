/*
 * rownd-adonis benchmark: the uncached user lookup, in one process
 *
 *   node --import=@poppinss/ts-exec bench/lookup_micro.ts
 *
 * Compares, on SQLite with 100k users (the bench's table), the lookup the
 * Lucid provider makes when the identity cache misses (findRow + a fresh
 * instance) with a full model query (`Model.query().where().first()`, what
 * 0.1.0 ran) and `Model.findBy`. Prints CPU µs per lookup, median of rounds.
 */

import { rmSync } from 'node:fs'
import { AppFactory } from '@adonisjs/core/factories/app'
import { LoggerFactory } from '@adonisjs/core/factories/logger'
import { EmitterFactory } from '@adonisjs/core/factories/events'
import { Database } from '@adonisjs/lucid/database'
import { Adapter, BaseModel } from '@adonisjs/lucid/orm'
import type { ConnectionConfig } from '@adonisjs/lucid/types/database'
import User from '../tests/fixtures/test_app/app/models/user.ts'
import { findRow, toInstance } from '../src/user_providers/lucid_rows.ts'
import { median, round } from './lib/stats.ts'

const file = new URL('../tmp/lookup_micro.sqlite3', import.meta.url).pathname
rmSync(file, { force: true })
const connection = {
  client: 'better-sqlite3',
  connection: { filename: file },
  useNullAsDefault: true,
} as ConnectionConfig
const db = new Database(
  { connection: 'sqlite', connections: { sqlite: connection } },
  new LoggerFactory().create(),
  new EmitterFactory().create(new AppFactory().create(new URL('../', import.meta.url)))
)
BaseModel.$adapter = new Adapter(db)
await db.connection().schema.createTable('users', (table) => {
  table.increments('id')
  table.string('email')
  table.string('full_name')
  table.string('first_name')
  table.string('last_name')
  table.string('role').notNullable().defaultTo('member')
  table.string('rownd_user_id').unique()
  table.timestamp('created_at')
  table.timestamp('updated_at')
})
const rowndId = (index: number) => `bench_user_${String(index).padStart(6, '0')}`
const stamp = '2026-01-01 00:00:00'
for (let offset = 0; offset < 100_000; offset += 500) {
  await db.table('users').multiInsert(
    Array.from({ length: 500 }, (_, index) => ({
      email: `bench${offset + index + 1}@bench.test`,
      full_name: `Bench User ${offset + index + 1}`,
      rownd_user_id: rowndId(offset + index + 1),
      created_at: stamp,
      updated_at: stamp,
    }))
  )
}

let next = 0
const id = () => rowndId(1 + (next++ % 1000))
const variants: Record<string, () => Promise<unknown>> = {
  'Model.query().where().first()': () => User.query().where('rownd_user_id', id()).first(),
  'Model.findBy()': () => User.findBy('rowndUserId', id()),
  'knex query builder (0.2 findRow before prepared statements)': () =>
    User.$adapter.modelConstructorClient(User).from('users').where('rownd_user_id', id()).first(),
  'provider lookup (findRow + instance)': async () => {
    const found = await findRow(User, 'rownd_user_id', id())
    return found && toInstance(User, found.row, found.options)
  },
}
const rounds: Record<string, number[]> = {}
for (let roundIndex = 0; roundIndex < 5; roundIndex++) {
  for (const [name, run] of Object.entries(variants)) {
    for (let index = 0; index < 1000; index++) await run()
    const count = 5000
    const before = process.cpuUsage()
    for (let index = 0; index < count; index++) await run()
    const used = process.cpuUsage(before)
    ;(rounds[name] ??= []).push((used.user + used.system) / count)
  }
}
for (const [name, values] of Object.entries(rounds)) {
  const sorted = [...values].sort((a, b) => a - b)
  process.stdout.write(
    `${name.padEnd(40)} ${round(median(values), 1)} us CPU (${round(sorted[0], 1)}-${round(sorted.at(-1)!, 1)})\n`
  )
}
await db.manager.closeAll()
rmSync(file, { force: true })
