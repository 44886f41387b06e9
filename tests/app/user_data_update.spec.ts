import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { rowndRoutePaths } from '../../index.ts'
import { dbKind, startTestApp, type TestApp } from '../helpers/test_app.ts'
import { bearer, CookieJar, signIn } from '../helpers/http.ts'
import { userRows } from '../helpers/db.ts'

const JSON_ACCEPT = { accept: 'application/json' }
const PATH = rowndRoutePaths().userDataUpdate

/** The Hub's post-user-data-update call: JSON `{ user_data }` from the browser */
function hubUpdate(
  jar: CookieJar,
  app: TestApp,
  userData: unknown,
  init: { path?: string; headers?: Record<string, string> } = {}
) {
  return jar.fetch(`${app.url}${init.path ?? PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...JSON_ACCEPT, ...init.headers },
    body: JSON.stringify({ user_data: userData }),
  })
}

test.group(`the Hub's user data update (${dbKind()})`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startTestApp({ emulator })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  group.each.setup(() => emulator.clearFaults())

  async function signedIn(email: string) {
    const user = emulator.createUser({ email, firstName: 'Ada', lastName: 'Lovelace' })
    const token = await emulator.mintToken({ userId: user.userId })
    const jar = new CookieJar()
    const response = await signIn(jar, app.url, token)
    if (response.status !== 200) throw new Error(`sign-in failed: ${response.status}`)
    return { user, token, jar }
  }

  test('syncs from the users API, bypassing the cached profile; reloads only on change', async ({
    assert,
  }) => {
    const { user, token, jar } = await signedIn('hub.update@example.com')
    // The app caches the profile (5 min by default)
    const cached = await (await fetch(`${app.url}/api/profile`, { headers: bearer(token) })).json()
    assert.equal(cached.profile.data.first_name, 'Ada')

    // The user renames themselves in the Hub: Rownd has the new name
    emulator.updateUser(user.userId, { first_name: 'Augusta' })
    const calls = emulator.requestCount('user_get')
    const response = await hubUpdate(jar, app, { first_name: 'Augusta' })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), {
      message: 'Profile updated',
      should_refresh_page: true,
    })
    assert.equal(emulator.requestCount('user_get'), calls + 1, 'read again from Rownd')
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Augusta')
    assert.equal(row.full_name, 'Augusta Lovelace')

    const again = await hubUpdate(jar, app, { first_name: 'Augusta' })
    assert.deepEqual(await again.json(), {
      message: 'Profile unchanged',
      should_refresh_page: false,
    })
  })

  test('a forged user_data changes nothing', async ({ assert }) => {
    const { user, jar } = await signedIn('forger@example.com')
    const [before] = await userRows(app.db, { rownd_user_id: user.userId })
    const response = await hubUpdate(jar, app, {
      user_id: 'user_someone_else',
      email: 'admin@example.com',
      first_name: 'Mallory',
      role: 'admin',
      rownd_user_id: 'user_someone_else',
    })
    assert.equal(response.status, 200)
    assert.equal((await response.json()).should_refresh_page, false)
    const [after] = await userRows(app.db, { id: before.id })
    assert.deepEqual(after, before)
  })

  test('refused without a session, for forms and for other sites', async ({ assert }) => {
    const { jar } = await signedIn('refused@example.com')
    const anonymous = await hubUpdate(new CookieJar(), app, {})
    assert.equal(anonymous.status, 401)
    const form = await jar.fetch(`${app.url}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...JSON_ACCEPT },
      body: 'user_data=x',
    })
    assert.equal(form.status, 415)
    const crossSite = await hubUpdate(jar, app, {}, { headers: { origin: 'https://evil.example' } })
    assert.equal(crossSite.status, 403)
  })

  test('behind CSRF: refused without the token, accepted with X-CSRF-TOKEN', async ({ assert }) => {
    const user = emulator.createUser({ email: 'csrf.update@example.com', firstName: 'Old' })
    const jar = new CookieJar()
    const { token: csrf } = await (await jar.fetch(`${app.url}/csrf/token`)).json()
    const path = rowndRoutePaths('/csrf/rownd')
    const opened = await signIn(
      jar,
      app.url,
      await emulator.mintToken({ userId: user.userId }),
      path.sessionAuthenticate,
      { 'X-CSRF-TOKEN': csrf }
    )
    assert.equal(opened.status, 200)
    emulator.updateUser(user.userId, { first_name: 'New' })

    const refused = await hubUpdate(jar, app, {}, { path: path.userDataUpdate })
    assert.notEqual(refused.status, 200)
    let [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Old')

    const accepted = await hubUpdate(
      jar,
      app,
      {},
      { path: path.userDataUpdate, headers: { 'X-CSRF-TOKEN': csrf } }
    )
    assert.equal(accepted.status, 200)
    ;[row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'New')
  })

  test('Rownd unreachable: 503 with Retry-After, nothing written', async ({ assert }) => {
    const { user, jar } = await signedIn('outage.update@example.com')
    emulator.updateUser(user.userId, { first_name: 'Later' })
    emulator.setFault('user_get', { kind: 'status', status: 502 })
    const response = await hubUpdate(jar, app, {})
    assert.equal(response.status, 503)
    assert.isNotNull(response.headers.get('retry-after'))
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Ada')
  })

  test('a user Rownd no longer knows is signed out and handled as a webhook delete', async ({
    assert,
  }) => {
    const { user, token, jar } = await signedIn('gone.update@example.com')
    emulator.deleteUser(user.userId)
    const response = await hubUpdate(jar, app, {})
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { message: 'Signed out', should_refresh_page: true })
    assert.equal((await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).status, 401)
    assert.equal((await fetch(`${app.url}/api/me`, { headers: bearer(token) })).status, 401)
    assert.lengthOf(await userRows(app.db, { rownd_user_id: user.userId }), 0, 'detached')
  })
})
