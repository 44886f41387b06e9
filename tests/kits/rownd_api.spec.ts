/**
 * Issue 13, api kit (api/apps/backend): `node ace configure rownd-adonis`
 * on the kit as shipped makes its own middleware.auth() accept Rownd bearer
 * tokens (guards 'rownd', then 'api'), so its profile route serves Rownd
 * users, while its opaque access tokens and password login keep working.
 */
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { CookieJar } from '../helpers/http.ts'
import { ApiClient, createKitApp, type KitApp, type RunResult } from '../helpers/kit_app.ts'
import { uniqueEmail } from './helpers.ts'
import {
  assertConfigureOutput,
  assertProfileIncomplete,
  assertUnusablePassword,
  configureTwice,
  doneList,
  finishInstall,
  getJson,
  hubSignIn,
  hubSignOut,
  kitScrypt,
  leftToDo,
  PASSWORD,
  rowsOf,
  TODO_CREDENTIALS,
  TODO_MIGRATE,
  usersCount,
} from './rownd_helpers.ts'

const PROFILE = '/api/v1/account/profile'
const AUTH_MIDDLEWARE = 'app/middleware/auth_middleware.ts'

test.group('kits | rownd | api', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let authMiddleware: string
  let configure: Awaited<ReturnType<typeof configureTwice>>
  let migrate: RunResult

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('api')
    authMiddleware = await app.readFile(AUTH_MIDDLEWARE)
    configure = await configureTwice(app)
    // Nothing to add: the kit's own profile route uses middleware.auth()
    migrate = await finishInstall(app, emulator)
    if (migrate.code === 0) await app.start()
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  /** A users row as the kit's signup would write it (its signup route is broken upstream) */
  async function createPasswordUser(email: string, fullName: string | null = null) {
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ')
    const [id] = await app
      .db()('users')
      .insert({
        full_name: fullName,
        email,
        password: await kitScrypt.make(PASSWORD),
        created_at: now,
        updated_at: now,
      })
    return id as number
  }

  async function passwordLogin(email: string, password = PASSWORD) {
    return new ApiClient(app.baseUrl).post('/api/v1/auth/login', { email, password })
  }

  test('configure: exit 0, the steps left are exact for this kit, a second run changes nothing', async ({
    assert,
  }) => {
    const { first, second, afterFirst, afterSecond } = configure
    assertConfigureOutput(assert, first)
    assert.include(
      doneList(first.stdout),
      `${AUTH_MIDDLEWARE}: middleware.auth() accepts Rownd bearer tokens too (guards 'rownd', then 'api')`,
      first.stdout
    )
    assert.deepEqual(leftToDo(first.stdout), [
      TODO_CREDENTIALS,
      TODO_MIGRATE,
      'middleware.auth() now accepts Rownd bearer tokens and Rownd sessions, then your "api" guard: protect routes with it as before',
    ])
    assert.equal(
      afterFirst[AUTH_MIDDLEWARE],
      authMiddleware.replace(
        'authenticateUsing(options.guards)',
        `authenticateUsing(options.guards ?? ['rownd', 'api'])`
      )
    )

    assertConfigureOutput(assert, second)
    assert.deepEqual(doneList(second.stdout), [])
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

  test("bearer sign-in of a new Rownd user on the kit's own profile route: exactly one row", async ({
    assert,
  }) => {
    const email = uniqueEmail('bearer')
    const user = emulator.createUser({ email, firstName: 'Ada', lastName: 'Lovelace' })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await usersCount(app)

    const client = new ApiClient(app.baseUrl, token)
    const profile = await client.get(PROFILE)
    assert.equal(profile.status, 200, app.logs())
    assert.containsSubset(profile.body, {
      data: { email, fullName: 'Ada Lovelace', initials: 'AL' },
    })
    assert.equal((await client.get(PROFILE)).body.data.id, profile.body.data.id)
    assert.equal(await usersCount(app), before + 1)
    assert.lengthOf(await rowsOf(app, user.userId), 1)

    // Anonymous and bad tokens: still the kit's own 401 (its 'api' guard renders it)
    for (const anonymous of [new ApiClient(app.baseUrl), new ApiClient(app.baseUrl, 'nope')]) {
      const refused = await anonymous.get(PROFILE)
      assert.equal(refused.status, 401)
      assert.deepEqual(refused.body, { errors: [{ message: 'Unauthorized access' }] })
    }
  })

  test('session sign-in (CSRF is off in this kit): the profile route sees the user from the cookie', async ({
    assert,
  }) => {
    const email = uniqueEmail('session')
    const user = emulator.createUser({ email, firstName: 'Grace', lastName: 'Hopper' })
    const token = await emulator.mintToken({ userId: user.userId })
    const jar = new CookieJar()

    const signIn = await hubSignIn(jar, app.baseUrl, token)
    assert.equal(signIn.status, 200, app.logs())
    assert.containsSubset(signIn.body, { should_refresh_page: true })

    const profile = await getJson(app.baseUrl, PROFILE, { jar })
    assert.equal(profile.status, 200, app.logs())
    assert.containsSubset(profile.body, { data: { email, initials: 'GH' } })
    assert.lengthOf(await rowsOf(app, user.userId), 1)

    const again = await hubSignIn(jar, app.baseUrl, token)
    assert.containsSubset(again.body, { should_refresh_page: false })
  })

  test('a phone-only Rownd user against email NOT NULL: typed 422 for session and bearer, no row', async ({
    assert,
  }) => {
    const user = emulator.createUser({ phone: '+15555550301', phoneVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await usersCount(app)

    assertProfileIncomplete(assert, await getJson(app.baseUrl, PROFILE, { token }), app.logs())
    assertProfileIncomplete(
      assert,
      await hubSignIn(new CookieJar(), app.baseUrl, token),
      app.logs()
    )
    assert.equal(await usersCount(app), before)
  })

  test("password login still issues the kit's own access tokens, which its routes still accept", async ({
    assert,
  }) => {
    // The kit's signup answers 500 upstream (see api.spec.ts): a row as it would write
    const email = uniqueEmail('password')
    await createPasswordUser(email, 'Ada Lovelace')

    const login = await passwordLogin(email)
    assert.equal(login.status, 200, app.logs())
    assert.match(login.body.data.token, /^oat_/)

    // Not a Rownd token: the 'rownd' guard passes, the 'api' guard takes it
    const client = new ApiClient(app.baseUrl, login.body.data.token)
    const profile = await client.get(PROFILE)
    assert.equal(profile.status, 200, app.logs())
    assert.containsSubset(profile.body, { data: { email, initials: 'AL' } })

    assert.equal((await client.post('/api/v1/auth/logout')).status, 200)
    assert.equal((await client.get(PROFILE)).status, 401)
  })

  test("password login to a Rownd-created account: the kit's invalid-credentials answer, after a full scrypt", async ({
    assert,
  }) => {
    const email = uniqueEmail('rownd.only')
    const user = emulator.createUser({ email })
    const token = await emulator.mintToken({ userId: user.userId })
    assert.equal((await new ApiClient(app.baseUrl, token).get(PROFILE)).status, 200, app.logs())
    const [row] = await rowsOf(app, user.userId)
    await assertUnusablePassword(assert, row.password)

    for (const password of [PASSWORD, 'anything-else']) {
      const login = await passwordLogin(email, password)
      assert.equal(login.status, 400, app.logs())
      assert.deepEqual(login.body, { errors: [{ message: 'Invalid user credentials' }] })
    }
  })

  test('a verified Rownd email links the password account; its password login still works', async ({
    assert,
  }) => {
    const email = uniqueEmail('linked')
    const id = await createPasswordUser(email, 'Ada Lovelace')
    const before = await usersCount(app)

    const user = emulator.createUser({ email, emailVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })
    const profile = await new ApiClient(app.baseUrl, token).get(PROFILE)
    assert.equal(profile.status, 200, app.logs())
    assert.equal(profile.body.data.id, id)

    assert.equal(await usersCount(app), before)
    const [linked] = await app.db()('users').where({ email })
    assert.equal(linked.rownd_user_id, user.userId)

    const login = await passwordLogin(email)
    assert.equal(login.status, 200, app.logs())
    assert.equal(login.body.data.user.id, id)
  })

  // Inertia visits (409 + X-Inertia-Location) make no sense here: the api
  // kit has no Inertia frontend; its force_json_response_middleware answers
  // every failure as JSON, checked above.

  test('Rownd sign-out ends the Rownd session', async ({ assert }) => {
    const user = emulator.createUser({ email: uniqueEmail('rownd.sign.out') })
    const token = await emulator.mintToken({ userId: user.userId })
    const jar = new CookieJar()
    assert.equal((await hubSignIn(jar, app.baseUrl, token)).status, 200, app.logs())
    assert.equal((await getJson(app.baseUrl, PROFILE, { jar })).status, 200)

    const signOut = await hubSignOut(jar, app.baseUrl)
    assert.equal(signOut.status, 200, app.logs())
    assert.containsSubset(signOut.body, { should_refresh_page: true })
    const profile = await getJson(app.baseUrl, PROFILE, { jar })
    assert.equal(profile.status, 401)
    assert.deepEqual(profile.body, { errors: [{ message: 'Unauthorized access' }] })
  })

  // The kit's own logout (POST /api/v1/auth/logout) deletes the opaque
  // access token the request came with; it is not a session-guard logout,
  // so the "kit's logout ends the Rownd session" chain of the web kits does
  // not apply. What it does with Rownd credentials is recorded here.
  test("the kit's own logout with Rownd credentials: 200, and they keep working (recorded)", async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: uniqueEmail('kit.logout') })
    const token = await emulator.mintToken({ userId: user.userId })

    const client = new ApiClient(app.baseUrl, token)
    const logout = await client.post('/api/v1/auth/logout')
    assert.equal(logout.status, 200, app.logs())
    assert.deepEqual(logout.body, { message: 'Logged out successfully' })
    // A Rownd token is not the kit's to delete: it stays valid until it
    // expires or the user signs out of Rownd
    assert.equal((await client.get(PROFILE)).status, 200)

    const jar = new CookieJar()
    assert.equal((await hubSignIn(jar, app.baseUrl, token)).status, 200)
    const sessionLogout = await jar.fetch(`${app.baseUrl}/api/v1/auth/logout`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    })
    assert.equal(sessionLogout.status, 200)
    // No session guard logged out: the Rownd session stands
    assert.equal((await getJson(app.baseUrl, PROFILE, { jar })).status, 200)
  })
})
