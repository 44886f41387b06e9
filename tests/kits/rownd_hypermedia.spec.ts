/**
 * Issue 13, hypermedia (Edge) kit: `node ace configure rownd-adonis` on the
 * kit as shipped, then Rownd sign-ins over real HTTP reach the kit's own
 * auth surface (silent auth, header, middleware.auth(), middleware.guest())
 * while its password accounts keep working.
 */
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import {
  createKitApp,
  HypermediaClient,
  redirectPath,
  type KitApp,
  type RunResult,
} from '../helpers/kit_app.ts'
import { uniqueEmail } from './helpers.ts'
import {
  assertConfigureOutput,
  assertProfileIncomplete,
  assertUnusablePassword,
  configureTwice,
  doneList,
  finishInstall,
  getJson,
  hubCommands,
  hubSignIn,
  hubSignOut,
  leftToDo,
  PASSWORD,
  rowsOf,
  TODO_CREDENTIALS,
  TODO_MIGRATE,
  uniqueColumns,
  usersCount,
  webKitRoutes,
} from './rownd_helpers.ts'

const LAYOUT = 'resources/views/components/layout.edge'

/** A browser on the kit with the Rownd Hub's calls */
class Browser extends HypermediaClient {
  /**
   * The headers `@rowndHub()` configured the Hub with on the page just
   * loaded (the page's CSRF token as X-CSRF-TOKEN)
   */
  async hubHeaders(path = '/') {
    const { html } = await this.visit(path)
    const commands = hubCommands(html)
    // A page telling the Hub to sign out names no post-authentication API
    const api = commands.setPostAuthenticationApi ?? commands.setPostSignOutApi
    return api?.extra_headers as Record<string, string>
  }

  /** The Hub signing the user in on the page at `path` */
  async hubSignIn(token: string, path = '/') {
    return hubSignIn(this.jar, this.baseUrl, token, await this.hubHeaders(path))
  }

  async hubSignOut(path = '/') {
    return hubSignOut(this.jar, this.baseUrl, await this.hubHeaders(path))
  }

  async headerOf(path = '/') {
    return HypermediaClient.header((await this.visit(path)).html)
  }
}

/** Password signup through the kit's form; the browser is signed in */
async function passwordSignup(app: KitApp, email: string, fullName = '') {
  const browser = new Browser(app.baseUrl)
  const response = await browser.submit('/signup', '/signup', {
    fullName,
    email,
    password: PASSWORD,
    passwordConfirmation: PASSWORD,
  })
  return { browser, response }
}

