/**
 * Issue 20: rownd-adonis on an AdonisJS 6 app running on Node 20.
 *
 * The web starter kit of AdonisJS 6 (tests/fixtures/adonis6/web), its own
 * lockfile installed with `npm ci`, rownd-adonis installed from its npm
 * tarball, then what README tells a user to do: `node ace configure
 * rownd-adonis`, the model column Lucid 21 cannot generate, credentials,
 * `node ace migration:run`. The app (ace commands and server) runs on the
 * system Node 20; these tests drive it over HTTP from Node 24.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import {
  adonis6Base,
  createAdonis6App,
  systemNode,
  type Adonis6App,
  type Adonis6Base,
} from '../helpers/adonis6_app.ts'
import { HypermediaClient, redirectPath, setEnvLines, type RunResult } from '../helpers/kit_app.ts'
import { uniqueEmail } from '../kits/helpers.ts'
import {
  assertProfileIncomplete,
  doneList,
  getJson,
  hubCommands,
  hubSignIn,
  hubSignOut,
  kitScrypt,
  leftToDo,
  PASSWORD,
  snapshotFiles,
  TODO_CREDENTIALS,
  TODO_MIGRATE,
} from '../kits/rownd_helpers.ts'

const HOME = 'resources/views/pages/home.edge'

/** The step configure prints on AdonisJS 6, where Lucid writes no database/schema.ts */
const TODO_MODEL_COLUMN =
  'Give app/models/user.ts the Rownd id column: @column() declare rowndUserId: string | null'

/** What README's install section has a user add after configure */
const USER_ROUTES = `
import { middleware } from '#start/kernel'

// A page behind the kit's own auth middleware (the "web" session guard)
router
  .get('/dashboard', ({ auth }) => \`dashboard of \${auth.getUserOrFail().email}\`)
  .use(middleware.auth())

// An API route for Rownd bearer tokens (and Rownd sessions)
router
  .get('/api/me', ({ auth }) => {
    const user = auth.use('rownd').getUserOrFail()
    return { id: user.id, email: user.email, fullName: user.fullName, rowndUserId: user.rowndUserId }
  })
  .use(middleware.rownd())

// The app's own logout, on its "web" guard
router.post('/logout', async ({ auth, response }) => {
  await auth.use('web').logout()
  return response.redirect('/')
})
`

/** Adds the column the to-do list asks for, as a user would */
function withRowndColumn(model: string) {
  return model.replace(
    '  declare email: string\n',
    '  declare email: string\n\n  @column()\n  declare rowndUserId: string | null\n'
  )
}

/** `node ace configure rownd-adonis` twice, with the app's files after each run */
async function configureTwice(app: Adonis6App) {
  const first = await app.ace(['configure', 'rownd-adonis'])
  const afterFirst = await snapshotFiles(app.root)
  const second = await app.ace(['configure', 'rownd-adonis'])
  const afterSecond = await snapshotFiles(app.root)
  return { first, second, afterFirst, afterSecond }
}

/** A browser on the app's home page, where configure put @rowndHub() */
class Browser extends HypermediaClient {
  /** Headers @rowndHub() configured the Hub with (the page's CSRF token) */
  async hubHeaders(path = '/') {
    const { html } = await this.visit(path)
    const commands = hubCommands(html)
    const api = commands.setPostAuthenticationApi ?? commands.setPostSignOutApi
    return api?.extra_headers as Record<string, string>
  }

  async hubSignIn(token: string, path = '/') {
    return hubSignIn(this.jar, this.baseUrl, token, await this.hubHeaders(path))
  }

  async hubSignOut(path = '/') {
    return hubSignOut(this.jar, this.baseUrl, await this.hubHeaders(path))
  }

  /** The app's own logout, with the page's CSRF token */
  async logout() {
    const headers = await this.hubHeaders('/')
    return this.jar.fetch(`${this.baseUrl}/logout`, {
      method: 'POST',
      headers: { accept: 'text/html', ...headers },
    })
  }
}

async function rowsOf(app: Adonis6App, rowndUserId: string) {
  return app.knex()('users').where({ rownd_user_id: rowndUserId })
}

async function usersCount(app: Adonis6App) {
  const [{ count }] = await app.knex()('users').count({ count: '*' })
  return Number(count)
}

