import { fileURLToPath } from 'node:url'
import { mkdirSync, rmSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { dbKind, startTestApp, TEST_APP_ROOT, type TestApp } from '../helpers/test_app.ts'
import { bearer, CookieJar, signIn } from '../helpers/http.ts'
import { countUsers } from '../helpers/db.ts'

const JSON_ACCEPT = { accept: 'application/json' }
/** Issued well before "now", beyond the 5 s clock tolerance of the cut-off */
const longAgo = () => Math.floor(Date.now() / 1000) - 60
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function me(jar: CookieJar, app: TestApp) {
  const response = await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })
  const body = await response.json()
  return { status: response.status, body, code: body?.errors?.[0]?.code }
}

function signOut(jar: CookieJar, app: TestApp) {
  return jar.fetch(`${app.url}/rownd/session_sign_out`, { method: 'POST', headers: JSON_ACCEPT })
}

/**
 * An app that can be restarted: a new process on the same database, with
 * the same cookie key and session store
 */
async function restartable(emulator: RowndEmulator, env: Record<string, string>) {
  mkdirSync(fileURLToPath(new URL('tmp/', TEST_APP_ROOT)), { recursive: true })
  const sqliteFile = fileURLToPath(new URL(`tmp/restart-${randomUUID()}.sqlite3`, TEST_APP_ROOT))
  const options = {
    emulator,
    sqliteFile,
    env: { APP_KEY: 'restart-key-0123456789abcdefghijk', ...env },
  }
  const handle = { app: await startTestApp(options) }
  return {
    handle,
    async restart() {
      await handle.app.stop()
      handle.app = await startTestApp({ ...options, keepDatabase: true })
    },
    async close() {
      await handle.app.stop()
      if (dbKind() === 'sqlite') rmSync(sqliteFile, { force: true })
    },
  }
}

