import { spawn } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { dbKind, sqlNow, startTestApp, TEST_APP_ROOT, type TestApp } from '../helpers/test_app.ts'
import { bearer } from '../helpers/http.ts'
import { countUsers } from '../helpers/db.ts'

const STATE_DIR = fileURLToPath(new URL('tmp/rownd/', TEST_APP_ROOT))
const OUTCOMES = ['created', 'linked', 'updated', 'unchanged', 'conflicts', 'skipped'] as const
type Counts = Record<(typeof OUTCOMES)[number] | 'total', number>

interface AceRun {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
  ms: number
}

/** The counts of the final table (`│ created │ 1400 │`) */
function tableCounts(output: string): Counts {
  const counts: Partial<Counts> = {}
  for (const line of output.split('\n')) {
    const match = /^\W*(created|linked|updated|unchanged|conflicts|skipped|total)\W+(\d+)\W*$/.exec(
      line
    )
    if (match) counts[match[1] as keyof Counts] = Number(match[2])
  }
  return counts as Counts
}

/** Every users row, for before/after comparisons */
async function snapshot(app: TestApp) {
  return app.db('users').orderBy('id')
}

/** A small deterministic shuffle, so the kinds of users are spread over the pages */
function shuffled<T>(items: T[]): T[] {
  const result = [...items]
  let seed = 42
  for (let i = result.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    const j = seed % (i + 1)
    ;[result[i], result[j]] = [result[j], result[i]]
  }
  return result
}