test.group('adonis6 | web kit', (group) => {
  let emulator: RowndEmulator
  let base: Adonis6Base
  let app: Adonis6App
  let configure: Awaited<ReturnType<typeof configureTwice>>
  let afterColumn: RunResult
  let migrate: RunResult

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    base = await adonis6Base()
    app = await createAdonis6App(base)
    configure = await configureTwice(app)
    // The user follows the to-do list
    await app.writeFile(
      'app/models/user.ts',
      withRowndColumn(await app.readFile('app/models/user.ts'))
    )
    afterColumn = await app.ace(['configure', 'rownd-adonis'])
    await app.writeFile(
      '.env',
      setEnvLines(await app.readFile('.env'), {
        ROWND_APP_KEY: emulator.appKey,
        ROWND_APP_SECRET: emulator.appSecret,
        ROWND_API_URL: emulator.url,
      })
    )
    await app.writeFile(
      'start/routes.ts',
      `${await app.readFile('start/routes.ts')}\n${USER_ROUTES}`
    )
    migrate = await app.ace(['migration:run'])
    if (migrate.code === 0) await app.start()
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  test('the app runs on the system Node 20 with AdonisJS 6 packages', async ({ assert }) => {
    const version = async (name: string) =>
      JSON.parse(await app.readFile(`node_modules/${name}/package.json`)).version as string
    assert.match(await version('@adonisjs/core'), /^6\./)
    assert.match(await version('@adonisjs/auth'), /^9\./)
    assert.match(await version('@adonisjs/lucid'), /^21\./)
    assert.match(await version('@adonisjs/session'), /^7\./)
    assert.match(await version('@adonisjs/shield'), /^8\./)
    assert.match(await version('@adonisjs/assembler'), /^7\./)
    // The server answering these tests is that Node
    assert.equal(app.process?.spawnfile, systemNode().node)
    assert.match(systemNode().version, /^v20\./)
  })

  test('npm install of the tarball: the peer ranges and engines admit AdonisJS 6 on Node 20', async ({
    assert,
  }) => {
    const output = base.install.stdout + base.install.stderr
    assert.equal(base.install.code, 0, output)
    assert.notInclude(output, 'ERESOLVE')
    // npm's engine warnings name the package (upstream ones may remain: edge-lexer...)
    const unsupported = [...output.matchAll(/EBADENGINE\s+package: '([^']+)'/g)].map((m) => m[1])
    for (const name of unsupported) assert.notMatch(name, /^(rownd-adonis|jose|lru-cache)@/)
    // npm ls exits non-zero on an invalid or missing peer
    const ls = await app.exec(systemNode().node, [
      systemNode().npmCli,
      'ls',
      'rownd-adonis',
      '@adonisjs/core',
      '@adonisjs/auth',
      '@adonisjs/lucid',
      '@adonisjs/session',
      '@adonisjs/shield',
    ])
    assert.equal(ls.code, 0, ls.stdout + ls.stderr)
    assert.match(ls.stdout, /rownd-adonis@\d/)
    assert.notMatch(ls.stdout, /invalid|UNMET/)
    const pkg = JSON.parse(await app.readFile('package.json'))
    assert.match(pkg.dependencies['rownd-adonis'], /^file:.*rownd-adonis-[\d.]+\.tgz$/)
  })

  test('better-sqlite3 12 was compiled from source against Node 20 headers; nothing was downloaded', async ({
    assert,
  }) => {
    const { meta, dir } = base.modules
    assert.include(meta.builtFromSource, 'better-sqlite3')
    assert.equal(meta.nodeVersion, systemNode().version)
    const addon = join(app.root, 'node_modules/better-sqlite3')
    const pkg = JSON.parse(await readFile(join(addon, 'package.json'), 'utf-8'))
    assert.match(pkg.version, /^12\./)
    // node-gyp's record of the build: this Node's ABI, its local headers, a source build
    const gypi = await readFile(join(addon, 'build/config.gypi'), 'utf-8')
    const abi = await app.exec(systemNode().node, ['-p', 'process.versions.modules'])
    assert.include(gypi, `"node_module_version": ${abi.stdout.trim()},`)
    assert.include(gypi, `"nodedir": "${meta.nodedir}"`)
    // No install script ran (so prebuild-install never did); node-gyp ran on
    // Node 20 with the local headers, without network, and downloaded nothing
    const log = await readFile(join(dir, 'build.log'), 'utf-8')
    assert.include(log, '$ npm ci --ignore-scripts (exit 0)')
    assert.notInclude(log, 'prebuild-install')
    assert.include(log, `gyp info using node@${systemNode().version.slice(1)} `)
    assert.include(log, `-Dnode_root_dir=${meta.nodedir}`)
    assert.notMatch(log, /gyp (info|http) (download|GET)|Downloading node headers/i)
    if (meta.networkIsolated) {
      assert.include(log, '$ unshare --net node-gyp rebuild --release --nodedir=')
    }
    // The only addon npm would have run an install script for (swc and esbuild ship as packages)
    assert.deepEqual(meta.builtFromSource, ['better-sqlite3'])
  })

  test('configure: exit 0, the steps left are exact for AdonisJS 6, a second run changes nothing', async ({
    assert,
  }) => {
    const { first, second, afterFirst, afterSecond } = configure
    assert.equal(first.code, 0, first.stdout + first.stderr)
    assert.notMatch(first.stdout + first.stderr, /\berror\b/i)
    assert.includeMembers(doneList(first.stdout), [
      'provider rownd-adonis/rownd_provider in adonisrc.ts',
      'commands rownd-adonis/commands in adonisrc.ts',
      'preload #start/rownd in adonisrc.ts',
      'start/rownd.ts (POST /rownd/session_authenticate, /rownd/session_sign_out, /rownd/user_data_update)',
      'config/rownd.ts (Rownd sign-ins also log into your "web" guard)',
      'rownd-adonis/session_sync_middleware in router.use (start/kernel.ts)',
      'the "rownd" guard in config/auth.ts',
      `@rowndHub() in the <head> of ${HOME}`,
    ])
    // Lucid 21 generates no database/schema.ts: the model needs the column by hand
    assert.deepEqual(leftToDo(first.stdout), [
      TODO_CREDENTIALS,
      'Add a sign-in button where users sign in (e.g. your login page): <button type="button" data-rownd-sign-in-trigger>Sign in with Rownd</button>',
      TODO_MIGRATE,
      TODO_MODEL_COLUMN,
      'Rownd sign-ins log into your "web" guard: pages behind middleware.auth() and auth.user see them. For API routes called with a Rownd bearer token, use middleware.rownd()',
    ])
    assert.match(afterFirst[HOME], /\n {4}@rowndHub\(\)\n {2}<\/head>/)
    assert.include(
      afterFirst['config/auth.ts'],
      `import { rowndGuard, rowndUserProvider } from 'rownd-adonis'`
    )

    assert.equal(second.code, 0, second.stdout + second.stderr)
    assert.deepEqual(doneList(second.stdout), [])
    assert.notInclude(leftToDo(second.stdout), TODO_MIGRATE)
    assert.include(leftToDo(second.stdout), TODO_MODEL_COLUMN)
    assert.deepEqual(afterSecond, afterFirst)

    // Once the model has the column, configure stops asking for it
    assert.equal(afterColumn.code, 0, afterColumn.stdout)
    assert.notInclude(leftToDo(afterColumn.stdout), TODO_MODEL_COLUMN)
  })

  test('migration:run adds rownd_user_id and rownd_revocations; no database/schema.ts', async ({
    assert,
  }) => {
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
    assert.match(
      migrate.stdout,
      /migrated database\/migrations\/\d+_add_rownd_user_id_to_users_table/
    )
    assert.match(
      migrate.stdout,
      /migrated database\/migrations\/\d+_create_rownd_revocations_table/
    )
    assert.isTrue(await app.knex().schema.hasColumn('users', 'rownd_user_id'))
    assert.isTrue(await app.knex().schema.hasTable('rownd_revocations'))
    await assert.rejects(() => app.readFile('database/schema.ts'))
  })

  test('the configured app typechecks with its own TypeScript', async ({ assert }) => {
    const tsc = await app.exec(systemNode().node, ['node_modules/typescript/bin/tsc', '--noEmit'])
    assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr)
  }).timeout(120_000)

  test('bearer sign-in of a new Rownd user on middleware.rownd(): exactly one row', async ({
    assert,
  }) => {
    const email = uniqueEmail('a6.bearer')
    const user = emulator.createUser({ email, firstName: 'Ada', lastName: 'Lovelace' })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await usersCount(app)

    const me = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(me.status, 200, app.logs())
    assert.containsSubset(me.body, { email, fullName: 'Ada Lovelace', rowndUserId: user.userId })
    const again = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(again.body.id, me.body.id)
    assert.equal(await usersCount(app), before + 1)
    assert.lengthOf(await rowsOf(app, user.userId), 1)

    const anonymous = await getJson(app.baseUrl, '/api/me')
    assert.equal(anonymous.status, 401)
    assert.equal(anonymous.body.errors[0].code, 'E_ROWND_TOKEN_MISSING')
  })

  test('session sign-in with the CSRF token @rowndHub() renders: the kit sees the user', async ({
    assert,
  }) => {
    const email = uniqueEmail('a6.session')
    const user = emulator.createUser({ email, firstName: 'Grace', lastName: 'Hopper' })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)

    const { html } = await browser.visit('/')
    const hub = hubCommands(html)
    assert.equal(hub.setAppKey, emulator.appKey)
    assert.containsSubset(hub.setPostAuthenticationApi, {
      method: 'post',
      url: '/rownd/session_authenticate',
    })
    const headers = hub.setPostAuthenticationApi.extra_headers
    assert.properties(headers, ['X-CSRF-TOKEN'])

    // Without the token, shield refuses the call: nobody is signed in
    const forged = await hubSignIn(browser.jar, app.baseUrl, token)
    assert.notEqual(forged.status, 200)
    assert.lengthOf(await rowsOf(app, user.userId), 0)

    const signIn = await hubSignIn(browser.jar, app.baseUrl, token, headers)
    assert.equal(signIn.status, 200, app.logs())
    assert.containsSubset(signIn.body, { should_refresh_page: true })
    assert.lengthOf(await rowsOf(app, user.userId), 1)

    // The kit's middleware.auth() ("web" guard) and middleware.rownd() see the user
    const dashboard = await browser.get('/dashboard')
    assert.equal(dashboard.response.status, 200, app.logs())
    assert.equal(dashboard.html, `dashboard of ${email}`)
    const me = await getJson(app.baseUrl, '/api/me', { jar: browser.jar })
    assert.equal(me.status, 200)
    assert.equal(me.body.email, email)

    // The Hub calls again on every page load: no reload loop
    const again = await browser.hubSignIn(token)
    assert.equal(again.status, 200)
    assert.containsSubset(again.body, { should_refresh_page: false })
    assert.lengthOf(await rowsOf(app, user.userId), 1)
  })

  test('a phone-only Rownd user against email NOT NULL: typed 422 for session and bearer, no row', async ({
    assert,
  }) => {
    const user = emulator.createUser({ phone: '+15555550199', phoneVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await usersCount(app)
    assertProfileIncomplete(assert, await getJson(app.baseUrl, '/api/me', { token }), app.logs())
    assertProfileIncomplete(assert, await new Browser(app.baseUrl).hubSignIn(token), app.logs())
    assert.equal(await usersCount(app), before)
  })

  test('a verified Rownd email links the existing password account', async ({ assert }) => {
    const email = uniqueEmail('a6.linked')
    const password = await kitScrypt.make(PASSWORD)
    await app
      .knex()('users')
      .insert({
        email,
        full_name: 'Ada Lovelace',
        password,
        created_at: new Date().toISOString().slice(0, 19).replace('T', ' '),
      })
    const [account] = await app.knex()('users').where({ email })
    const before = await usersCount(app)

    const user = emulator.createUser({ email, emailVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    assert.equal((await browser.get('/dashboard')).html, `dashboard of ${email}`)

    assert.equal(await usersCount(app), before)
    const [linked] = await app.knex()('users').where({ email })
    assert.equal(linked.id, account.id)
    assert.equal(linked.rownd_user_id, user.userId)
    assert.equal(linked.password, password)
  })

  test('Rownd sign-out ends the Rownd session and the "web" login', async ({ assert }) => {
    const user = emulator.createUser({ email: uniqueEmail('a6.sign.out') })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    assert.equal((await browser.get('/dashboard')).response.status, 200)

    const signOut = await browser.hubSignOut('/')
    assert.equal(signOut.status, 200, app.logs())
    assert.containsSubset(signOut.body, { should_refresh_page: true })

    const dashboard = await browser.get('/dashboard')
    assert.equal(dashboard.response.status, 302)
    assert.equal(redirectPath(dashboard.response), '/login')
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: browser.jar })).status, 401)
  })

  test("the app's own logout ends the Rownd session and revokes earlier tokens", async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: uniqueEmail('a6.logout') })
    const token = await emulator.mintToken({
      userId: user.userId,
      issuedAt: Math.floor(Date.now() / 1000) - 60,
    })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    const copied = browser.jar.clone()

    const logout = await browser.logout()
    assert.equal(logout.status, 302, app.logs())
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: browser.jar })).status, 401)
    const earlier = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(earlier.status, 401)
    assert.equal(earlier.body.errors[0].code, 'E_ROWND_TOKEN_REVOKED')

    // The cookie from before the logout (the cookie store keeps everything in it)
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: copied })).status, 401)
    const stale = await copied.fetch(`${app.baseUrl}/dashboard`, {
      headers: { accept: 'text/html' },
    })
    assert.equal(stale.status, 302)

    // The next page tells the Hub to sign out and offers no sign-in call
    const next = hubCommands((await browser.get('/')).html)
    assert.include(next.onLoaded, 'signOut')
    assert.isUndefined(next.setPostAuthenticationApi)

    // The sign-out was persisted (it holds across restarts)
    const persisted = await app
      .knex()('rownd_revocations')
      .where({ rownd_user_id: user.userId, token_hash: '' })
    assert.lengthOf(persisted, 1)
  })

  test('an anonymous browser navigation to a middleware.rownd() route is sent to /login', async ({
    assert,
  }) => {
    const { response } = await new Browser(app.baseUrl).get('/api/me')
    assert.equal(response.status, 302)
    assert.equal(redirectPath(response), '/login?return_to=%2Fapi%2Fme')
  })
})