for (const store of ['cookie', 'memory'] as const) {
  test.group(`sign-out (${dbKind()}, ${store} sessions) | survives restarts`, (group) => {
    let emulator: RowndEmulator
    let server: Awaited<ReturnType<typeof restartable>>

    group.setup(async () => {
      emulator = await RowndEmulator.start()
      server = await restartable(emulator, { SESSION_DRIVER: store })
      return async () => {
        await server.close()
        await emulator.close()
      }
    })

    test('a copied cookie and an older token refused after a sign-out stay refused after a restart', async ({
      assert,
    }) => {
      const user = emulator.createUser({ email: `durable-${store}@example.com` })
      const older = await emulator.mintToken({ userId: user.userId, issuedAt: longAgo() })
      const victim = new CookieJar()
      const phone = new CookieJar()
      assert.equal((await signIn(victim, server.handle.app.url, older)).status, 200)
      assert.equal((await signIn(phone, server.handle.app.url, older)).status, 200)
      // Two copies of the cookie: a jar keeps what the server sets, so the one
      // shown the 401 is cleared; the other is replayed only after the restart
      const copied = victim.clone()
      const replayedLater = victim.clone()

      // The user signs out on their phone: every earlier session and token ends
      const out = await signOut(phone, server.handle.app)
      assert.equal(out.status, 200)
      assert.isTrue((await out.json()).should_refresh_page)
      assert.equal((await me(copied, server.handle.app)).status, 401)
      const refused = await fetch(`${server.handle.app.url}/api/me`, { headers: bearer(older) })
      assert.equal(refused.status, 401)

      await server.restart()
      assert.equal((await me(copied, server.handle.app)).status, 401)
      const afterRestart = await me(replayedLater, server.handle.app)
      assert.equal(afterRestart.status, 401)
      if (store === 'cookie') assert.equal(afterRestart.code, 'E_ROWND_SESSION_INVALID')
      const bearerAfter = await fetch(`${server.handle.app.url}/api/me`, {
        headers: bearer(older),
      })
      assert.equal(bearerAfter.status, 401)
      assert.equal((await bearerAfter.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')

      // Signing in again afterwards works
      const fresh = await emulator.mintToken({ userId: user.userId })
      const again = new CookieJar()
      assert.equal((await signIn(again, server.handle.app.url, fresh)).status, 200)
      assert.equal((await me(again, server.handle.app)).status, 200)
    }).timeout(60_000)

    test('a revoked token keeps the session it opened ended after it expires, and after a restart', async ({
      assert,
    }) => {
      const user = emulator.createUser({ email: `short-${store}@example.com` })
      const token = await emulator.mintToken({ userId: user.userId, expiresIn: 2 })
      const jar = new CookieJar()
      assert.equal((await signIn(jar, server.handle.app.url, token)).status, 200)
      const revoke = await fetch(`${server.handle.app.url}/_test/revoke_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      })
      assert.equal(revoke.status, 200)
      assert.equal((await me(jar, server.handle.app)).status, 401)
      await sleep(3000)
      assert.equal((await me(jar, server.handle.app)).status, 401)
      await server.restart()
      assert.equal((await me(jar, server.handle.app)).status, 401)
    }).timeout(60_000)
  })
}

test.group(`sign-out (${dbKind()}) | only a live session signs out`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startTestApp({
      emulator,
      env: { SESSION_DRIVER: 'cookie', ROWND_SIGN_OUT_FROM_ROWND: 'true' },
    })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  test('an old, revoked cookie is only cleared: it cannot sign the user out again', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'stale@example.com' })
    const first = new CookieJar()
    await signIn(
      first,
      app.url,
      await emulator.mintToken({ userId: user.userId, issuedAt: longAgo() })
    )
    const stolen = first.clone()
    assert.equal((await signOut(first, app)).status, 200)
    assert.lengthOf(emulator.signOuts, 1)

    // The user signs in again, on a new session with a new token
    await sleep(1100)
    const token = await emulator.mintToken({ userId: user.userId })
    const current = new CookieJar()
    assert.equal((await signIn(current, app.url, token)).status, 200)

    // The stolen, already revoked cookie tries to sign them out
    const attempt = await signOut(stolen, app)
    assert.equal(attempt.status, 200)
    assert.deepEqual(await attempt.json(), {
      message: 'No session to sign out',
      should_refresh_page: false,
    })
    assert.equal((await me(current, app)).status, 200)
    const stillValid = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(stillValid.status, 200)
    assert.lengthOf(emulator.signOuts, 1, 'no second sign-out from Rownd')
  }).timeout(30_000)

  test('the token that opened a session is refused after its sign-out, however recent', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'recent@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    const jar = new CookieJar()
    assert.equal((await signIn(jar, app.url, token)).status, 200)
    assert.equal((await signOut(jar, app)).status, 200)
    // Issued a moment ago (within clockTolerance), but it opened the session
    const byBearer = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(byBearer.status, 401)
    assert.equal((await byBearer.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')
  }).timeout(30_000)

  test('signing straight back in works with a Rownd clock a little behind; not beyond the tolerance', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'skew@example.com' })
    const jar = new CookieJar()
    await signIn(
      jar,
      app.url,
      await emulator.mintToken({ userId: user.userId, issuedAt: longAgo() })
    )
    await signOut(jar, app)
    const now = Math.floor(Date.now() / 1000)
    // Minted just after the sign-out by a clock 3 s late: within the 5 s tolerance
    const skewed = await emulator.mintToken({ userId: user.userId, issuedAt: now - 3 })
    const back = new CookieJar()
    assert.equal((await signIn(back, app.url, skewed)).status, 200)
    assert.equal((await me(back, app)).status, 200)
    // Issued 8 s before the sign-out: refused
    const stale = await emulator.mintToken({ userId: user.userId, issuedAt: now - 8 })
    const refused = await signIn(new CookieJar(), app.url, stale)
    assert.equal(refused.status, 401)
    assert.equal((await refused.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')
  }).timeout(30_000)
})

test.group(`sessions (${dbKind()}) | absolute lifetime`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startTestApp({ emulator, env: { ROWND_SESSION_MAX_AGE: '2s' } })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  test('a session older than session.maxAge gets E_ROWND_SESSION_INVALID', async ({ assert }) => {
    const jar = new CookieJar()
    await signIn(jar, app.url, await emulator.mintToken())
    assert.equal((await me(jar, app)).status, 200)
    await sleep(2500)
    const expired = await me(jar, app)
    assert.equal(expired.status, 401)
    assert.equal(expired.code, 'E_ROWND_SESSION_INVALID')
  }).timeout(30_000)
})

test.group(`accept policy (${dbKind()}) | refused kinds of Rownd users`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startTestApp({ emulator, env: { ROWND_REFUSE: 'anonymous,guest,instant' } })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  test('guest, anonymous and instant users get a 403 and no row; verified and unverified pass', async ({
    assert,
  }) => {
    const refused = [
      { authLevel: 'guest' as const, isAnonymous: true, isVerifiedUser: true },
      { authLevel: 'instant' as const, isAnonymous: false, isVerifiedUser: true },
      // Anonymous whatever the level says
      { authLevel: 'unverified' as const, isAnonymous: true, isVerifiedUser: false },
    ]
    for (const claims of refused) {
      const user = emulator.createUser({ authLevel: claims.authLevel })
      const token = await emulator.mintToken({ userId: user.userId, ...claims })
      const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
      assert.equal(response.status, 403, claims.authLevel)
      assert.equal((await response.json()).errors[0].code, 'E_ROWND_USER_REFUSED')
      const session = await signIn(new CookieJar(), app.url, token)
      assert.equal(session.status, 403)
      assert.equal(await countUsers(app.db, { rownd_user_id: user.userId }), 0)
    }
    for (const authLevel of ['verified', 'unverified'] as const) {
      const user = emulator.createUser({ email: `${authLevel}@accept.example.com`, authLevel })
      const token = await emulator.mintToken({ userId: user.userId, authLevel, isAnonymous: false })
      const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
      assert.equal(response.status, 200, authLevel)
    }
  }).timeout(30_000)
})

test.group(`behind a proxy (${dbKind()})`, (group) => {
  let emulator: RowndEmulator
  let trusting: TestApp
  let configured: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    trusting = await startTestApp({ emulator, env: { TRUST_PROXY: 'true' } })
    configured = await startTestApp({
      emulator,
      keepDatabase: true,
      sqliteFile: trusting.sqliteFile,
      env: { APP_URL: 'https://app.example.com' },
    })
    return async () => {
      await configured.stop()
      await trusting.stop()
      await emulator.close()
    }
  })

  test('Basic auth from a staging proxy falls through to the session', async ({ assert }) => {
    const jar = new CookieJar()
    await signIn(jar, trusting.url, await emulator.mintToken())
    const response = await jar.fetch(`${trusting.url}/api/me`, {
      headers: { ...JSON_ACCEPT, authorization: 'Basic c3RhZ2luZzpzZWNyZXQ=' },
    })
    assert.equal(response.status, 200)
    assert.equal((await response.json()).via, 'session')
  })

  test('behind Basic auth, a signed-out page navigation is still sent to the login page', async ({
    assert,
  }) => {
    const response = await fetch(`${trusting.url}/dashboard`, {
      headers: { accept: 'text/html', authorization: 'Basic c3RhZ2luZzpzZWNyZXQ=' },
      redirect: 'manual',
    })
    assert.equal(response.status, 302)
    assert.match(response.headers.get('location')!, /^\/login\?return_to=/)
  })

  test('a Host-rewriting proxy: the Origin matches X-Forwarded-Host (trustProxy) or appUrl', async ({
    assert,
  }) => {
    const hub = (app: TestApp, headers: Record<string, string>) =>
      fetch(`${app.url}/rownd/session_authenticate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...JSON_ACCEPT, ...headers },
        body: '{}',
      })
    const proxied = { 'origin': 'https://app.example.com', 'sec-fetch-site': 'same-origin' }
    // Through a trusted proxy that forwards the public host: not a cross-site call
    const viaProxy = await hub(trusting, { ...proxied, 'x-forwarded-host': 'app.example.com' })
    assert.equal((await viaProxy.json()).errors[0].code, 'E_ROWND_TOKEN_MISSING')
    // The same Origin without the forwarded host, and no appUrl: refused
    const bare = await hub(trusting, proxied)
    assert.equal(bare.status, 403)
    // With appUrl (APP_URL) configured, no proxy trust needed
    const byAppUrl = await hub(configured, proxied)
    assert.equal((await byAppUrl.json()).errors[0].code, 'E_ROWND_TOKEN_MISSING')
    // Another site stays refused everywhere
    const evil = { 'origin': 'https://evil.example.com', 'x-forwarded-host': 'app.example.com' }
    assert.equal((await hub(configured, evil)).status, 403)
    const forged = { 'origin': 'https://evil.example.com', 'x-forwarded-host': 'evil.example.com' }
    assert.equal((await hub(configured, forged)).status, 403)
  })
})
