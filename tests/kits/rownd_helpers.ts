/**
 * Shared steps of the rownd_*.spec.ts files: a starter kit taken through
 * `node ace configure rownd-adonis` as a new user would, then driven over
 * HTTP like the Rownd Hub and the kit's own pages are.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { Assert } from '@japa/assert'
import { Scrypt } from '@adonisjs/core/hash/drivers/scrypt'
import type { RowndEmulator } from '../../src/testing/index.ts'
import type { CookieJar } from '../helpers/http.ts'
import { setEnvLines, type KitApp, type RunResult } from '../helpers/kit_app.ts'

export const PASSWORD = 'correct-horse-battery'

/** The kits' config/hash.ts (all three ship the same scrypt parameters) */
export const KIT_SCRYPT_OPTIONS = {
  cost: 16384,
  blockSize: 8,
  parallelization: 1,
  maxMemory: 33554432,
}
export const kitScrypt = new Scrypt(KIT_SCRYPT_OPTIONS)

/**
 * Every file of the app but node_modules and tmp (the SQLite file), by
 * relative path: two snapshots compare equal when nothing was written
 */
export async function snapshotFiles(root: string) {
  const files: Record<string, string> = {}
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      const name = relative(root, path)
      if (name === 'node_modules' || name === 'tmp') continue
      if (entry.isDirectory()) await walk(path)
      else if (entry.isFile()) files[name] = await readFile(path, 'utf-8')
    }
  }
  await walk(root)
  return files
}

/** The numbered steps configure prints under "rownd-adonis: left to do" */
export function leftToDo(output: string): string[] {
  const section = output.split('rownd-adonis: left to do')[1] ?? ''
  const steps: string[] = []
  for (const line of section.split('\n')) {
    const step = /^\s+\d+\. (.*)$/.exec(line)
    if (step) steps.push(step[1])
    else if (steps.length && /^\s{4,}\S/.test(line)) steps[steps.length - 1] += `\n${line.trim()}`
  }
  return steps
}

/** The lines configure prints under "rownd-adonis: done" */
export function doneList(output: string): string[] {
  const section = output.split('rownd-adonis: done')[1]?.split('rownd-adonis: left to do')[0] ?? ''
  return section
    .split('\n')
    .map((line) => /^\s+- (.*)$/.exec(line)?.[1])
    .filter((line): line is string => line !== undefined)
}

/**
 * `node ace configure rownd-adonis` twice, with snapshots of the app after
 * each run: the second run must change nothing
 */
export async function configureTwice(app: KitApp, flags: string[] = []) {
  const first = await app.ace(['configure', 'rownd-adonis', ...flags])
  const afterFirst = await snapshotFiles(app.root)
  const second = await app.ace(['configure', 'rownd-adonis', ...flags])
  const afterSecond = await snapshotFiles(app.root)
  return { first, second, afterFirst, afterSecond }
}

/** Asserts what every kit's configure output must (not) say */
export function assertConfigureOutput(assert: Assert, run: RunResult) {
  assert.equal(run.code, 0, run.stdout + run.stderr)
  assert.notInclude(run.stdout + run.stderr, 'rowndUserId')
  assert.notInclude(run.stdout + run.stderr, '@column')
  assert.notMatch(run.stdout + run.stderr, /\berror\b/i)
}

/** The step configure prints first when .env has no Rownd credentials yet */
export const TODO_CREDENTIALS =
  'Set ROWND_APP_KEY and ROWND_APP_SECRET in .env (Rownd dashboard, app settings); sign-ins fail with E_ROWND_CONFIG until they are set'
export const TODO_MIGRATE = 'Run "node ace migration:run"'

/**
 * The user's next steps after configure: the emulator's credentials in
 * .env, the routes README's install section shows, `migration:run`
 */
export async function finishInstall(app: KitApp, emulator: RowndEmulator, routes?: string) {
  const env = await app.readFile('.env')
  await app.writeFile(
    '.env',
    setEnvLines(env, {
      ROWND_APP_KEY: emulator.appKey,
      ROWND_APP_SECRET: emulator.appSecret,
      ROWND_API_URL: emulator.url,
    })
  )
  if (routes)
    await app.writeFile('start/routes.ts', `${await app.readFile('start/routes.ts')}\n${routes}`)
  return app.ace(['migration:run'])
}

