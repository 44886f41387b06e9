import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { insertUser, startTestApp, type TestApp } from '../helpers/test_app.ts'
import { bearer } from '../helpers/http.ts'

test.group('rownd guard | bearer flow', (group) => {
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

  group.each.setup(async () => {
    emulator.clearFaults()
    await fetch(`${app.url}/_test/events/reset`, { method: 'POST' })
  })

  test('a valid token authenticates and creates the user with mapped fields', async ({
    assert,
  }) => {
    const user = emulator.createUser({
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
    })
    const token = await emulator.mintToken({ userId: user.userId })
    const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(response.status, 200)
    const body = await response.json()
    assert.equal(body.rowndUserId, user.userId)
    assert.equal(body.via, 'bearer')
    assert.equal(body.tokenUserId, user.userId)

    const rows = await app.db('users').where('rownd_user_id', user.userId)
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].email, 'ada@example.com')
    assert.equal(rows[0].first_name, 'Ada')
    assert.equal(rows[0].last_name, 'Lovelace')
    assert.equal(rows[0].full_name, 'Ada Lovelace')
    assert.equal(rows[0].role, 'member')
  })

  test('lower-case bearer scheme and extra whitespace are accepted', async ({ assert }) => {
    const token = await emulator.mintToken()
    for (const header of [`bearer ${token}`, `BEARER  ${token}`, `Bearer ${token}  `]) {
      const response = await fetch(`${app.url}/api/me`, {
        headers: { authorization: header, accept: 'application/json' },
      })
      assert.equal(response.status, 200, header.slice(0, 8))
    }
  })

  test('a repeated token needs no further Rownd calls', async ({ assert }) => {
    const token = await emulator.mintToken()
    await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    emulator.resetCounts()
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
      assert.equal(response.status, 200)
    }
    const counts = emulator.counts()
    assert.equal(
      Object.values(counts).reduce((a, b) => a + b, 0),
      0
    )
  })

  const failures: Array<[string, (e: RowndEmulator) => Promise<string>, string]> = [
    ['expired', (e) => e.mintToken({ expired: true }), 'E_ROWND_TOKEN_EXPIRED'],
    ['wrong audience', (e) => e.mintToken({ appId: 'another-app' }), 'E_ROWND_TOKEN_AUDIENCE'],
    [
      'audience as a string',
      (e) => e.mintToken({ audience: `app:${e.appId}` }),
      'E_ROWND_TOKEN_AUDIENCE',
    ],
    [
      'wrong issuer',
      (e) => e.mintToken({ issuer: 'https://evil.example' }),
      'E_ROWND_TOKEN_ISSUER',
    ],
    [
      'not yet valid',
      (e) => e.mintToken({ notBefore: Math.floor(Date.now() / 1000) + 600 }),
      'E_ROWND_TOKEN_NOT_YET_VALID',
    ],
    ['foreign key', (e) => e.mintToken({ foreignKey: true }), 'E_ROWND_BAD_SIGNATURE'],
    [
      'unknown kid',
      (e) => e.mintToken({ kid: 'sig-0000', foreignKey: true }),
      'E_ROWND_UNKNOWN_KEY',
    ],
    ['garbage', async () => 'not-a-token', 'E_ROWND_TOKEN_MALFORMED'],
  ]
  for (const [name, mint, code] of failures) {
    test(`rejects a token: ${name}`, async ({ assert }) => {
      const before = await app.db('users').count('* as count')
      const token = await mint(emulator)
      const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
      assert.equal(response.status, 401)
      const body = await response.json()
      assert.deepEqual(
        body.errors.map((e: any) => e.code),
        [code]
      )
      assert.include(response.headers.get('www-authenticate')!, 'error="invalid_token"')
      assert.notInclude(JSON.stringify(body), token)
      const after = await app.db('users').count('* as count')
      assert.deepEqual(after, before)
    })
  }

  test('no token: 401 with a bare Bearer challenge', async ({ assert }) => {
    const response = await fetch(`${app.url}/api/me`, { headers: { accept: 'application/json' } })
    assert.equal(response.status, 401)
    assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="rownd"')
    const body = await response.json()
    assert.equal(body.errors[0].code, 'E_ROWND_TOKEN_MISSING')
  })

  test('another scheme (Basic auth from a proxy) falls through to the session', async ({
    assert,
  }) => {
    const response = await fetch(`${app.url}/api/me`, {
      headers: { authorization: 'Basic dXNlcjpwYXNz', accept: 'application/json' },
    })
    assert.equal(response.status, 401)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_TOKEN_MISSING')
    assert.notInclude(response.headers.get('www-authenticate')!, 'invalid_request')
  })

  test('a Bearer header that cannot be read is an invalid request', async ({ assert }) => {
    for (const header of ['Bearer', 'Bearer a b', 'bearer   ']) {
      const response = await fetch(`${app.url}/api/me`, {
        headers: { authorization: header, accept: 'application/json' },
      })
      assert.equal(response.status, 401, header)
      assert.include(response.headers.get('www-authenticate')!, 'error="invalid_request"', header)
    }
  })

  test('legacy tokens (sub differs from app_user_id) map by app_user_id', async ({ assert }) => {
    const user = emulator.createUser({ email: 'legacy@example.com', sub: 'google-oauth2|1148' })
    const token = await emulator.mintToken({ userId: user.userId })
    const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(response.status, 200)
    assert.equal((await response.json()).rowndUserId, user.userId)
    const rows = await app.db('users').where('rownd_user_id', 'google-oauth2|1148')
    assert.lengthOf(rows, 0)
  })

  test('links an existing row only when Rownd verified the email', async ({ assert }) => {
    const id = await insertUser(app.db, { email: 'Grace@Example.com', role: 'admin' })
    const verified = emulator.createUser({ email: 'grace@example.com', emailVerified: true })
    const response = await fetch(`${app.url}/api/me`, {
      headers: bearer(await emulator.mintToken({ userId: verified.userId })),
    })
    assert.equal(response.status, 200)
    const body = await response.json()
    assert.equal(body.id, id)
    const rows = await app.db('users').whereRaw('LOWER(email) = ?', ['grace@example.com'])
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].rownd_user_id, verified.userId)
    assert.equal(rows[0].role, 'admin')

    const events = await (await fetch(`${app.url}/_test/events`)).json()
    assert.isTrue(
      events.some(
        (e: any) => e.event === 'rownd_auth:user_linked' && e.rowndUserId === verified.userId
      )
    )
  })

  test('an unverified email colliding with a row is refused with 409 and nothing written', async ({
    assert,
  }) => {
    await insertUser(app.db, { email: 'linus@example.com' })
    const before = await app.db('users').select('*').orderBy('id')
    const attacker = emulator.createUser({ email: 'LINUS@example.com', emailVerified: false })
    const response = await fetch(`${app.url}/api/me`, {
      headers: bearer(await emulator.mintToken({ userId: attacker.userId })),
    })
    assert.equal(response.status, 409)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_ACCOUNT_CONFLICT')
    assert.deepEqual(await app.db('users').select('*').orderBy('id'), before)
  })

  test('an unverified email is never stored, so it cannot squat the real owner', async ({
    assert,
  }) => {
    const squatter = emulator.createUser({ email: 'owner@example.com', emailVerified: false })
    const first = await fetch(`${app.url}/api/me`, {
      headers: bearer(await emulator.mintToken({ userId: squatter.userId })),
    })
    assert.equal(first.status, 200)
    const squatterRow = await app.db('users').where('rownd_user_id', squatter.userId).first()
    assert.isNull(squatterRow.email)

    const owner = emulator.createUser({ email: 'owner@example.com', emailVerified: true })
    const second = await fetch(`${app.url}/api/me`, {
      headers: bearer(await emulator.mintToken({ userId: owner.userId })),
    })
    assert.equal(second.status, 200)
    const ownerRow = await app.db('users').where('rownd_user_id', owner.userId).first()
    assert.equal(ownerRow.email, 'owner@example.com')
  })

  test('creation and linking can be turned off', async ({ assert }) => {
    const stranger = emulator.createUser({ email: 'nobody@example.com' })
    const token = await emulator.mintToken({ userId: stranger.userId })
    const refused = await fetch(`${app.url}/api/nocreate`, { headers: bearer(token) })
    assert.equal(refused.status, 401)
    assert.equal((await refused.json()).errors[0].code, 'E_ROWND_USER_NOT_FOUND')
    assert.lengthOf(await app.db('users').where('rownd_user_id', stranger.userId), 0)

    await insertUser(app.db, { email: 'kept@example.com' })
    const owner = emulator.createUser({ email: 'kept@example.com', emailVerified: true })
    const nolink = await fetch(`${app.url}/api/nolink`, {
      headers: bearer(await emulator.mintToken({ userId: owner.userId })),
    })
    assert.equal(nolink.status, 409)
    const kept = await app.db('users').where('email', 'kept@example.com')
    assert.lengthOf(kept, 1)
    assert.isNull(kept[0].rownd_user_id)
  })

  test('50 concurrent first requests of one new user leave one row', async ({ assert }) => {
    const user = emulator.createUser({ email: 'race@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${app.url}/api/me`, { headers: bearer(token) }))
    )
    const bodies = await Promise.all(responses.map((r) => r.json()))
    assert.deepEqual([...new Set(responses.map((r) => r.status))], [200])
    assert.lengthOf(new Set(bodies.map((b) => b.id)), 1)
    assert.lengthOf(await app.db('users').where('rownd_user_id', user.userId), 1)
  })

  test('a failed profile fetch during first sign-in leaves no row (503)', async ({ assert }) => {
    const user = emulator.createUser({ email: 'flaky@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    emulator.setFault('user_get', { kind: 'status', status: 500 })
    const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(response.status, 503)
    assert.isAtLeast(Number(response.headers.get('retry-after')), 1)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_UNAVAILABLE')
    assert.lengthOf(await app.db('users').where('rownd_user_id', user.userId), 0)

    emulator.clearFaults()
    const retry = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(retry.status, 200)
    assert.lengthOf(await app.db('users').where('rownd_user_id', user.userId), 1)
  })

  test('a user deleted in Rownd whose token is still valid gets 401, and no row', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'deleted@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    emulator.deleteUser(user.userId)
    const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
    assert.equal(response.status, 401)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_USER_NOT_FOUND')
    assert.lengthOf(await app.db('users').where('rownd_user_id', user.userId), 0)
  })

  test('events fire for attempts, successes, failures and creation', async ({ assert }) => {
    const user = emulator.createUser({ email: 'events@example.com' })
    await fetch(`${app.url}/api/me`, {
      headers: bearer(await emulator.mintToken({ userId: user.userId })),
    })
    await fetch(`${app.url}/api/me`, { headers: bearer('bad') })
    const events: Array<{ event: string; via?: string; rowndUserId?: string }> = await (
      await fetch(`${app.url}/_test/events`)
    ).json()
    const names = events.map((e) => e.event)
    assert.includeMembers(names, [
      'rownd_auth:authentication_attempted',
      'rownd_auth:user_created',
      'rownd_auth:authentication_succeeded',
      'rownd_auth:authentication_failed',
    ])
    assert.equal(
      events.find((e) => e.event === 'rownd_auth:authentication_succeeded')!.via,
      'bearer'
    )
    assert.equal(
      events.find((e) => e.event === 'rownd_auth:user_created')!.rowndUserId,
      user.userId
    )
  })

  test('the Rownd profile is exposed and fetched once per request', async ({ assert }) => {
    const user = emulator.createUser({ email: 'profile@example.com', firstName: 'Pro' })
    const token = await emulator.mintToken({ userId: user.userId })
    const response = await fetch(`${app.url}/api/profile`, { headers: bearer(token) })
    assert.equal(response.status, 200)
    const { profile } = await response.json()
    assert.equal(profile.data.email, 'profile@example.com')
    assert.equal(profile.data.first_name, 'Pro')
  })

  test('authenticate() in a controller renders like the rownd middleware', async ({ assert }) => {
    const expired = await emulator.mintToken({ expired: true })
    const response = await fetch(`${app.url}/api/controller`, { headers: bearer(expired) })
    assert.equal(response.status, 401)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_TOKEN_EXPIRED')
    assert.include(response.headers.get('www-authenticate')!, 'invalid_token')

    const ok = await fetch(`${app.url}/api/controller`, {
      headers: bearer(await emulator.mintToken()),
    })
    assert.equal(ok.status, 200)
  })

  test('middleware.auth({ guards: ["rownd"] }) authenticates; failures render as @adonisjs/auth does', async ({
    assert,
  }) => {
    // No framework prototype is patched: @adonisjs/auth renders drivers it
    // does not know as a plain 401 (README: use middleware.rownd() instead)
    const expired = await emulator.mintToken({ expired: true })
    const response = await fetch(`${app.url}/api/auth_mw`, { headers: bearer(expired) })
    assert.equal(response.status, 401)
    assert.equal(await response.text(), 'Unauthorized access')

    const ok = await fetch(`${app.url}/api/auth_mw`, {
      headers: bearer(await emulator.mintToken()),
    })
    assert.equal(ok.status, 200)
  })

  test('browser navigations are redirected to the login path with the intended URL', async ({
    assert,
  }) => {
    const response = await fetch(`${app.url}/dashboard?tab=1`, {
      headers: { accept: 'text/html,application/xhtml+xml' },
      redirect: 'manual',
    })
    assert.equal(response.status, 302)
    assert.equal(
      response.headers.get('location'),
      `/login?return_to=${encodeURIComponent('/dashboard?tab=1')}`
    )
  })

  test('check() is false without a token and true with one', async ({ assert }) => {
    const anonymous = await fetch(`${app.url}/api/check`, {
      headers: { accept: 'application/json' },
    })
    assert.deepEqual(await anonymous.json(), { authenticated: false })
    const signedIn = await fetch(`${app.url}/api/check`, {
      headers: bearer(await emulator.mintToken()),
    })
    assert.deepEqual(await signedIn.json(), { authenticated: true })
  })

  test('the identity cache skips the database for warm requests', async ({ assert }) => {
    const user = emulator.createUser({ email: 'cached@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    // The first request creates the row, the second caches it
    await fetch(`${app.url}/api/cached`, { headers: bearer(token) })
    const first = await fetch(`${app.url}/api/cached`, { headers: bearer(token) })
    assert.equal(first.status, 200)
    // Rename the row behind the app's back: a cached identity does not see it
    await app
      .db('users')
      .where('rownd_user_id', user.userId)
      .update({ email: 'renamed@example.com' })
    const second = await (await fetch(`${app.url}/api/cached`, { headers: bearer(token) })).json()
    assert.equal(second.email, 'cached@example.com')
    const uncached = await (
      await fetch(`${app.url}/api/uncached`, { headers: bearer(token) })
    ).json()
    assert.equal(uncached.email, 'renamed@example.com')
  })
})

test.group('rownd guard | stale profiles never link', (group) => {
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

  test('a row detached elsewhere is not linked back from a cached profile', async ({ assert }) => {
    // Signed in here: this instance holds the user's profile in its cache
    const user = emulator.createUser({ email: 'stale.profile@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    const signIn = await fetch(`${app.url}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept': 'application/json' },
      body: JSON.stringify({ access_token: token }),
    })
    assert.equal(signIn.status, 200)
    assert.equal((await fetch(`${app.url}/api/profile`, { headers: bearer(token) })).status, 200)

    // Another instance handled Rownd's delete: the user is gone and the row
    // detached, but this instance has not heard of it yet (a guard without
    // the identity cache, which would serve the old row for up to its ttl)
    emulator.deleteUser(user.userId)
    await app.db('users').where('rownd_user_id', user.userId).update({ rownd_user_id: null })

    const response = await fetch(`${app.url}/api/uncached`, { headers: bearer(token) })
    assert.equal(response.status, 401)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_USER_NOT_FOUND')
    const rows = await app.db('users').where('email', 'stale.profile@example.com')
    assert.lengthOf(rows, 1)
    assert.isNull(rows[0].rownd_user_id)
  })
})

test.group('rownd guard | Rownd down', (group) => {
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

  test('check() propagates the outage as 503 instead of "signed out"', async ({ assert }) => {
    const token = await emulator.mintToken()
    await emulator.stop()
    const started = Date.now()
    const response = await fetch(`${app.url}/api/check`, { headers: bearer(token) })
    assert.equal(response.status, 503)
    assert.isAtLeast(Number(response.headers.get('retry-after')), 1)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_UNAVAILABLE')
    assert.isBelow(Date.now() - started, 2500)
    await emulator.restart()
  })
})
