import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import knex, { type Knex } from 'knex'
import type { Group } from '@japa/runner/core'
import { RowndEmulator } from '../../src/testing/index.ts'

export const TEST_APP_ROOT = new URL('../fixtures/test_app/', import.meta.url)
const NODE = process.execPath

export type DbKind = 'sqlite' | 'pg' | 'mysql'

/** Database lane selected by DB_CONNECTION (sqlite | pg | mysql); SQLite by default */
export function dbKind(): DbKind {
  const kind = process.env.DB_CONNECTION ?? 'sqlite'
  if (kind !== 'sqlite' && kind !== 'pg' && kind !== 'mysql')
    throw new Error(`unknown DB_CONNECTION ${kind}`)
  return kind
}

export function knexConfig(kind: DbKind, sqliteFile: string): Knex.Config {
  if (kind === 'pg') {
    return {
      client: 'pg',
      connection: { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' },
    }
  }
  if (kind === 'mysql') {
    return {
      client: 'mysql2',
      connection: { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test' },
    }
  }
  return { client: 'better-sqlite3', connection: { filename: sqliteFile }, useNullAsDefault: true }
}

/** Drops the test app's tables so each app starts from a clean, migrated schema */
export async function resetDatabase(db: Knex) {
  const tables = [
    'auth_access_tokens',
    'rownd_revocations',
    'users',
    'adonis_schema',
    'adonis_schema_versions',
  ]
  for (const table of tables) {
    await db.schema.dropTableIfExists(table)
  }
}

/**
 * Collects a started app's output lines into `output` and resolves with the
 * URL of its `listening <url>` line (rejects if it exits or takes 30 s).
 */
export function waitForListening(
  child: ChildProcess,
  output: string[],
  label: string,
  maxLines = Number.POSITIVE_INFINITY
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label} did not start:\n${output.join('\n')}`)),
      30_000
    )
    let buffer = ''
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) {
        if (output.length < maxLines) output.push(line)
        const match = /^listening (http:\/\/\S+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolve(match[1])
        }
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${label} exited with ${code}:\n${output.join('\n')}`))
    })
  })
}

export interface TestAppOptions {
  emulator?: RowndEmulator
  env?: Record<string, string | undefined>
  /** Keep the existing database (another instance already migrated it) */
  keepDatabase?: boolean
  sqliteFile?: string
}

export interface TestApp {
  url: string
  process: ChildProcess
  /** Every line the app wrote (its logger writes JSON lines to stdout) */
  output: string[]
  db: Knex
  sqliteFile: string
  stop(): Promise<void>
}

/**
 * Starts the test app (tests/fixtures/test_app) as a real process on an
 * ephemeral port, pointed at the emulator, on a freshly migrated database.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const kind = dbKind()
  const tmp = fileURLToPath(new URL('tmp/', TEST_APP_ROOT))
  mkdirSync(tmp, { recursive: true })
  const sqliteFile = options.sqliteFile ?? `${tmp}db-${randomUUID()}.sqlite3`
  const db = knex(knexConfig(kind, sqliteFile))
  if (!options.keepDatabase) await resetDatabase(db)

  const emulator = options.emulator
  const env: Record<string, string> = {
    ...process.env,
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    AUTO_MIGRATE: 'true',
    LOG_LEVEL: 'info',
    DB_CONNECTION: kind,
    SQLITE_FILE: sqliteFile,
    ...(emulator
      ? {
          ROWND_APP_KEY: emulator.appKey,
          ROWND_APP_SECRET: emulator.appSecret,
          ROWND_API_URL: emulator.url,
        }
      : {}),
  } as Record<string, string>
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }

  const child = spawn(
    NODE,
    // --expose-gc: GET /_test/stats?gc=1 collects before reading memory
    ['--enable-source-maps', '--expose-gc', '--import=@poppinss/ts-exec', 'bin/server.ts'],
    {
      cwd: fileURLToPath(TEST_APP_ROOT),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }
  )
  const output: string[] = []
  const url = await waitForListening(child, output, 'test app')

  return {
    url,
    process: child,
    output,
    db,
    sqliteFile,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await db.destroy()
      if (kind === 'sqlite' && !options.sqliteFile) rmSync(sqliteFile, { force: true })
    },
  }
}

/** A timestamp every driver stores as-is ('YYYY-MM-DD HH:MM:SS') */
export function sqlNow() {
  return new Date().toISOString().slice(0, 19).replace('T', ' ')
}

/** Inserts a users row directly and returns its id, on every driver */
export async function insertUser(db: Knex, attributes: Record<string, unknown>): Promise<number> {
  const [result] = await db('users')
    .insert({ created_at: sqlNow(), ...attributes })
    .returning('id')
  return Number(typeof result === 'object' ? (result as { id: number }).id : result)
}

/**
 * A Japa group's emulator and test app: started in the group's setup,
 * stopped after its last test. Read `emulator` and `app` inside tests.
 */
export function useTestApp(group: Group, options: Omit<TestAppOptions, 'emulator'> = {}) {
  const handle = {} as { emulator: RowndEmulator; app: TestApp }
  group.setup(async () => {
    handle.emulator = await RowndEmulator.start()
    handle.app = await startTestApp({ ...options, emulator: handle.emulator })
    return async () => {
      await handle.app.stop()
      await handle.emulator.close()
    }
  })
  return handle
}