/** Routes a web kit's user adds: a page behind the kit's auth, an API route behind Rownd's */
export function webKitRoutes(dashboard: string) {
  return `
// A page behind the kit's own auth middleware: Rownd sign-ins reach it too
router.get('/dashboard', ${dashboard}).use(middleware.auth())

// An API route for Rownd bearer tokens (and Rownd sessions)
router
  .get('/api/me', ({ auth }) => {
    const user = auth.use('rownd').getUserOrFail()
    return { id: user.id, email: user.email, fullName: user.fullName, rowndUserId: user.rowndUserId }
  })
  .use(middleware.rownd())
`
}

/**
 * The Hub's config commands as `@rowndHub()` renders them:
 * `_rphConfig.push([name, value])` lines, by name
 */
export function hubCommands(html: string): Record<string, any> {
  const commands: Record<string, any> = {}
  for (const match of html.matchAll(/_rphConfig\.push\((\[.*?\])\);/g)) {
    // The sign-out instruction pushes a function (onLoaded), not JSON
    if (match[1].startsWith('["onLoaded"')) {
      commands.onLoaded = match[1]
      continue
    }
    const [name, value] = JSON.parse(match[1])
    commands[name] = value
  }
  return commands
}

/** The Hub's post-authentication call: JSON `{ access_token }` with its extra headers */
export async function hubSignIn(
  jar: CookieJar,
  baseUrl: string,
  token: string,
  headers: Record<string, string> = {}
) {
  const response = await jar.fetch(`${baseUrl}/rownd/session_authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept': 'application/json', ...headers },
    body: JSON.stringify({ access_token: token }),
  })
  return { status: response.status, body: await jsonOf(response) }
}

/** The Hub's post-sign-out call (no body) with its extra headers */
export async function hubSignOut(
  jar: CookieJar,
  baseUrl: string,
  headers: Record<string, string> = {}
) {
  const response = await jar.fetch(`${baseUrl}/rownd/session_sign_out`, {
    method: 'POST',
    headers: { accept: 'application/json', ...headers },
  })
  return { status: response.status, body: await jsonOf(response) }
}

/** GET a JSON route with a cookie jar (the session) or a bearer token */
export async function getJson(
  baseUrl: string,
  path: string,
  auth: { jar?: CookieJar; token?: string } = {}
) {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (auth.token) headers.authorization = `Bearer ${auth.token}`
  const init = { headers, redirect: 'manual' as const }
  const response = auth.jar
    ? await auth.jar.fetch(`${baseUrl}${path}`, init)
    : await fetch(`${baseUrl}${path}`, init)
  return { status: response.status, headers: response.headers, body: await jsonOf(response) }
}

async function jsonOf(response: Response) {
  const text = await response.text()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The typed refusal of a profile the users table cannot hold */
export function assertProfileIncomplete(
  assert: Assert,
  result: { status: number; body: any },
  logs: string
) {
  assert.equal(result.status, 422, logs)
  assert.equal(result.body.errors[0].code, 'E_ROWND_PROFILE_INCOMPLETE')
  assert.include(result.body.errors[0].message, 'email')
}

/**
 * A password nobody knows, stored so that the kit's `verifyCredentials`
 * does the same work as for a wrong password: a real scrypt PHC string with
 * the kit's parameters (so `hash.verify` runs a full scrypt over it), not
 * null or a marker that short-circuits
 */
export async function assertUnusablePassword(assert: Assert, stored: unknown) {
  assert.isString(stored)
  const hash = stored as string
  assert.match(hash, /^\$scrypt\$n=16384,r=8,p=1\$[\w+/]{22}\$[\w+/]{86}$/)
  assert.isTrue(kitScrypt.isValidHash(hash))
  // Same parameters as the kit's hasher: nothing to rehash, nothing cheaper
  assert.isFalse(kitScrypt.needsReHash(hash))
  assert.isFalse(await kitScrypt.verify(hash, PASSWORD))
  assert.isFalse(await kitScrypt.verify(hash, ''))
}

/** Rows of the users table by Rownd id */
export async function rowsOf(app: KitApp, rowndUserId: string) {
  return app.db()('users').where({ rownd_user_id: rowndUserId })
}

export async function usersCount(app: KitApp) {
  const [{ count }] = await app.db()('users').count({ count: '*' })
  return Number(count)
}

/** Columns covered by a unique index of a SQLite table */
export async function uniqueColumns(app: KitApp, table: string) {
  const indexes: { name: string; unique: number }[] = await app
    .db()
    .raw(`PRAGMA index_list(${table})`)
  const columns: string[] = []
  for (const index of indexes.filter((entry) => entry.unique)) {
    const info: { name: string }[] = await app.db().raw(`PRAGMA index_info(${index.name})`)
    columns.push(...info.map((column) => column.name))
  }
  return columns
}