test.group('kits | rownd | hypermedia', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let configure: Awaited<ReturnType<typeof configureTwice>>
  let migrate: RunResult

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('hypermedia')
    configure = await configureTwice(app)
    migrate = await finishInstall(
      app,
      emulator,
      webKitRoutes(`({ view }) => view.render('pages/home')`)
    )
    if (migrate.code === 0) await app.start()
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  test('configure: exit 0, the steps left are exact for this kit, a second run changes nothing', async ({
    assert,
  }) => {
    const { first, second, afterFirst, afterSecond } = configure
    assertConfigureOutput(assert, first)
    assert.include(doneList(first.stdout), `@rowndHub() in the <head> of ${LAYOUT}`, first.stdout)
    assert.deepEqual(leftToDo(first.stdout), [
      TODO_CREDENTIALS,
      'Add a sign-in button where users sign in (e.g. your login page): <button type="button" data-rownd-sign-in-trigger>Sign in with Rownd</button>',
      TODO_MIGRATE,
      'Rownd sign-ins log into your "web" guard: pages behind middleware.auth() and auth.user see them. For API routes called with a Rownd bearer token, use middleware.rownd()',
    ])
    // The tag on its own line inside <head>
    assert.match(afterFirst[LAYOUT], /\n {4}@rowndHub\(\)\n {2}<\/head>/)
    assert.include(
      afterFirst['start/kernel.ts'],
      `() => import('rownd-adonis/session_sync_middleware')`
    )
    assert.include(afterFirst['config/rownd.ts'], `appGuard: 'web'`)

    assertConfigureOutput(assert, second)
    assert.deepEqual(doneList(second.stdout), [])
    assert.notInclude(leftToDo(second.stdout), TODO_MIGRATE)
    assert.deepEqual(afterSecond, afterFirst)
  })

  test('migration:run adds rownd_user_id (in database/schema.ts too) and rownd_revocations', async ({
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
    assert.match(await app.readFile('database/schema.ts'), /declare rowndUserId: string \| null/)
    assert.isTrue(await app.db().schema.hasColumn('users', 'rownd_user_id'))
    assert.isTrue(await app.db().schema.hasTable('rownd_revocations'))
  })

  test('bearer sign-in of a new Rownd user on middleware.rownd(): exactly one row', async ({
    assert,
  }) => {
    const email = uniqueEmail('bearer')
    const user = emulator.createUser({ email, firstName: 'Ada', lastName: 'Lovelace' })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await usersCount(app)

    const me = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(me.status, 200, app.logs())
    assert.containsSubset(me.body, { email, fullName: 'Ada Lovelace', rowndUserId: user.userId })
    // Again: the same row
    const again = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(again.body.id, me.body.id)
    assert.equal(await usersCount(app), before + 1)
    assert.lengthOf(await rowsOf(app, user.userId), 1)

    // Anonymous: Rownd's typed JSON 401
    const anonymous = await getJson(app.baseUrl, '/api/me')
    assert.equal(anonymous.status, 401)
    assert.equal(anonymous.body.errors[0].code, 'E_ROWND_TOKEN_MISSING')
  })

  test('session sign-in with the CSRF token @rowndHub() renders: the kit sees the user everywhere', async ({
    assert,
  }) => {
    const email = uniqueEmail('session')
    const user = emulator.createUser({ email, firstName: 'Grace', lastName: 'Hopper' })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)

    // The page wires the Hub to the session routes with its CSRF token
    const { html } = await browser.visit('/login')
    const hub = hubCommands(html)
    assert.equal(hub.setAppKey, emulator.appKey)
    assert.containsSubset(hub.setPostAuthenticationApi, {
      method: 'post',
      url: '/rownd/session_authenticate',
    })
    const headers = hub.setPostAuthenticationApi.extra_headers
    assert.properties(headers, ['X-CSRF-TOKEN'])
    assert.deepEqual(hub.setPostSignOutApi.extra_headers, headers)

    // Without it, shield refuses the call (E_BAD_CSRF_TOKEN): nobody is signed in
    const forged = await hubSignIn(browser.jar, app.baseUrl, token)
    assert.notEqual(forged.status, 200)
    assert.lengthOf(await rowsOf(app, user.userId), 0)
    assert.include(await browser.headerOf('/'), 'href="/login"')

    const signIn = await hubSignIn(browser.jar, app.baseUrl, token, headers)
    assert.equal(signIn.status, 200, app.logs())
    assert.containsSubset(signIn.body, { should_refresh_page: true })
    assert.lengthOf(await rowsOf(app, user.userId), 1)

    // Silent auth: the header shows the initials and the logout form
    const header = await browser.headerOf('/')
    assert.match(header, /<span class="avatar">GH<\/span>/)
    assert.include(header, 'action="/logout"')
    assert.notInclude(header, 'href="/login"')

    // The kit's middleware.auth() and middleware.guest() see the user
    const dashboard = await browser.get('/dashboard')
    assert.equal(dashboard.response.status, 200, app.logs())
    assert.match(HypermediaClient.header(dashboard.html), /<span class="avatar">GH<\/span>/)
    const login = await browser.get('/login')
    assert.equal(login.response.status, 302)
    assert.equal(redirectPath(login.response), '/')

    // And middleware.rownd() by session
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
    const user = emulator.createUser({ phone: '+15555550101', phoneVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await usersCount(app)

    assertProfileIncomplete(assert, await getJson(app.baseUrl, '/api/me', { token }), app.logs())

    const browser = new Browser(app.baseUrl)
    assertProfileIncomplete(assert, await browser.hubSignIn(token), app.logs())
    // Still anonymous, and the kit still renders
    assert.include(await browser.headerOf('/'), 'href="/login"')

    assert.equal(await usersCount(app), before)
  })

  test('password signup, logout and login still work after configure', async ({ assert }) => {
    const email = uniqueEmail('password')
    const { browser, response } = await passwordSignup(app, email, 'Ada Lovelace')
    assert.equal(response.status, 302, app.logs())
    assert.equal(redirectPath(response), '/')
    assert.match(await browser.headerOf('/'), /<span class="avatar">AL<\/span>/)
    assert.equal((await browser.get('/dashboard')).response.status, 200)

    const logout = await browser.submit('/', '/logout', {})
    assert.equal(redirectPath(logout), '/login')
    assert.include(await browser.headerOf('/'), 'href="/login"')

    const login = await browser.submit('/login', '/login', { email, password: PASSWORD })
    assert.equal(login.status, 302, app.logs())
    assert.equal(redirectPath(login), '/')
    assert.match(await browser.headerOf('/'), /<span class="avatar">AL<\/span>/)

    const row = await app.db()('users').where({ email }).first()
    assert.isNull(row.rownd_user_id)
  })

  test("password login to a Rownd-created account: the kit's invalid-credentials answer, after a full scrypt", async ({
    assert,
  }) => {
    const email = uniqueEmail('rownd.only')
    const user = emulator.createUser({ email })
    const token = await emulator.mintToken({ userId: user.userId })
    assert.equal((await getJson(app.baseUrl, '/api/me', { token })).status, 200, app.logs())

    const [row] = await rowsOf(app, user.userId)
    await assertUnusablePassword(assert, row.password)

    const browser = new Browser(app.baseUrl)
    for (const password of [PASSWORD, '']) {
      const login = await browser.submit('/login', '/login', { email, password })
      assert.equal(login.status, 302, app.logs())
      assert.equal(redirectPath(login), '/login')
      const { html } = await browser.visit('/login')
      assert.match(html, /role="alert"[^>]*>[\s\S]*Invalid user credentials/)
      assert.include(HypermediaClient.header(html), 'href="/login"')
    }
  })

  test('a verified Rownd email links the password account; its password login still works', async ({
    assert,
  }) => {
    const email = uniqueEmail('linked')
    const { browser: passwordBrowser } = await passwordSignup(app, email, 'Ada Lovelace')
    await passwordBrowser.submit('/', '/logout', {})
    const [account] = await app.db()('users').where({ email })
    const before = await usersCount(app)

    const user = emulator.createUser({ email, emailVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    const signIn = await browser.hubSignIn(token)
    assert.equal(signIn.status, 200, app.logs())
    assert.match(await browser.headerOf('/'), /<span class="avatar">AL<\/span>/)

    assert.equal(await usersCount(app), before)
    const [linked] = await app.db()('users').where({ email })
    assert.equal(linked.id, account.id)
    assert.equal(linked.rownd_user_id, user.userId)
    assert.equal(linked.password, account.password)

    const login = await passwordBrowser.submit('/login', '/login', { email, password: PASSWORD })
    assert.equal(redirectPath(login), '/', app.logs())
    assert.match(await passwordBrowser.headerOf('/'), /<span class="avatar">AL<\/span>/)
  })

  // An Inertia visit to a middleware.rownd() route (409 + X-Inertia-Location)
  // makes no sense here: this kit has no Inertia client. The Edge kit's
  // equivalent, a browser navigation, is checked instead.
  test('an anonymous browser navigation to a middleware.rownd() route is sent to /login', async ({
    assert,
  }) => {
    const browser = new Browser(app.baseUrl)
    const { response } = await browser.get('/api/me')
    assert.equal(response.status, 302)
    assert.equal(redirectPath(response), '/login?return_to=%2Fapi%2Fme')
  })

  test("Rownd sign-out ends the Rownd session and the kit's own login", async ({ assert }) => {
    const user = emulator.createUser({ email: uniqueEmail('rownd.sign.out') })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    assert.include(await browser.headerOf('/'), 'action="/logout"')

    const signOut = await browser.hubSignOut('/')
    assert.equal(signOut.status, 200, app.logs())
    assert.containsSubset(signOut.body, { should_refresh_page: true })

    const header = await browser.headerOf('/')
    assert.include(header, 'href="/login"')
    assert.notInclude(header, 'action="/logout"')
    const dashboard = await browser.get('/dashboard')
    assert.equal(dashboard.response.status, 302)
    assert.equal(redirectPath(dashboard.response), '/login')
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: browser.jar })).status, 401)
  })

  test("the kit's own logout ends the Rownd session; the Hub cannot sign the user straight back in", async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: uniqueEmail('kit.logout') })
    // The Hub's token, obtained a minute ago
    const token = await emulator.mintToken({
      userId: user.userId,
      issuedAt: Math.floor(Date.now() / 1000) - 60,
    })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: browser.jar })).status, 200)
    const copied = browser.jar.clone()

    const logout = await browser.submit('/', '/logout', {})
    assert.equal(logout.status, 302, app.logs())
    assert.equal(redirectPath(logout), '/login')
    assert.include(await browser.headerOf('/'), 'href="/login"')
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: browser.jar })).status, 401)
    // The user was signed out everywhere: their earlier tokens are refused too
    const earlier = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(earlier.status, 401)
    assert.equal(earlier.body.errors[0].code, 'E_ROWND_TOKEN_REVOKED')

    // The cookie as it was before logout (the cookie session driver keeps
    // everything in it) is refused by the kit's middleware.auth() and by Rownd's
    const stale = new Browser(app.baseUrl)
    stale.jar = copied
    const dashboard = await stale.get('/dashboard')
    assert.equal(dashboard.response.status, 302)
    assert.equal(redirectPath(dashboard.response), '/login')
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: copied })).status, 401)

    // The next page tells the Hub to sign out, and offers it no sign-in call
    const next = hubCommands((await browser.get('/login')).html)
    assert.include(next.onLoaded, 'signOut')
    assert.isUndefined(next.setPostAuthenticationApi)

    // A Hub that signs the user in again anyway (the worst case) is refused
    const fresh = await emulator.mintToken({ userId: user.userId })
    const refused = await browser.hubSignIn(fresh, '/login')
    assert.equal(refused.status, 401, app.logs())
    assert.equal(refused.body.errors[0].code, 'E_ROWND_SIGNED_OUT')
    assert.include(await browser.headerOf('/'), 'href="/login"')

    // Once the Hub reports its sign-out, a new sign-in works
    const acknowledged = await browser.hubSignOut('/login')
    assert.equal(acknowledged.status, 200, app.logs())
    const after = hubCommands((await browser.get('/login')).html)
    assert.isUndefined(after.onLoaded)
    assert.isDefined(after.setPostAuthenticationApi)
    const again = await browser.hubSignIn(fresh, '/login')
    assert.equal(again.status, 200, app.logs())
    assert.containsSubset(again.body, { should_refresh_page: true })
    assert.include(await browser.headerOf('/'), 'action="/logout"')
    assert.equal((await browser.get('/dashboard')).response.status, 200)

    // The logout's sign-out was persisted (it holds across restarts)
    const persisted = await app
      .db()('rownd_revocations')
      .where({ rownd_user_id: user.userId, token_hash: '' })
    assert.lengthOf(persisted, 1)
    assert.isAbove(Number(persisted[0].revoked_before), 0)
  })
})

