import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { startTestApp, type TestApp } from '../helpers/test_app.ts'
import { bearer, CookieJar, signIn } from '../helpers/http.ts'

const JSON_ACCEPT = { accept: 'application/json' }

test.group('session routes | traditional-app flow', (group) => {
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

  group.each.setup(() => {
    emulator.clearFaults()
  })

  test('a new sign-in starts a session; the next call does not ask for a reload', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'session@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    const jar = new CookieJar()

    const first = await signIn(jar, app.url, token)
    assert.equal(first.status, 200)
    assert.deepEqual(await first.json(), {
      message: 'Successfully authenticated',
      should_refresh_page: true,
    })
    assert.isDefined(jar.get('adonis-session'))

    const page = await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })
    assert.equal(page.status, 200)
    const me = await page.json()
    assert.equal(me.via, 'session')
    assert.equal(me.rowndUserId, user.userId)

    // The Hub calls this on every page load: it must not loop
    const again = await signIn(jar, app.url, token)
    assert.equal(again.status, 200)
    assert.deepEqual(await again.json(), {
      message: 'Already authenticated',
      should_refresh_page: false,
    })
    assert.lengthOf(await app.db('users').where('rownd_user_id', user.userId), 1)
  })

  test('the session id changes on sign-in (fixation) and on user switch', async ({ assert }) => {
    const jar = new CookieJar()
    await jar.fetch(`${app.url}/csrf/token`)
    const anonymousId = jar.get('adonis-session')
    assert.isDefined(anonymousId)

    const alice = emulator.createUser({ email: 'alice.switch@example.com' })
    await signIn(jar, app.url, await emulator.mintToken({ userId: alice.userId }))
    const aliceId = jar.get('adonis-session')
    assert.notEqual(aliceId, anonymousId)

    const bob = emulator.createUser({ email: 'bob.switch@example.com' })
    const switched = await signIn(jar, app.url, await emulator.mintToken({ userId: bob.userId }))
    assert.equal((await switched.json()).should_refresh_page, true)
    assert.notEqual(jar.get('adonis-session'), aliceId)

    const me = await (await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).json()
    assert.equal(me.rowndUserId, bob.userId)
  })

  test('the bearer header works as the token source, and so does lower-case bearer', async ({
    assert,
  }) => {
    const token = await emulator.mintToken()
    const jar = new CookieJar()
    const response = await jar.fetch(`${app.url}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { authorization: `bearer ${token}`, accept: 'application/json' },
    })
    assert.equal(response.status, 200)
    assert.equal((await response.json()).should_refresh_page, true)
  })

  test('a form body is refused with 415 and signs nobody in', async ({ assert }) => {
    const token = await emulator.mintToken()
    const jar = new CookieJar()
    const response = await jar.fetch(`${app.url}/rownd/session_authenticate`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'accept': 'application/json',
      },
      body: `access_token=${token}`,
    })
    assert.equal(response.status, 415)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_UNSUPPORTED_MEDIA_TYPE')
    const me = await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })
    assert.equal(me.status, 401)
  })

  test('a cross-site form cannot sign a user out', async ({ assert }) => {
    const jar = new CookieJar()
    await signIn(jar, app.url, await emulator.mintToken())
    const out = await jar.fetch(`${app.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'accept': 'application/json',
      },
      body: 'a=1',
    })
    assert.equal(out.status, 415)
    assert.equal((await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).status, 200)
  })

  test('bodiless cross-site and foreign-origin posts are refused with 403', async ({ assert }) => {
    const jar = new CookieJar()
    const token = await emulator.mintToken()
    await signIn(jar, app.url, token)
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
    ]) {
      const out = await jar.fetch(`${app.url}/rownd/session_sign_out`, {
        method: 'POST',
        headers: { ...headers, accept: 'application/json' },
      })
      assert.equal(out.status, 403, JSON.stringify(headers))
      assert.equal((await out.json()).errors[0].code, 'E_ROWND_CROSS_SITE_REQUEST')
      const inFromAfar = await signIn(new CookieJar(), app.url, token, undefined, headers)
      assert.equal(inFromAfar.status, 403, JSON.stringify(headers))
    }
    assert.equal((await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).status, 200)

    // The app's own pages (same origin) are fine
    const own = await signIn(new CookieJar(), app.url, token, undefined, {
      'sec-fetch-site': 'same-origin',
      'origin': app.url,
    })
    assert.equal(own.status, 200)
  })

  test('text/plain (a CORS-simple cross-site post) is refused too', async ({ assert }) => {
    const response = await fetch(`${app.url}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'accept': 'application/json' },
      body: JSON.stringify({ access_token: await emulator.mintToken() }),
    })
    assert.equal(response.status, 415)
  })

  test('missing and invalid tokens get 401 JSON with a typed code', async ({ assert }) => {
    const missing = await fetch(`${app.url}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept': 'application/json' },
      body: JSON.stringify({}),
    })
    assert.equal(missing.status, 401)
    assert.equal((await missing.json()).errors[0].code, 'E_ROWND_TOKEN_MISSING')

    const expired = await emulator.mintToken({ expired: true })
    const invalid = await signIn(new CookieJar(), app.url, expired)
    assert.equal(invalid.status, 401)
    const body = await invalid.json()
    assert.equal(body.errors[0].code, 'E_ROWND_TOKEN_EXPIRED')
    assert.notInclude(JSON.stringify(body), expired)
  })

  test('session sign-ins emit the guard events, failures included', async ({ assert }) => {
    await fetch(`${app.url}/_test/events/reset`, { method: 'POST' })
    await signIn(new CookieJar(), app.url, await emulator.mintToken({ expired: true }))
    await signIn(new CookieJar(), app.url, await emulator.mintToken())
    const events: Array<{ event: string; via?: string }> = await (
      await fetch(`${app.url}/_test/events`)
    ).json()
    const names = events.map((e) => e.event)
    assert.equal(names.filter((n) => n === 'rownd_auth:authentication_attempted').length, 2)
    assert.equal(names.filter((n) => n === 'rownd_auth:authentication_failed').length, 1)
    assert.include(names, 'rownd_auth:session_started')
    const succeeded = events.filter((e) => e.event === 'rownd_auth:authentication_succeeded')
    assert.deepEqual(
      succeeded.map((e) => e.via),
      ['session']
    )
  })

  test('header and body tokens that disagree are refused', async ({ assert }) => {
    const response = await fetch(`${app.url}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { ...bearer(await emulator.mintToken()), 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: await emulator.mintToken() }),
    })
    assert.equal(response.status, 401)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_TOKEN_MALFORMED')
  })

  test('malformed and oversized bodies never give a 500', async ({ assert }) => {
    const cases: Array<[string, string]> = [
      ['{"access_token":', 'application/json'],
      ['[1,2,3]', 'application/json'],
      ['"just a string"', 'application/json'],
      ['{"access_token": 42}', 'application/json'],
      [JSON.stringify({ access_token: 'x'.repeat(200 * 1024) }), 'application/json'],
    ]
    for (const [body, type] of cases) {
      const response = await fetch(`${app.url}/rownd/session_authenticate`, {
        method: 'POST',
        headers: { 'content-type': type, 'accept': 'application/json' },
        body,
      })
      assert.isBelow(response.status, 500, body.slice(0, 20))
      assert.isAtLeast(response.status, 400, body.slice(0, 20))
    }
    assert.notInclude(app.output.join('\n'), 'x'.repeat(1000))
  })

  test('sign-out ends the session and the old cookie is rejected', async ({ assert }) => {
    const user = emulator.createUser({ email: 'signout@example.com' })
    // Issued a while ago, as a real session's token is at sign-out time
    const issuedAt = Math.floor(Date.now() / 1000) - 60
    const token = await emulator.mintToken({ userId: user.userId, issuedAt })
    const jar = new CookieJar()
    await signIn(jar, app.url, token)
    const stolen = jar.clone()

    const out = await jar.fetch(`${app.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
    })
    assert.equal(out.status, 200)
    assert.deepEqual(await out.json(), {
      message: 'Successfully signed out',
      should_refresh_page: true,
    })

    assert.equal((await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).status, 401)
    // The cookie captured before sign-out no longer works either
    assert.equal((await stolen.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).status, 401)
    // Tokens issued before the sign-out are revoked
    const revoked = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(revoked.status, 401)
    assert.equal((await revoked.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')
  })

  test('revoking the token that opened a session ends that session', async ({ assert }) => {
    const user = emulator.createUser({ email: 'revoke-one@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    const jar = new CookieJar()
    await signIn(jar, app.url, token)
    assert.equal((await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).status, 200)

    const revoked = await fetch(`${app.url}/_test/revoke_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    })
    assert.equal(revoked.status, 200)
    const me = await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })
    assert.equal(me.status, 401)
    assert.equal((await me.json()).errors[0].code, 'E_ROWND_SESSION_INVALID')

    // A fresh token of the same user signs in again at once
    const again = await signIn(jar, app.url, await emulator.mintToken({ userId: user.userId }))
    assert.equal((await again.json()).should_refresh_page, true)
  })

  test('HTML clients are redirected to login; JSON clients get 401 with a challenge', async ({
    assert,
  }) => {
    const html = await fetch(`${app.url}/dashboard`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    })
    assert.equal(html.status, 302)
    assert.match(html.headers.get('location')!, /^\/login\?return_to=%2Fdashboard/)

    const json = await fetch(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
    assert.equal(json.status, 401)
    assert.equal(json.headers.get('www-authenticate'), 'Bearer realm="rownd"')
    assert.deepEqual(await json.json(), {
      errors: [{ message: 'Missing Rownd access token', code: 'E_ROWND_TOKEN_MISSING' }],
    })
  })

  test('signed-in browsers see the dashboard through the session', async ({ assert }) => {
    const user = emulator.createUser({ email: 'dash@example.com' })
    const jar = new CookieJar()
    await signIn(jar, app.url, await emulator.mintToken({ userId: user.userId }))
    const page = await jar.fetch(`${app.url}/dashboard`, { headers: { accept: 'text/html' } })
    assert.equal(page.status, 200)
    assert.equal(await page.text(), 'dashboard of dash@example.com')
  })
})

test.group('session routes | CSRF on (shield)', (group) => {
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

  test('with the page CSRF token in X-CSRF-TOKEN (the Hub extra_headers), sign-in works', async ({
    assert,
  }) => {
    const jar = new CookieJar()
    const { token: csrf } = await (await jar.fetch(`${app.url}/csrf/token`)).json()
    assert.isString(csrf)
    const response = await signIn(
      jar,
      app.url,
      await emulator.mintToken(),
      '/csrf/rownd/session_authenticate',
      {
        'X-CSRF-TOKEN': csrf,
      }
    )
    assert.equal(response.status, 200)
    assert.equal((await response.json()).should_refresh_page, true)

    const out = await jar.fetch(`${app.url}/csrf/rownd/session_sign_out`, {
      method: 'POST',
      headers: { ...JSON_ACCEPT, 'X-CSRF-TOKEN': csrf },
    })
    assert.equal(out.status, 200)
  })

  test('without the CSRF token the request is refused and nobody is signed in', async ({
    assert,
  }) => {
    const jar = new CookieJar()
    await jar.fetch(`${app.url}/csrf/token`)
    const before = await app.db('users').count('* as count')
    const response = await signIn(
      jar,
      app.url,
      await emulator.mintToken(),
      '/csrf/rownd/session_authenticate'
    )
    // Shield answers E_BAD_CSRF_TOKEN its own way (a redirect back); what matters is no sign-in
    assert.notEqual(response.status, 200)
    assert.isBelow(response.status, 500)
    assert.equal((await jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })).status, 401)
    assert.deepEqual(await app.db('users').count('* as count'), before)
  })
})

test.group('session routes | Rownd unreachable', (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startTestApp({ emulator, env: { ROWND_TIMEOUT: '500ms' } })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  test('a cold app with Rownd down answers 503 with Retry-After, then recovers', async ({
    assert,
  }) => {
    const token = await emulator.mintToken()
    await emulator.stop()
    const down = await signIn(new CookieJar(), app.url, token)
    assert.equal(down.status, 503)
    assert.isAtLeast(Number(down.headers.get('retry-after')), 1)
    assert.equal((await down.json()).errors[0].code, 'E_ROWND_UNAVAILABLE')

    const page = await fetch(`${app.url}/dashboard`, { headers: bearer(token) })
    assert.equal(page.status, 503)

    await emulator.restart()
    let status = 0
    for (let i = 0; i < 30 && status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      status = (await signIn(new CookieJar(), app.url, token)).status
    }
    assert.equal(status, 200)
  })
})
