/**
 * Issue 13, inertia-react kit: `node ace configure rownd-adonis` on the kit
 * as shipped, then Rownd sign-ins over real HTTP reach the kit's own auth
 * surface (the shared `user` prop, middleware.auth(), middleware.guest())
 * while its password accounts keep working.
 */
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import {
  createKitApp,
  InertiaClient,
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
  finishInstall,
  getJson,
  hubSignIn,
  hubSignOut,
  leftToDo,
  PASSWORD,
  rowsOf,
  TODO_CREDENTIALS,
  TODO_MIGRATE,
  usersCount,
  webKitRoutes,
} from './rownd_helpers.ts'

const ROOT_VIEW = 'resources/views/inertia_layout.edge'

/**
 * The Inertia client plus the Hub (@rownd/react) calling the session
 * routes with the kit's CSRF protection: the XSRF-TOKEN cookie echoed in
 * X-XSRF-TOKEN
 */
class Browser extends InertiaClient {
  xsrfHeaders(): Record<string, string> {
    const xsrf = this.jar.get('XSRF-TOKEN')
    return xsrf ? { 'x-xsrf-token': decodeURIComponent(xsrf) } : {}
  }

  async hubSignIn(token: string) {
    if (!this.jar.get('XSRF-TOKEN')) await this.load('/')
    return hubSignIn(this.jar, this.baseUrl, token, this.xsrfHeaders())
  }

  async hubSignOut() {
    return hubSignOut(this.jar, this.baseUrl, this.xsrfHeaders())
  }

  /** The shared `user` prop of a page reached by an Inertia visit */
  async userOn(path = '/') {
    const { page } = await this.visit('GET', path)
    return page!.props.user
  }
}