test.group('kits | rownd | hypermedia --nullable-email', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let configure: RunResult
  let migrate: RunResult

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('hypermedia')
    configure = await app.ace(['configure', 'rownd-adonis', '--nullable-email'])
    migrate = await finishInstall(
      app,
      emulator,
      webKitRoutes(`({ view }) => view.render('pages/home')`)
    )
    if (migrate.code === 0) await app.start()
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  test("a phone-only Rownd user gets a row; the kit's header shows initials from the phone number", async ({
    assert,
  }) => {
    assertConfigureOutput(assert, configure)
    assert.isTrue(
      doneList(configure.stdout).some((line) =>
        line.startsWith('migration making "users.email" nullable')
      ),
      configure.stdout
    )
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
    assert.match(migrate.stdout, /migrated database\/migrations\/\d+_make_users_email_nullable/)

    const phone = '+15555550102'
    const user = emulator.createUser({ phone, phoneVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    const signIn = await browser.hubSignIn(token)
    assert.equal(signIn.status, 200, app.logs())

    const rows = await rowsOf(app, user.userId)
    assert.lengthOf(rows, 1)
    assert.isNull(rows[0].email)
    assert.equal(rows[0].full_name, phone)
    await assertUnusablePassword(assert, rows[0].password)

    // The kit's initials getter splits fullName: "+1" for a phone number
    const header = await browser.headerOf('/')
    assert.match(header, /<span class="avatar">\+1<\/span>/)
    assert.include(header, 'action="/logout"')
    assert.equal((await browser.get('/dashboard')).response.status, 200)

    // Bearer too, same row
    const me = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(me.status, 200)
    assert.equal(me.body.id, rows[0].id)

    // Another phone-only user: email stays unique, NULLs do not collide
    const other = emulator.createUser({ phone: '+15555550103', phoneVerified: true })
    const otherToken = await emulator.mintToken({ userId: other.userId })
    assert.equal((await getJson(app.baseUrl, '/api/me', { token: otherToken })).status, 200)
    assert.lengthOf(await rowsOf(app, other.userId), 1)

    // Making email nullable (a table rebuild on SQLite) kept both unique indexes
    assert.includeMembers(await uniqueColumns(app, 'users'), ['email', 'rownd_user_id'])
  })
})