test.group(`rownd:sync (${dbKind()}) | 2 000 existing Rownd users`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp
  let seededRows = 0
  const expected: Counts = {
    created: 1400,
    linked: 300,
    updated: 50,
    unchanged: 100,
    conflicts: 100,
    skipped: 50,
    total: 2000,
  }

  /** `node ace rownd:sync ...` in the test app, on the app's database and Rownd */
  function ace(args: string[], options: { killWhen?: () => Promise<boolean> } = {}) {
    const started = Date.now()
    const child = spawn(
      process.execPath,
      ['--import=@poppinss/ts-exec', 'bin/console.ts', 'rownd:sync', ...args],
      {
        cwd: fileURLToPath(TEST_APP_ROOT),
        env: {
          ...process.env,
          NODE_ENV: 'test',
          NO_COLOR: '1',
          FORCE_COLOR: '0',
          LOG_LEVEL: 'warn',
          DB_CONNECTION: dbKind(),
          SQLITE_FILE: app.sqliteFile,
          ROWND_APP_KEY: emulator.appKey,
          ROWND_APP_SECRET: emulator.appSecret,
          ROWND_API_URL: emulator.url,
          // Guests are refused by this app: they are skipped, as at sign-in
          ROWND_REFUSE: 'guest',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }
    )
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    let watching = true
    if (options.killWhen) {
      const watch = async () => {
        while (watching && child.exitCode === null) {
          if (await options.killWhen!()) {
            child.kill('SIGKILL')
            return
          }
          await new Promise((resolve) => setTimeout(resolve, 25))
        }
      }
      void watch()
    }
    return new Promise<AceRun>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 100_000)
      child.on('close', (code, signal) => {
        watching = false
        clearTimeout(timer)
        resolve({ code, signal, output, ms: Date.now() - started })
      })
    })
  }

  const linkedRows = async () =>
    Number((await app.db('users').whereNotNull('rownd_user_id').count({ n: '*' }))[0].n)

  group.setup(async () => {
    rmSync(STATE_DIR, { recursive: true, force: true })
    emulator = await RowndEmulator.start()
    app = await startTestApp({ emulator })

    type Seed = () => Promise<void> | void
    const rows: Record<string, unknown>[] = []
    const seeds: Seed[] = []
    for (let i = 0; i < 1400; i++) {
      seeds.push(() => {
        emulator.createUser({ email: `new-${i}@example.com`, firstName: 'New', lastName: `${i}` })
      })
    }
    for (let i = 0; i < 300; i++) {
      // An account of the app's own sign-up: Rownd verified the same address
      rows.push({ email: `link-${i}@example.com`, full_name: `Link ${i}` })
      seeds.push(() => {
        emulator.createUser({ email: `LINK-${i}@example.com` })
      })
    }
    for (let i = 0; i < 100; i++) {
      // Same address, never verified by Rownd: linking it would be a takeover
      rows.push({ email: `conflict-${i}@example.com` })
      seeds.push(() => {
        emulator.createUser({ email: `conflict-${i}@example.com`, emailVerified: false })
      })
    }
    for (let i = 0; i < 100; i++) {
      seeds.push(() => {
        const user = emulator.createUser({
          email: `same-${i}@example.com`,
          firstName: 'Same',
          lastName: `${i}`,
        })
        rows.push({
          email: user.data.email,
          first_name: 'Same',
          last_name: `${i}`,
          full_name: `Same ${i}`,
          rownd_user_id: user.userId,
        })
      })
    }
    for (let i = 0; i < 50; i++) {
      seeds.push(() => {
        const user = emulator.createUser({
          email: `moved-${i}@example.com`,
          firstName: 'Moved',
          lastName: `${i}`,
        })
        rows.push({
          email: user.data.email,
          first_name: 'Old',
          last_name: `${i}`,
          full_name: `Old ${i}`,
          rownd_user_id: user.userId,
        })
      })
    }
    for (let i = 0; i < 50; i++) {
      seeds.push(() => {
        emulator.createUser({ authLevel: 'guest' })
      })
    }
    for (const seed of shuffled(seeds)) await seed()
    const now = sqlNow()
    for (let i = 0; i < rows.length; i += 100) {
      await app
        .db('users')
        .insert(rows.slice(i, i + 100).map((row) => ({ created_at: now, ...row })))
    }
    seededRows = rows.length
    return async () => {
      await app.stop()
      await emulator.close()
      rmSync(STATE_DIR, { recursive: true, force: true })
    }
  })

  test('--dry-run reports the exact counts and writes nothing', async ({ assert }) => {
    const before = await snapshot(app)
    const run = await ace(['--dry-run', '--rate=100', '--page-size=200'])
    assert.equal(run.code, 0, run.output)
    assert.deepEqual(tableCounts(run.output), expected, run.output)
    assert.include(run.output, 'dry run')
    assert.deepEqual(await snapshot(app), before)
    assert.isFalse(existsSync(STATE_DIR) && readdirSync(STATE_DIR).length > 0, 'no state file')
  }).timeout(120_000)

  test('a run killed mid-way resumes from its cursor; the counts come out exact', async ({
    assert,
  }) => {
    const initiallyLinked = await linkedRows()
    emulator.resetCounts()
    const killed = await ace(['--rate=50', '--page-size=50'], {
      killWhen: async () => (await linkedRows()) >= initiallyLinked + 600,
    })
    assert.equal(killed.signal, 'SIGKILL', killed.output)
    const linkedAtKill = await linkedRows()
    assert.isBelow(linkedAtKill, initiallyLinked + 1700, 'killed before the end')
    const [stateFile] = readdirSync(STATE_DIR)
    assert.match(stateFile, /^sync_.+_rownd\.json$/)
    const pagesBefore = emulator.requestCount('users_list')

    const resumed = await ace(['--rate=100', '--page-size=50'])
    assert.equal(resumed.code, 0, resumed.output)
    assert.include(resumed.output, 'Went on from where an unfinished run stopped')
    assert.deepEqual(tableCounts(resumed.output), expected, resumed.output)
    // It went on from the cursor instead of reading every page again
    assert.isBelow(emulator.requestCount('users_list') - pagesBefore, 41)
    assert.include(resumed.output, '[████████████████████████] 2000/2000')

    assert.equal(await linkedRows(), 100 + 50 + 1400 + 300)
    assert.equal(await countUsers(app.db), seededRows + 1400)
    // Linked to the row of the same address, whose email now reads as Rownd spells it
    const linked = await app.db('users').whereRaw('LOWER(email) = ?', ['link-7@example.com'])
    assert.lengthOf(linked, 1)
    assert.equal(linked[0].email, 'LINK-7@example.com')
    assert.equal(linked[0].rownd_user_id, emulator.findUserByEmail('link-7@example.com')!.userId)
    assert.equal(linked[0].full_name, 'Link 7', 'a column Rownd has no value for is kept')
    const conflicts = await app.db('users').where('email', 'like', 'conflict-%')
    assert.lengthOf(conflicts, 100)
    assert.isTrue(conflicts.every((row) => row.rownd_user_id === null))
    const [moved] = await app.db('users').where({ email: 'moved-3@example.com' })
    assert.equal(moved.full_name, 'Moved 3')

    // An imported user signs in onto their row: no second row
    const user = emulator.findUserByEmail('new-5@example.com')!
    const token = await emulator.mintToken({ userId: user.userId })
    const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(response.status, 200)
    assert.equal((await response.json()).email, 'new-5@example.com')
    assert.equal(await countUsers(app.db), seededRows + 1400)
  }).timeout(180_000)

  test('a second run changes nothing, at the rate asked for', async ({ assert }) => {
    const before = await snapshot(app)
    emulator.resetCounts()
    const run = await ace(['--rate=2', '--page-size=1000'])
    assert.equal(run.code, 0, run.output)
    assert.notInclude(run.output, 'Went on from')
    assert.deepEqual(tableCounts(run.output), {
      created: 0,
      linked: 0,
      updated: 0,
      unchanged: 1850,
      conflicts: 100,
      skipped: 50,
      total: 2000,
    })
    assert.deepEqual(await snapshot(app), before)
    // Pages of 1000, 1000, then an empty one; two per second at most
    assert.equal(emulator.requestCount('users_list'), 3)
    assert.isAtLeast(run.ms, 1000)
    assert.include(run.output, 'conflicts, first Rownd ids:')
  }).timeout(120_000)
})
