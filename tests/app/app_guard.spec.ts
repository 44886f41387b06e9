import { fileURLToPath } from 'node:url'
import { mkdirSync, rmSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { dbKind, startTestApp, TEST_APP_ROOT, type TestApp } from '../helpers/test_app.ts'
import { bearer, CookieJar, signIn } from '../helpers/http.ts'

/**
 * `session.appGuard: 'web'` (what configure writes in the starter kits):
 * Rownd sign-ins also log into Adonis's own session guard, so the kit's
 * silent auth, middleware.auth() and logout see them, and stay in step.
 */
const JSON_ACCEPT = { accept: 'application/json' }
const longAgo = () => Math.floor(Date.now() / 1000) - 60

async function json(jar: CookieJar, url: string, init: RequestInit = {}) {
  const response = await jar.fetch(url, {
    ...init,
    headers: { ...JSON_ACCEPT, ...(init.headers as Record<string, string>) },
  })
  const text = await response.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, body, code: body?.errors?.[0]?.code as string | undefined }
}

test.group(
  `app guard (${dbKind()}) | Rownd sign-ins reach the app's own session guard`,
  (group) => {
    let emulator: RowndEmulator
    let app: TestApp

    group.setup(async () => {
      emulator = await RowndEmulator.start()
      app = await startTestApp({
        emulator,
        env: { ROWND_APP_GUARD: 'web', SESSION_DRIVER: 'cookie' },
      })
      return async () => {
        await app.stop()
        await emulator.close()
      }
    })

    test('silent auth, middleware.auth() and auth.user see a Rownd session sign-in', async ({
      assert,
    }) => {
      const user = emulator.createUser({ email: 'kit.user@example.com' })
      const jar = new CookieJar()
      assert.isNull((await json(jar, `${app.url}/kit/header`)).body.user)
      const signedIn = await signIn(jar, app.url, await emulator.mintToken({ userId: user.userId }))
      assert.equal(signedIn.status, 200)
      assert.isTrue((await signedIn.json()).should_refresh_page)

      const header = await json(jar, `${app.url}/kit/header`)
      assert.equal(header.body.user.email, 'kit.user@example.com')
      assert.equal((await json(jar, `${app.url}/kit/protected`)).status, 200)
      assert.equal((await json(jar, `${app.url}/api/me`)).body.via, 'session')

      // The Hub's call on the next page load: nothing to do, no reload loop
      const again = await signIn(jar, app.url, await emulator.mintToken({ userId: user.userId }))
      assert.isFalse((await again.json()).should_refresh_page)
    })

    test("the kit's own logout is a Rownd sign-out; the Hub is held off until it signs out", async ({
      assert,
    }) => {
      const user = emulator.createUser({ email: 'kit.logout@example.com' })
      const jar = new CookieJar()
      await signIn(
        jar,
        app.url,
        await emulator.mintToken({ userId: user.userId, issuedAt: longAgo() })
      )
      const copied = jar.clone()
      const older = await emulator.mintToken({ userId: user.userId, issuedAt: longAgo() })

      const logout = await json(jar, `${app.url}/kit/logout`, { method: 'POST' })
      assert.equal(logout.status, 200)
      assert.isNull((await json(jar, `${app.url}/kit/header`)).body.user)
      assert.equal((await json(jar, `${app.url}/api/me`)).status, 401)
      assert.isTrue((await json(jar, `${app.url}/kit/hub_sign_out`)).body.pending)

      // A copy of the cookie taken before the logout: refused by both guards
      assert.notEqual((await json(copied.clone(), `${app.url}/kit/protected`)).status, 200)
      assert.equal((await json(copied.clone(), `${app.url}/api/me`)).status, 401)
      assert.isNull((await json(copied.clone(), `${app.url}/kit/header`)).body.user)
      // Tokens issued before the logout are revoked
      const byBearer = await fetch(`${app.url}/api/me`, { headers: bearer(older) })
      assert.equal(byBearer.status, 401)

      // The Hub, not signed out yet, signs the user straight back in with a
      // fresh token: refused while the sign-out is pending
      const fresh = await emulator.mintToken({ userId: user.userId })
      const refused = await signIn(jar, app.url, fresh)
      assert.equal(refused.status, 401)
      assert.equal((await refused.json()).errors[0].code, 'E_ROWND_SIGNED_OUT')
      // Another user may sign in on this browser meanwhile
      assert.equal((await signIn(jar.clone(), app.url, await emulator.mintToken())).status, 200)

      // The Hub signs out (post-sign-out API): nothing left to end, no reload
      const hubOut = await json(jar, `${app.url}/rownd/session_sign_out`, { method: 'POST' })
      assert.deepEqual(hubOut.body, {
        message: 'No session to sign out',
        should_refresh_page: false,
      })
      assert.isFalse((await json(jar, `${app.url}/kit/hub_sign_out`)).body.pending)
      // A real new sign-in works again
      const back = await signIn(jar, app.url, await emulator.mintToken({ userId: user.userId }))
      assert.equal(back.status, 200)
      assert.equal(
        (await json(jar, `${app.url}/kit/header`)).body.user.email,
        'kit.logout@example.com'
      )
    }).timeout(30_000)

    test('a Hub sign-out ends the app guard login too', async ({ assert }) => {
      const jar = new CookieJar()
      await signIn(jar, app.url, await emulator.mintToken())
      assert.equal((await json(jar, `${app.url}/kit/protected`)).status, 200)
      const out = await json(jar, `${app.url}/rownd/session_sign_out`, { method: 'POST' })
      assert.isTrue(out.body.should_refresh_page)
      assert.isNull((await json(jar, `${app.url}/kit/header`)).body.user)
      assert.notEqual((await json(jar, `${app.url}/kit/protected`)).status, 200)
    })

    test('a sign-out elsewhere ends the app guard login of every other session', async ({
      assert,
    }) => {
      const user = emulator.createUser({ email: 'kit.elsewhere@example.com' })
      const token = await emulator.mintToken({ userId: user.userId, issuedAt: longAgo() })
      const laptop = new CookieJar()
      const phone = new CookieJar()
      await signIn(laptop, app.url, token)
      await signIn(phone, app.url, token)
      await json(phone, `${app.url}/rownd/session_sign_out`, { method: 'POST' })
      // The laptop's cookie still holds auth_web; the sync middleware ends it
      assert.isNull((await json(laptop, `${app.url}/kit/header`)).body.user)
      assert.notEqual((await json(laptop, `${app.url}/kit/protected`)).status, 200)
    })

    test("a password login of someone else through the app's own login ends the Rownd session", async ({
      assert,
    }) => {
      const rowndUser = emulator.createUser({ email: 'kit.switch@example.com' })
      const token = await emulator.mintToken({ userId: rowndUser.userId })
      const jar = new CookieJar()
      await signIn(jar, app.url, token)
      const [row] = await app
        .db('users')
        .insert({ email: 'password.user@example.com', created_at: '2026-01-01 00:00:00' })
        .returning('id')
      const id = typeof row === 'object' ? (row as { id: number }).id : row
      await json(jar, `${app.url}/_test/web_login/${id}`, { method: 'POST' })
      assert.equal(
        (await json(jar, `${app.url}/kit/header`)).body.user.email,
        'password.user@example.com'
      )
      // The Rownd session is gone (no sign-out of that user elsewhere: their token still works)
      assert.equal((await json(jar, `${app.url}/api/me`)).status, 401)
      assert.isTrue((await json(jar, `${app.url}/kit/hub_sign_out`)).body.pending)
      assert.equal((await fetch(`${app.url}/api/me`, { headers: bearer(token) })).status, 200)
    })
  }
)