test.group('kits | rownd | inertia_react', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let rootView: string
  let configure: Awaited<ReturnType<typeof configureTwice>>
  let migrate: RunResult

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('inertia_react')
    rootView = await app.readFile(ROOT_VIEW)
    configure = await configureTwice(app)
    migrate = await finishInstall(
      app,
      emulator,
      webKitRoutes(`({ inertia }) => inertia.render('home', {})`)
    )
    if (migrate.code === 0) await app.start()
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  /** Password signup through an Inertia visit; the browser is signed in */
  async function passwordSignup(email: string, fullName = '') {
    const browser = new Browser(app.baseUrl)
    await browser.load('/signup')
    const visit = await browser.visit('POST', '/signup', {
      fullName,
      email,
      password: PASSWORD,
      passwordConfirmation: PASSWORD,
    })
    return { browser, ...visit }
  }

  test('configure: exit 0, the steps left are exact for this kit, a second run changes nothing', async ({
    assert,
  }) => {
    const { first, second, afterFirst, afterSecond } = configure
    assertConfigureOutput(assert, first)
    assert.deepEqual(leftToDo(first.stdout), [
      TODO_CREDENTIALS,
      'Inertia: render the Hub with Rownd\'s React SDK (@rownd/react) wired to the session routes, as README "Inertia + React" shows; leave @rowndHub() out of the root view',
      TODO_MIGRATE,
      'Rownd sign-ins log into your "web" guard: pages behind middleware.auth() and auth.user see them. For API routes called with a Rownd bearer token, use middleware.rownd()',
    ])
    // The root view is left alone: the Hub comes from @rownd/react
    assert.equal(afterFirst[ROOT_VIEW], rootView)
    assert.notInclude(first.stdout, '@rowndHub() in the <head>')
    assert.include(
      afterFirst['start/kernel.ts'],
      `() => import('rownd-adonis/session_sync_middleware')`
    )
    assert.include(afterFirst['config/rownd.ts'], `appGuard: 'web'`)

    assertConfigureOutput(assert, second)
    assert.notInclude(leftToDo(second.stdout), TODO_MIGRATE)
    assert.deepEqual(afterSecond, afterFirst)
  })

  test('migration:run adds rownd_user_id (in database/schema.ts too) and rownd_revocations', async ({
    assert,
  }) => {
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
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
    assert.equal((await getJson(app.baseUrl, '/api/me', { token })).body.id, me.body.id)
    assert.equal(await usersCount(app), before + 1)
    assert.lengthOf(await rowsOf(app, user.userId), 1)
  })

  test('session sign-in with the XSRF header: the shared `user` prop is the Rownd user', async ({
    assert,
  }) => {
    const email = uniqueEmail('session')
    const user = emulator.createUser({ email, firstName: 'Grace', lastName: 'Hopper' })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    await browser.load('/')

    // Without X-XSRF-TOKEN, shield refuses the call: nobody is signed in
    const forged = await hubSignIn(browser.jar, app.baseUrl, token)
    assert.notEqual(forged.status, 200)
    assert.lengthOf(await rowsOf(app, user.userId), 0)

    const signIn = await browser.hubSignIn(token)
    assert.equal(signIn.status, 200, app.logs())
    assert.containsSubset(signIn.body, { should_refresh_page: true })
    const [row] = await rowsOf(app, user.userId)

    // Every page shares the user, by Inertia visit and by full page load
    assert.deepInclude(await browser.userOn('/'), {
      id: row.id,
      email,
      fullName: 'Grace Hopper',
      initials: 'GH',
    })
    const { page } = await browser.load('/')
    assert.equal(page!.props.user!.email, email)

    // The kit's middleware.auth() and middleware.guest() see the user
    const dashboard = await browser.visit('GET', '/dashboard')
    assert.equal(dashboard.response.status, 200, app.logs())
    assert.equal(dashboard.page!.url, '/dashboard')
    assert.equal(dashboard.page!.props.user!.email, email)
    const login = await browser.request('GET', '/login')
    assert.equal(login.status, 302)
    assert.equal(redirectPath(login), '/')

    const me = await getJson(app.baseUrl, '/api/me', { jar: browser.jar })
    assert.equal(me.status, 200)
    assert.equal(me.body.id, row.id)

    // The Hub calls again on every page load: no reload loop
    const again = await browser.hubSignIn(token)
    assert.containsSubset(again.body, { should_refresh_page: false })
    assert.lengthOf(await rowsOf(app, user.userId), 1)
  })

  test('a phone-only Rownd user against email NOT NULL: typed 422 for session and bearer, no row', async ({
    assert,
  }) => {
    const user = emulator.createUser({ phone: '+15555550201', phoneVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await usersCount(app)

    assertProfileIncomplete(assert, await getJson(app.baseUrl, '/api/me', { token }), app.logs())
    const browser = new Browser(app.baseUrl)
    assertProfileIncomplete(assert, await browser.hubSignIn(token), app.logs())
    assert.isUndefined(await browser.userOn('/'))
    assert.equal(await usersCount(app), before)
  })

  test('password signup, logout and login still work after configure', async ({ assert }) => {
    const email = uniqueEmail('password')
    const { browser, page } = await passwordSignup(email, 'Ada Lovelace')
    assert.equal(page!.component, 'home', app.logs())
    assert.containsSubset(page!.props.user, { email, initials: 'AL' })
    assert.equal((await browser.visit('GET', '/dashboard')).response.status, 200)

    const logout = await browser.visit('POST', '/logout')
    assert.equal(logout.page!.component, 'auth/login')
    assert.notProperty(logout.page!.props, 'user')

    const login = await browser.visit('POST', '/login', { email, password: PASSWORD })
    assert.equal(login.page!.component, 'home', app.logs())
    assert.containsSubset(login.page!.props.user, { email, initials: 'AL' })
    assert.isNull((await app.db()('users').where({ email }).first()).rownd_user_id)
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
    await browser.load('/login')
    const login = await browser.request('POST', '/login', { email, password: PASSWORD })
    assert.equal(login.status, 302, app.logs())
    assert.equal(redirectPath(login), '/login')
    const { page } = await browser.visit('GET', '/login')
    assert.equal(page!.component, 'auth/login')
    assert.equal(page!.props.flash!.error, 'Invalid user credentials')
    assert.isUndefined(page!.props.user)
  })

  test('a verified Rownd email links the password account; its password login still works', async ({
    assert,
  }) => {
    const email = uniqueEmail('linked')
    const { browser: passwordBrowser } = await passwordSignup(email, 'Ada Lovelace')
    await passwordBrowser.visit('POST', '/logout')
    const [account] = await app.db()('users').where({ email })
    const before = await usersCount(app)

    const user = emulator.createUser({ email, emailVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    assert.containsSubset(await browser.userOn('/'), { id: account.id, email, initials: 'AL' })

    assert.equal(await usersCount(app), before)
    const [linked] = await app.db()('users').where({ email })
    assert.equal(linked.id, account.id)
    assert.equal(linked.rownd_user_id, user.userId)

    const login = await passwordBrowser.visit('POST', '/login', { email, password: PASSWORD })
    assert.equal(login.page!.component, 'home', app.logs())
    assert.equal(login.page!.props.user!.id, account.id)
  })

  test('an anonymous Inertia visit to a middleware.rownd() route gets 409 with X-Inertia-Location', async ({
    assert,
  }) => {
    const browser = new Browser(app.baseUrl)
    await browser.load('/')
    const response = await browser.request('GET', '/api/me')
    assert.equal(response.status, 409, app.logs())
    assert.equal(response.headers.get('x-inertia-location'), '/login?return_to=%2Fapi%2Fme')
    assert.equal(await response.text(), '')
  })

  test("Rownd sign-out ends the Rownd session and the kit's own login", async ({ assert }) => {
    const email = uniqueEmail('rownd.sign.out')
    const user = emulator.createUser({ email })
    const token = await emulator.mintToken({ userId: user.userId })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    assert.equal((await browser.userOn('/'))?.email, email)

    const signOut = await browser.hubSignOut()
    assert.equal(signOut.status, 200, app.logs())
    assert.containsSubset(signOut.body, { should_refresh_page: true })

    assert.isUndefined(await browser.userOn('/'))
    const dashboard = await browser.visit('GET', '/dashboard')
    assert.equal(dashboard.page!.component, 'auth/login')
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: browser.jar })).status, 401)
  })

  test("the kit's own logout ends the Rownd session; the Hub cannot sign the user straight back in", async ({
    assert,
  }) => {
    const email = uniqueEmail('kit.logout')
    const user = emulator.createUser({ email })
    // The Hub's token, obtained a minute ago
    const token = await emulator.mintToken({
      userId: user.userId,
      issuedAt: Math.floor(Date.now() / 1000) - 60,
    })
    const browser = new Browser(app.baseUrl)
    assert.equal((await browser.hubSignIn(token)).status, 200, app.logs())
    assert.equal((await browser.userOn('/'))?.email, email)
    const copied = browser.jar.clone()

    const logout = await browser.visit('POST', '/logout')
    assert.equal(logout.page!.component, 'auth/login', app.logs())
    assert.notProperty(logout.page!.props, 'user')
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: browser.jar })).status, 401)
    // The user was signed out everywhere: their earlier tokens are refused too
    const earlier = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(earlier.status, 401)
    assert.equal(earlier.body.errors[0].code, 'E_ROWND_TOKEN_REVOKED')

    // The cookie as it was before logout is refused by middleware.auth() and middleware.rownd()
    const stale = new Browser(app.baseUrl)
    stale.jar = copied
    stale.version = browser.version
    const dashboard = await stale.request('GET', '/dashboard')
    assert.equal(dashboard.status, 302)
    assert.equal(redirectPath(dashboard), '/login')
    assert.equal((await getJson(app.baseUrl, '/api/me', { jar: copied })).status, 401)

    // The Hub, still signed in, signs the user in again on the next page
    const fresh = await emulator.mintToken({ userId: user.userId })
    const refused = await browser.hubSignIn(fresh)
    assert.equal(refused.status, 401, app.logs())
    assert.equal(refused.body.errors[0].code, 'E_ROWND_SIGNED_OUT')
    assert.isUndefined(await browser.userOn('/'))

    // Once the Hub reports its sign-out, a new sign-in works
    assert.equal((await browser.hubSignOut()).status, 200, app.logs())
    const again = await browser.hubSignIn(fresh)
    assert.equal(again.status, 200, app.logs())
    assert.containsSubset(again.body, { should_refresh_page: true })
    assert.equal((await browser.userOn('/dashboard'))?.email, email)
  })
})
