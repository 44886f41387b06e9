import { test } from '@japa/runner'
import { RowndEmulator, ROWND_CLAIMS } from '../../src/testing/index.ts'

/** POST/GET helper returning status, headers and parsed JSON */
async function call(
  emulator: RowndEmulator,
  path: string,
  init: { method?: string; json?: unknown; headers?: Record<string, string> } = {}
) {
  const headers = new Headers(init.headers)
  if (init.json !== undefined) headers.set('content-type', 'application/json')
  const response = await fetch(`${emulator.url}${path}`, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  })
  const text = await response.text()
  let json: any
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

function secret(emulator: RowndEmulator) {
  return { 'x-rownd-app-key': emulator.appKey, 'x-rownd-app-secret': emulator.appSecret }
}

function claims(token: string) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
}

test.group('Rownd emulator | browser sessions and token refresh', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start()
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('the stand-in sign-in returns an access token, a refresh token and the user type', async ({
    assert,
  }) => {
    const first = await call(emulator, '/__emulator/tokens', { json: { email: 'ann@foo.com' } })
    assert.equal(first.status, 200)
    assert.match(first.json.refresh_token, /^rrt_[\w-]{43}$/)
    assert.equal(first.json.user_type, 'new_user')
    assert.equal(claims(first.json.access_token)[ROWND_CLAIMS.appUserId], first.json.user_id)

    const again = await call(emulator, '/__emulator/tokens', { json: { email: 'ANN@foo.com' } })
    assert.equal(again.json.user_type, 'existing_user')
    assert.notEqual(again.json.refresh_token, first.json.refresh_token)
    assert.equal(emulator.activeSessions(first.json.user_id), 2)
  })

  test('POST /hub/auth/token exchanges a refresh token for new tokens', async ({ assert }) => {
    const session = await emulator.createSession({ email: 'bo@foo.com', expiresIn: 120 })
    const refreshed = await call(emulator, '/hub/auth/token', {
      json: { refresh_token: session.refreshToken },
    })
    assert.equal(refreshed.status, 200)
    assert.equal(refreshed.headers.get('access-control-allow-origin'), '*')
    assert.sameMembers(Object.keys(refreshed.json), ['access_token', 'refresh_token'])
    assert.notEqual(refreshed.json.refresh_token, session.refreshToken)
    const payload = claims(refreshed.json.access_token)
    assert.equal(payload[ROWND_CLAIMS.appUserId], session.userId)
    // The session keeps its token lifetime
    assert.equal(payload.exp - payload.iat, 120)

    // The replaced token still works for a few seconds (two tabs refreshing at once)...
    const racing = await call(emulator, '/hub/auth/token', {
      json: { refresh_token: session.refreshToken },
    })
    assert.equal(racing.status, 200)
    assert.equal(racing.json.refresh_token, refreshed.json.refresh_token)

    // ...but not once the newer one was exchanged in turn
    const next = await call(emulator, '/hub/auth/token', {
      json: { refresh_token: refreshed.json.refresh_token },
    })
    assert.equal(next.status, 200)
    const replay = await call(emulator, '/hub/auth/token', {
      json: { refresh_token: session.refreshToken },
    })
    assert.equal(replay.status, 400)
    assert.equal(replay.json.code, 'E_INVALID_REFRESH_TOKEN')
    assert.equal(emulator.requestCount('token_refresh'), 4)
  })

  test('refresh refuses unknown tokens, bad bodies and other apps', async ({ assert }) => {
    const session = await emulator.createSession()
    const cases: Array<[unknown, number, string]> = [
      [{ refresh_token: 'rrt_nope' }, 400, 'E_INVALID_REFRESH_TOKEN'],
      [{}, 400, 'E_VALIDATION'],
      [{ access_token: session.accessToken }, 400, 'E_VALIDATION'],
      [{ refresh_token: 42 }, 400, 'E_VALIDATION'],
      [{ refresh_token: session.refreshToken, app_id: 'other' }, 404, 'E_NOT_FOUND'],
    ]
    for (const [json, status, code] of cases) {
      const response = await call(emulator, '/hub/auth/token', { json })
      assert.equal(response.status, status, JSON.stringify(json))
      assert.equal(response.json.code, code)
      assert.deepEqual(response.json.messages, [])
    }
    // A deleted or disabled user cannot refresh
    emulator.getUser(session.userId)!.state = 'disabled'
    const disabled = await call(emulator, '/hub/auth/token', {
      json: { refresh_token: session.refreshToken },
    })
    assert.equal(disabled.status, 400)
  })

  test('the users API sign-out revokes every session of the user', async ({ assert }) => {
    const one = await emulator.createSession({ email: 'cy@foo.com' })
    const two = await emulator.createSession({ email: 'cy@foo.com' })
    const other = await emulator.createSession({ email: 'di@foo.com' })
    for (const json of [{}, { sign_out_all: true }]) {
      const revoked = await call(
        emulator,
        `/applications/${emulator.appId}/users/${one.userId}/signout`,
        { json, headers: secret(emulator) }
      )
      assert.equal(revoked.status, 204)
    }
    assert.deepEqual(emulator.signOuts, [
      { userId: one.userId, all: false },
      { userId: one.userId, all: true },
    ])
    for (const session of [one, two]) {
      const refused = await call(emulator, '/hub/auth/token', {
        json: { refresh_token: session.refreshToken },
      })
      assert.equal(refused.status, 400)
    }
    assert.equal(emulator.activeSessions(one.userId), 0)
    const untouched = await call(emulator, '/hub/auth/token', {
      json: { refresh_token: other.refreshToken },
    })
    assert.equal(untouched.status, 200)
    assert.equal(emulator.revokeSessions(other.userId), 1)
  })

  test('/me/applications/{app}/data reads and replaces the bearer user data', async ({
    assert,
  }) => {
    const session = await emulator.createSession({ email: 'ed@foo.com' })
    const path = `/me/applications/${emulator.appId}/data`
    const bearer = { authorization: `Bearer ${session.accessToken}` }

    const read = await call(emulator, path, { headers: bearer })
    assert.equal(read.status, 200)
    assert.equal(read.json.rownd_user, session.userId)
    assert.equal(read.json.data.email, 'ed@foo.com')
    assert.deepEqual(read.json.verified_data, { email: 'ed@foo.com' })

    const written = await call(emulator, path, {
      method: 'PUT',
      headers: bearer,
      json: { data: { email: 'ed@foo.com', first_name: 'Ed' } },
    })
    assert.equal(written.status, 200)
    assert.equal(written.json.data.first_name, 'Ed')
    assert.equal(emulator.getUser(session.userId)!.data.first_name, 'Ed')
    assert.equal(emulator.requestCount('me_data'), 2)

    assert.equal((await call(emulator, path)).status, 401)
    const forged = await emulator.mintToken({ userId: session.userId, foreignKey: true })
    assert.equal(
      (await call(emulator, path, { headers: { authorization: `Bearer ${forged}` } })).status,
      401
    )
    const otherApp = await call(emulator, '/me/applications/other/data', { headers: bearer })
    assert.equal(otherApp.status, 404)
    const bad = await call(emulator, path, { method: 'PUT', headers: bearer, json: { data: 1 } })
    assert.equal(bad.status, 400)
  })

  test('/me/applications/{app}/signout ends this session, or all of them', async ({ assert }) => {
    const one = await emulator.createSession({ email: 'fa@foo.com' })
    const two = await emulator.createSession({ email: 'fa@foo.com' })
    const path = `/me/applications/${emulator.appId}/signout`

    const mine = await call(emulator, path, {
      json: {},
      headers: { authorization: `Bearer ${one.accessToken}` },
    })
    assert.equal(mine.status, 204)
    assert.equal(emulator.activeSessions(one.userId), 1)
    const stillTwo = await call(emulator, '/hub/auth/token', {
      json: { refresh_token: two.refreshToken },
    })
    assert.equal(stillTwo.status, 200)

    const all = await call(emulator, path, {
      json: { sign_out_all: true },
      headers: { authorization: `Bearer ${two.accessToken}` },
    })
    assert.equal(all.status, 204)
    assert.equal(emulator.activeSessions(one.userId), 0)
  })
})

test.group('Rownd emulator | stand-in Hub assets', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start()
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('serves the stand-in Hub as rph.mjs and rph.js, with CORS', async ({ assert }) => {
    const bodies: string[] = []
    for (const file of ['rph.mjs', 'rph.js']) {
      const response = await fetch(`${emulator.url}/static/scripts/${file}`, {
        headers: { origin: 'http://127.0.0.1:3333' },
      })
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8')
      assert.equal(response.headers.get('access-control-allow-origin'), '*')
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
      bodies.push(await response.text())
    }
    assert.equal(bodies[0], bodies[1])
    // One guard for both loads
    assert.include(bodies[0], 'window.__rowndStandInHub')
    assert.notMatch(bodies[0], /^\s*(import|export)\s/m)

    const head = await fetch(`${emulator.url}/static/scripts/rph.mjs`, { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(await head.text(), '')
    const post = await fetch(`${emulator.url}/static/scripts/rph.js`, { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal((await fetch(`${emulator.url}/static/scripts/other.js`)).status, 404)
  })
})