test.group(`app guard (${dbKind()}) | restarts and upgrades`, (group) => {
  let emulator: RowndEmulator
  let sqliteFile: string
  const apps: TestApp[] = []

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    mkdirSync(fileURLToPath(new URL('tmp/', TEST_APP_ROOT)), { recursive: true })
    sqliteFile = fileURLToPath(new URL(`tmp/app-guard-${randomUUID()}.sqlite3`, TEST_APP_ROOT))
    return async () => {
      for (const app of apps) await app.stop()
      await emulator.close()
      if (dbKind() === 'sqlite') rmSync(sqliteFile, { force: true })
    }
  })

  const env = { APP_KEY: 'app-guard-key-0123456789abcdefghijk', SESSION_DRIVER: 'cookie' }
  async function start(extra: Record<string, string>, keepDatabase: boolean) {
    const app = await startTestApp({
      emulator,
      sqliteFile,
      keepDatabase,
      env: { ...env, ...extra },
    })
    apps.push(app)
    return app
  }
  async function stop(app: TestApp) {
    await app.stop()
    apps.splice(apps.indexOf(app), 1)
  }

  test('a copied cookie stays refused by the app guard after a sign-out and a restart; a 0.1.0 session joins the app guard', async ({
    assert,
  }) => {
    // A session opened before session.appGuard was configured (0.1.0)
    const before = await start({}, false)
    const legacy = new CookieJar()
    await signIn(legacy, before.url, await emulator.mintToken())
    await stop(before)

    const first = await start({ ROWND_APP_GUARD: 'web' }, true)
    // Upgrade: the old Rownd session is logged into the app guard
    assert.isNotNull((await json(legacy, `${first.url}/kit/header`)).body.user)
    assert.equal((await json(legacy, `${first.url}/kit/protected`)).status, 200)

    const user = emulator.createUser({ email: 'kit.restart@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: longAgo() })
    const victim = new CookieJar()
    const phone = new CookieJar()
    await signIn(victim, first.url, token)
    await signIn(phone, first.url, token)
    const stolen = victim.clone()
    await json(phone, `${first.url}/rownd/session_sign_out`, { method: 'POST' })
    await stop(first)

    const second = await start({ ROWND_APP_GUARD: 'web' }, true)
    assert.isNull((await json(stolen.clone(), `${second.url}/kit/header`)).body.user)
    assert.notEqual((await json(stolen.clone(), `${second.url}/kit/protected`)).status, 200)
    assert.equal((await json(stolen.clone(), `${second.url}/api/me`)).status, 401)
  }).timeout(60_000)
})
