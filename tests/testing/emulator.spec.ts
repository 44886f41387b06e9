import { test } from '@japa/runner'
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose'
import {
  EMULATOR_ENDPOINTS,
  RowndEmulator,
  ROWND_CLAIMS,
  encodeUnsigned,
  signCompact,
} from '../../src/testing/index.ts'

/**
 * Fetch helper returning status, headers and parsed JSON (or raw text)
 */
async function call(
  emulator: RowndEmulator,
  path: string,
  init: RequestInit & { json?: unknown; secret?: boolean } = {}
) {
  const headers = new Headers(init.headers)
  if (init.secret) {
    headers.set('x-rownd-app-key', emulator.appKey)
    headers.set('x-rownd-app-secret', emulator.appSecret)
  }
  let body = init.body
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(init.json)
  }
  const response = await fetch(`${emulator.url}${path}`, { ...init, headers, body })
  const text = await response.text()
  let json: any
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json }
}

async function statusOf(...args: Parameters<typeof call>) {
  const response = await call(...args)
  return response.status
}

async function jsonOf(...args: Parameters<typeof call>) {
  const response = await call(...args)
  return response.json
}

function assertEnvelope(assert: any, json: any, status: number) {
  assert.equal(json.statusCode, status)
  assert.isString(json.error)
  assert.isString(json.code)
  assert.isString(json.message)
  assert.deepEqual(json.messages, [])
}

async function verify(emulator: RowndEmulator, token: string, jwks = emulator.jwks) {
  return jwtVerify(token, createLocalJWKSet(jwks as any), {
    issuer: emulator.issuer,
    audience: `app:${emulator.appId}`,
    algorithms: ['EdDSA'],
  })
}

test.group('Rownd emulator | app config and keys', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start({ appId: '290167281732813315', appName: 'Demo' })
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('listens on an ephemeral loopback port', async ({ assert }) => {
    assert.match(emulator.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.notEqual(emulator.port, 0)
    const { status, json } = await call(emulator, '/__emulator/health')
    assert.equal(status, 200)
    assert.deepEqual(json, { ok: true })
  })

  test('serves app config for x-rownd-app-key, x-rownd-hub-key and ?app_id', async ({ assert }) => {
    const byAppKey = await call(emulator, '/hub/app-config', {
      headers: { 'x-rownd-app-key': emulator.appKey },
    })
    const byHubKey = await call(emulator, '/hub/app-config', {
      headers: { 'x-rownd-hub-key': emulator.appKey },
    })
    const byQuery = await call(emulator, `/hub/app-config?app_id=${emulator.appId}`)

    for (const response of [byAppKey, byHubKey, byQuery]) {
      assert.equal(response.status, 200)
      assert.equal(response.json.app.id, '290167281732813315')
      assert.equal(response.json.app.name, 'Demo')
      assert.deepEqual(response.json.app.user_verification_fields, ['email'])
      assert.property(response.json.app.schema, 'email')
      assert.isObject(response.json.app.config)
    }
    assert.equal(emulator.requestCount('app_config'), 3)
  })

  test('rejects a wrong or missing app key with an error envelope', async ({ assert }) => {
    const wrongKey = await call(emulator, '/hub/app-config', {
      headers: { 'x-rownd-app-key': 'key_nope' },
    })
    assert.equal(wrongKey.status, 401)
    assertEnvelope(assert, wrongKey.json, 401)

    const missing = await call(emulator, '/hub/app-config')
    assert.equal(missing.status, 401)

    const wrongApp = await call(emulator, '/hub/app-config?app_id=123')
    assert.equal(wrongApp.status, 404)
    assertEnvelope(assert, wrongApp.json, 404)
  })

  test('serves an Ed25519 JWKS and discovery document', async ({ assert }) => {
    const { status, json } = await call(emulator, '/hub/auth/keys')
    assert.equal(status, 200)
    assert.lengthOf(json.keys, 1)
    const [key] = json.keys
    assert.containsSubset(key, { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    assert.equal(key.kid, emulator.currentKid)
    assert.match(key.kid, /^sig-\d+$/)
    assert.match(key.x, /^[A-Za-z0-9_-]{43}$/)
    assert.notProperty(key, 'd')
    assert.deepEqual(json, emulator.jwks)

    const discovery = await call(emulator, '/hub/auth/.well-known/oauth-authorization-server')
    assert.equal(discovery.json.issuer, emulator.url)
    assert.equal(discovery.json.jwks_uri, `${emulator.url}/hub/auth/keys`)
    assert.equal(discovery.json.token_endpoint, `${emulator.url}/hub/auth/token`)
  })

  test('unknown routes get a 404 envelope and are not counted', async ({ assert }) => {
    const { status, json, headers } = await call(emulator, '/hub/nope')
    assert.equal(status, 404)
    assertEnvelope(assert, json, 404)
    assert.equal(headers.get('content-type'), 'application/json; charset=utf-8')
    assert.deepEqual(Object.values(emulator.counts()), Array(EMULATOR_ENDPOINTS.length).fill(0))
  })
})

test.group('Rownd emulator | tokens', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start()
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('mints Rownd shaped tokens that verify against the served JWKS', async ({ assert }) => {
    const user = emulator.createUser({ email: 'gary@foo.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const header = decodeProtectedHeader(token)
    assert.deepEqual(header, { alg: 'EdDSA', kid: emulator.currentKid })

    const served = await call(emulator, '/hub/auth/keys')
    const { payload } = await verify(emulator, token, served.json)
    assert.deepEqual(payload.aud, [`app:${emulator.appId}`])
    assert.equal(payload.iss, emulator.url)
    assert.equal(payload.sub, user.userId)
    assert.equal(payload[ROWND_CLAIMS.appUserId], user.userId)
    assert.strictEqual(payload[ROWND_CLAIMS.isVerifiedUser], true)
    assert.equal(payload[ROWND_CLAIMS.authLevel], 'verified')
    // Rownd writes is_anonymous on guest tokens only
    assert.notProperty(payload, ROWND_CLAIMS.isAnonymous)
    assert.isString(payload.jti)
    assert.equal(payload.exp! - payload.iat!, 3600)
    assert.notProperty(payload, 'nbf')
  })

  test('creates unknown users and honours the legacy sub', async ({ assert }) => {
    const token = await emulator.mintToken({ userId: 'user_new' })
    assert.isDefined(emulator.getUser('user_new'))
    const { payload } = await verify(emulator, token)
    assert.equal(payload.sub, 'user_new')

    emulator.createUser({ userId: 'user_legacy', sub: 'google-oauth2|1148' })
    const legacy = await verify(emulator, await emulator.mintToken({ userId: 'user_legacy' }))
    assert.equal(legacy.payload.sub, 'google-oauth2|1148')
    assert.equal(legacy.payload[ROWND_CLAIMS.appUserId], 'user_legacy')

    const fresh = await verify(emulator, await emulator.mintToken())
    assert.match(fresh.payload[ROWND_CLAIMS.appUserId] as string, /^user_[a-z0-9]{24}$/)
  })

  test('produces bad tokens on request', async ({ assert }) => {
    const expired = await emulator.mintToken({ expired: true })
    await assert.rejects(() => verify(emulator, expired), errors.JWTExpired as any)

    const foreign = await emulator.mintToken({ foreignKey: true })
    assert.equal(decodeProtectedHeader(foreign).kid, emulator.currentKid)
    await assert.rejects(
      () => verify(emulator, foreign),
      errors.JWSSignatureVerificationFailed as any
    )

    const otherApp = await emulator.mintToken({ appId: 'other' })
    await assert.rejects(() => verify(emulator, otherApp), errors.JWTClaimValidationFailed as any)

    const stringAud = await emulator.mintToken({ audience: `app:${emulator.appId}` })
    const decoded = JSON.parse(Buffer.from(stringAud.split('.')[1], 'base64url').toString())
    assert.equal(decoded.aud, `app:${emulator.appId}`)

    const badIssuer = await emulator.mintToken({ issuer: 'https://evil.example' })
    await assert.rejects(() => verify(emulator, badIssuer), errors.JWTClaimValidationFailed as any)
  })

  test('applies claim and header overrides, undefined deletes', async ({ assert }) => {
    const token = await emulator.mintToken({
      authLevel: 'guest',
      claims: { exp: undefined, custom: 'yes' },
      header: { typ: 'JWT' },
      kid: 'sig-1',
      notBefore: 123,
    })
    const header = decodeProtectedHeader(token)
    assert.deepEqual(header, { alg: 'EdDSA', kid: 'sig-1', typ: 'JWT' })
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
    assert.notProperty(payload, 'exp')
    assert.equal(payload.custom, 'yes')
    assert.equal(payload.nbf, 123)
    assert.equal(payload[ROWND_CLAIMS.authLevel], 'guest')
    assert.strictEqual(payload[ROWND_CLAIMS.isAnonymous], true)
    assert.strictEqual(payload[ROWND_CLAIMS.isVerifiedUser], true)
  })

  test('claims per auth level, in the order and combinations Rownd mints them', async ({
    assert,
  }) => {
    const decode = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
    const CLAIM = 'https://auth.rownd.io/'
    const base = ['jti', 'aud', 'sub', 'iat', `${CLAIM}app_user_id`, `${CLAIM}is_verified_user`]
    const tail = [`${CLAIM}auth_level`, 'iss', 'exp']
    const expected = {
      verified: { keys: [...base, ...tail], verified: true, anonymous: undefined },
      instant: { keys: [...base, ...tail], verified: true, anonymous: undefined },
      guest: { keys: [...base, `${CLAIM}is_anonymous`, ...tail], verified: true, anonymous: true },
      unverified: { keys: [...base, ...tail], verified: false, anonymous: undefined },
    }
    for (const [authLevel, shape] of Object.entries(expected)) {
      const payload = decode(await emulator.mintToken({ authLevel: authLevel as any }))
      assert.deepEqual(Object.keys(payload), shape.keys, authLevel)
      assert.strictEqual(payload[ROWND_CLAIMS.isVerifiedUser], shape.verified, authLevel)
      assert.strictEqual(payload[ROWND_CLAIMS.isAnonymous], shape.anonymous, authLevel)
      assert.equal(payload[ROWND_CLAIMS.authLevel], authLevel)
    }
    // Explicit options still win
    const forced = decode(
      await emulator.mintToken({ authLevel: 'guest', isVerifiedUser: false, isAnonymous: false })
    )
    assert.strictEqual(forced[ROWND_CLAIMS.isVerifiedUser], false)
    assert.strictEqual(forced[ROWND_CLAIMS.isAnonymous], false)
    // A user created unverified mints unverified tokens
    const pending = emulator.createUser({ email: 'p@foo.com', emailVerified: false })
    const unverified = decode(await emulator.mintToken({ userId: pending.userId }))
    assert.equal(unverified[ROWND_CLAIMS.authLevel], 'unverified')
    assert.strictEqual(unverified[ROWND_CLAIMS.isVerifiedUser], false)
  })

  test('low level helpers craft arbitrary tokens', async ({ assert }) => {
    const now = Math.floor(Date.now() / 1000)
    const crafted = await signCompact(
      { kid: emulator.currentKid },
      { iss: emulator.issuer, aud: [`app:${emulator.appId}`], iat: now, exp: now + 60 },
      emulator.signingKey
    )
    const { payload } = await verify(emulator, crafted)
    assert.equal(payload.exp, now + 60)

    const raw = encodeUnsigned('{"alg":"none","alg":"EdDSA"}', '{"sub":"a","sub":"b"}', 'c2ln')
    const [h, p, s] = raw.split('.')
    assert.equal(Buffer.from(h, 'base64url').toString(), '{"alg":"none","alg":"EdDSA"}')
    assert.equal(Buffer.from(p, 'base64url').toString(), '{"sub":"a","sub":"b"}')
    assert.equal(s, 'c2ln')
  })

  test('rotation publishes both keys, or only the new one when withdrawing', async ({ assert }) => {
    const oldKid = emulator.currentKid
    const oldToken = await emulator.mintToken()

    const newKid = await emulator.rotateKeys()
    assert.notEqual(newKid, oldKid)
    assert.equal(emulator.currentKid, newKid)
    let served = await jsonOf(emulator, '/hub/auth/keys')
    assert.deepEqual(
      served.keys.map((key: any) => key.kid),
      [oldKid, newKid]
    )
    const newToken = await emulator.mintToken()
    assert.equal(decodeProtectedHeader(newToken).kid, newKid)
    await verify(emulator, oldToken, served)
    await verify(emulator, newToken, served)

    const thirdKid = await emulator.rotateKeys({ withdrawOld: true })
    assert.notInclude([oldKid, newKid], thirdKid)
    served = await jsonOf(emulator, '/hub/auth/keys')
    assert.deepEqual(
      served.keys.map((key: any) => key.kid),
      [thirdKid]
    )
    await assert.rejects(() => verify(emulator, newToken, served))
    await verify(emulator, await emulator.mintToken(), served)
  })
})

test.group('Rownd emulator | faults and counts', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start()
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('latency delays the answer', async ({ assert }) => {
    emulator.setFault('jwks', { kind: 'latency', ms: 150 })
    const started = performance.now()
    const { status } = await call(emulator, '/hub/auth/keys')
    assert.equal(status, 200)
    assert.isAtLeast(performance.now() - started, 140)
  })

  test('status faults answer with an error envelope', async ({ assert }) => {
    emulator.setFault('jwks', { kind: 'status', status: 503 })
    const { status, json } = await call(emulator, '/hub/auth/keys')
    assert.equal(status, 503)
    assertEnvelope(assert, json, 503)
    assert.equal(json.error, 'Service Unavailable')

    // other endpoints are unaffected
    const discovery = await call(emulator, '/hub/auth/.well-known/oauth-authorization-server')
    assert.equal(discovery.status, 200)
  })

  test('malformed JSON and malformed JWKS', async ({ assert }) => {
    emulator.setFault('app_config', { kind: 'malformed_json' })
    const config = await call(emulator, `/hub/app-config?app_id=${emulator.appId}`)
    assert.equal(config.status, 200)
    assert.throws(() => JSON.parse(config.text))

    emulator.setFault('jwks', { kind: 'malformed_jwks' })
    const jwks = await call(emulator, '/hub/auth/keys')
    assert.equal(jwks.status, 200)
    assert.deepEqual(jwks.json, { keys: [{ kty: 'OKP' }] })

    emulator.setFault('jwks', { kind: 'malformed_jwks', body: { keys: 'x' } })
    assert.deepEqual(await jsonOf(emulator, '/hub/auth/keys'), { keys: 'x' })
  })

  test('reset destroys the socket', async ({ assert }) => {
    emulator.setFault('jwks', { kind: 'reset' })
    await assert.rejects(() => fetch(`${emulator.url}/hub/auth/keys`))
    assert.equal(emulator.requestCount('jwks'), 1)
  })

  test('hang never answers, and close() still returns', async ({ assert }) => {
    emulator.setFault('*', { kind: 'hang' })
    await assert.rejects(() =>
      fetch(`${emulator.url}/hub/auth/keys`, { signal: AbortSignal.timeout(200) })
    )
    // a second hanging request stays open until close
    const pending = fetch(`${emulator.url}/hub/app-config`).catch((error) => error)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await emulator.close()
    assert.instanceOf(await pending, Error)
    assert.deepEqual(emulator.counts().app_config, 1)
  })

  test('endpoint faults win over wildcard faults, times limits a fault', async ({ assert }) => {
    emulator.setFault('*', { kind: 'status', status: 500 })
    emulator.setFault('jwks', { kind: 'status', status: 502 }, { times: 1 })
    assert.equal(await statusOf(emulator, '/hub/auth/keys'), 502)
    assert.equal(await statusOf(emulator, '/hub/auth/keys'), 500)
    assert.equal(await statusOf(emulator, '/__emulator/health'), 200)

    emulator.clearFaults()
    assert.equal(await statusOf(emulator, '/hub/auth/keys'), 200)
    emulator.setFault('jwks', { kind: 'status', status: 500 })
    emulator.setFault('jwks', null)
    assert.equal(await statusOf(emulator, '/hub/auth/keys'), 200)
  })

  test('counts requests per endpoint, faulted ones included', async ({ assert }) => {
    await call(emulator, '/hub/auth/keys')
    emulator.setFault('jwks', { kind: 'status', status: 500 })
    await call(emulator, '/hub/auth/keys')
    await call(emulator, '/applications/x/users/data')
    await call(emulator, '/__emulator/tokens', { method: 'POST', json: {} })

    assert.equal(emulator.requestCount('jwks'), 2)
    assert.equal(emulator.requestCount('users_list'), 1)
    assert.equal(emulator.requestCount('app_config'), 0)
    const counts = emulator.counts()
    assert.equal(
      Object.values(counts).reduce((sum, n) => sum + n, 0),
      3
    )

    emulator.resetCounts()
    assert.equal(emulator.requestCount('jwks'), 0)
  })

  test('stop refuses connections and restart keeps port, keys and users', async ({ assert }) => {
    const url = emulator.url
    const kid = emulator.currentKid
    const user = emulator.createUser({ email: 'a@b.co' })
    const token = await emulator.mintToken({ userId: user.userId })
    await call(emulator, '/hub/auth/keys')

    await emulator.stop()
    assert.isFalse(emulator.listening)
    await assert.rejects(() => fetch(`${url}/hub/auth/keys`))

    await emulator.restart()
    assert.equal(emulator.url, url)
    const served = await call(emulator, '/hub/auth/keys')
    assert.equal(served.json.keys[0].kid, kid)
    await verify(emulator, token, served.json)
    const profilePath = `/applications/${emulator.appId}/users/${user.userId}/data`
    assert.equal(await statusOf(emulator, profilePath, { secret: true }), 200)
  })
})

test.group('Rownd emulator | users API', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start()
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('requires app key and secret, and the right app id', async ({ assert }) => {
    const user = emulator.createUser()
    const path = `/applications/${emulator.appId}/users/${user.userId}/data`

    const none = await call(emulator, path)
    assert.equal(none.status, 401)
    assertEnvelope(assert, none.json, 401)

    const keyOnly = await call(emulator, path, { headers: { 'x-rownd-app-key': emulator.appKey } })
    assert.equal(keyOnly.status, 401)

    const wrongSecret = await call(emulator, path, {
      headers: { 'x-rownd-app-key': emulator.appKey, 'x-rownd-app-secret': 'nope' },
    })
    assert.equal(wrongSecret.status, 401)

    const wrongApp = await call(emulator, `/applications/other/users/${user.userId}/data`, {
      secret: true,
    })
    assert.equal(wrongApp.status, 404)
    assertEnvelope(assert, wrongApp.json, 404)
  })

  test('GET returns the Rownd profile shape', async ({ assert }) => {
    const verified = emulator.createUser({
      email: 'gary@foo.com',
      firstName: 'Gary',
      lastName: 'Jackson',
      data: { plan: 'pro' },
    })
    const unverified = emulator.createUser({ email: 'eve@foo.com', emailVerified: false })
    const base = `/applications/${emulator.appId}/users`

    const { status, json } = await call(emulator, `${base}/${verified.userId}/data`, {
      secret: true,
    })
    assert.equal(status, 200)
    assert.equal(json.rownd_user, verified.userId)
    assert.equal(json.state, 'enabled')
    assert.equal(json.auth_level, 'verified')
    assert.deepEqual(json.data, {
      user_id: verified.userId,
      email: 'gary@foo.com',
      first_name: 'Gary',
      last_name: 'Jackson',
      plan: 'pro',
    })
    assert.deepEqual(json.verified_data, { email: 'gary@foo.com' })
    assert.deepEqual(json.groups, [])
    assert.properties(json.meta, ['created', 'modified', 'first_sign_in', 'last_sign_in'])

    const other = await call(emulator, `${base}/${unverified.userId}/data`, { secret: true })
    assert.deepEqual(other.json.verified_data, {})
    assert.equal(other.json.auth_level, 'unverified')

    const missing = await call(emulator, `${base}/user_missing/data`, { secret: true })
    assert.equal(missing.status, 404)
    assertEnvelope(assert, missing.json, 404)
  })

  test('PUT replaces data, PATCH merges, DELETE removes', async ({ assert }) => {
    const user = emulator.createUser({ email: 'gary@foo.com', firstName: 'Gary' })
    const path = `/applications/${emulator.appId}/users/${user.userId}/data`

    const patched = await call(emulator, path, {
      method: 'PATCH',
      secret: true,
      json: { data: { last_name: 'Jackson', user_id: 'hijack' } },
    })
    assert.equal(patched.status, 200)
    assert.deepEqual(patched.json.data, {
      user_id: user.userId,
      email: 'gary@foo.com',
      first_name: 'Gary',
      last_name: 'Jackson',
    })
    assert.deepEqual(patched.json.verified_data, { email: 'gary@foo.com' })

    const put = await call(emulator, path, {
      method: 'PUT',
      secret: true,
      json: { data: { email: 'new@foo.com' } },
    })
    assert.equal(put.status, 200)
    assert.deepEqual(put.json.data, { user_id: user.userId, email: 'new@foo.com' })
    // a changed email is not verified any more
    assert.deepEqual(put.json.verified_data, {})
    assert.equal(emulator.getUser(user.userId)!.data.email, 'new@foo.com')

    const badBody = await call(emulator, path, { method: 'PATCH', secret: true, json: { data: 1 } })
    assert.equal(badBody.status, 400)

    const deleted = await call(emulator, path, { method: 'DELETE', secret: true })
    assert.equal(deleted.status, 204)
    assert.isUndefined(emulator.getUser(user.userId))
    assert.equal(await statusOf(emulator, path, { method: 'DELETE', secret: true }), 404)
    assert.equal(
      await statusOf(emulator, path, { method: 'PATCH', secret: true, json: { data: {} } }),
      404
    )
    assert.deepEqual(emulator.counts(), {
      ...emulator.counts(),
      user_patch: 3,
      user_put: 1,
      user_delete: 2,
    })
  })

  test('lists users with lookup, id filters and paging', async ({ assert }) => {
    const a = emulator.createUser({ email: 'A@Foo.com' })
    const b = emulator.createUser({ phone: '+19199993333' })
    const c = emulator.createUser({ userId: 'user_c' })
    const base = `/applications/${emulator.appId}/users/data`

    const all = await call(emulator, base, { secret: true })
    assert.equal(all.json.total_results, 3)
    assert.deepEqual(
      all.json.results.map((p: any) => p.rownd_user),
      [a.userId, b.userId, c.userId]
    )

    const lookup = await call(emulator, `${base}?lookup_filter=a@foo.com,%2B19199993333`, {
      secret: true,
    })
    assert.deepEqual(
      lookup.json.results.map((p: any) => p.rownd_user),
      [a.userId, b.userId]
    )

    const byId = await call(emulator, `${base}?id_filter=user_c,${a.userId}`, { secret: true })
    assert.deepEqual(
      byId.json.results.map((p: any) => p.rownd_user),
      [a.userId, c.userId]
    )

    const page = await call(emulator, `${base}?page_size=1&after=${a.userId}`, { secret: true })
    assert.deepEqual(
      page.json.results.map((p: any) => p.rownd_user),
      [b.userId]
    )

    assert.equal(await statusOf(emulator, `${base}?page_size=0`, { secret: true }), 400)
    assert.equal(await statusOf(emulator, base), 401)
  })

  test('signout records the revocation', async ({ assert }) => {
    const user = emulator.createUser()
    const path = `/applications/${emulator.appId}/users/${user.userId}/signout`

    assert.equal(await statusOf(emulator, path, { method: 'POST', secret: true }), 204)
    const all = await call(emulator, path, {
      method: 'POST',
      secret: true,
      json: { sign_out_all: true },
    })
    assert.equal(all.status, 204)
    assert.equal(all.text, '')
    assert.deepEqual(emulator.signOuts, [
      { userId: user.userId, all: false },
      { userId: user.userId, all: true },
    ])

    assert.equal(await statusOf(emulator, path, { method: 'POST', json: {} }), 401)
    assert.equal(
      await statusOf(emulator, path, {
        method: 'POST',
        secret: true,
        json: { sign_out_all: 'yes' },
      }),
      400
    )
    assert.equal(emulator.requestCount('signout'), 4)
  })

  test('magic links create or match users and validate the body', async ({ assert }) => {
    const existing = emulator.createUser({ email: 'gary@foo.com' })
    const created = await call(emulator, '/hub/auth/magic', {
      method: 'POST',
      secret: true,
      json: {
        verification_type: 'email',
        data: { email: 'new@foo.com', first_name: 'New' },
        redirect_url: '/dashboard',
        expiration: '1h',
      },
    })
    assert.equal(created.status, 200)
    assert.match(created.json.link, new RegExp(`^${emulator.url}/magic/[a-z0-9]+$`))
    const user = emulator.getUser(created.json.app_user_id)!
    assert.equal(user.data.email, 'new@foo.com')
    assert.equal(user.data.first_name, 'New')
    assert.isFalse(user.emailVerified)

    const matched = await call(emulator, '/hub/auth/magic', {
      method: 'POST',
      secret: true,
      json: { verification_type: 'email', data: { email: 'GARY@foo.com' }, redirect_url: '/' },
    })
    assert.equal(matched.json.app_user_id, existing.userId)

    // visiting the link verifies the email and redirects
    const visit = await fetch(created.json.link, { redirect: 'manual' })
    assert.equal(visit.status, 302)
    assert.equal(visit.headers.get('location'), '/dashboard')
    assert.isTrue(user.emailVerified)

    const bad = [
      {},
      { verification_type: 'sms', data: { email: 'a@b.co' }, redirect_url: '/' },
      { verification_type: 'email', data: { email: 'nope' }, redirect_url: '/' },
      { verification_type: 'email', data: { email: 'a@b.co' } },
      { verification_type: 'email', data: { email: 'a@b.co' }, redirect_url: '/', expiration: 'x' },
      [1, 2],
    ]
    for (const json of bad) {
      const response = await call(emulator, '/hub/auth/magic', {
        method: 'POST',
        secret: true,
        json,
      })
      assert.equal(response.status, 400, JSON.stringify(json))
      assertEnvelope(assert, response.json, 400)
    }
    const unauthorized = await call(emulator, '/hub/auth/magic', { method: 'POST', json: {} })
    assert.equal(unauthorized.status, 401)
  })
})

test.group('Rownd emulator | control routes and hostile input', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start()
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('POST /__emulator/tokens mints tokens with CORS', async ({ assert }) => {
    const preflight = await fetch(`${emulator.url}/__emulator/tokens`, {
      method: 'OPTIONS',
      headers: {
        'origin': 'http://localhost:3333',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*')
    assert.include(preflight.headers.get('access-control-allow-headers')!, 'content-type')
    assert.include(preflight.headers.get('access-control-allow-methods')!, 'POST')

    const byEmail = await call(emulator, '/__emulator/tokens', {
      method: 'POST',
      json: { email: 'hub@foo.com', expires_in: 120 },
    })
    assert.equal(byEmail.status, 200)
    assert.equal(byEmail.headers.get('access-control-allow-origin'), '*')
    const { payload } = await verify(emulator, byEmail.json.access_token)
    assert.equal(payload[ROWND_CLAIMS.appUserId], byEmail.json.user_id)
    assert.equal(payload.exp! - payload.iat!, 120)
    const user = emulator.getUser(byEmail.json.user_id)!
    assert.equal(user.data.email, 'hub@foo.com')
    assert.isTrue(user.emailVerified)

    // same email, same user
    const again = await call(emulator, '/__emulator/tokens', {
      method: 'POST',
      json: { email: 'HUB@foo.com' },
    })
    assert.equal(again.json.user_id, byEmail.json.user_id)

    const byId = await call(emulator, '/__emulator/tokens', {
      method: 'POST',
      json: { user_id: 'user_fixed' },
    })
    assert.equal(byId.json.user_id, 'user_fixed')

    const bad = await call(emulator, '/__emulator/tokens', {
      method: 'POST',
      json: { expires_in: -1 },
    })
    assert.equal(bad.status, 400)
  })

  test('rejects oversized and malformed bodies without crashing', async ({ assert }) => {
    const path = `/applications/${emulator.appId}/users/${emulator.createUser().userId}/data`

    const big = await call(emulator, path, {
      method: 'PATCH',
      secret: true,
      json: { data: { blob: 'x'.repeat(70 * 1024) } },
    })
    assert.equal(big.status, 413)
    assertEnvelope(assert, big.json, 413)

    const badJson = await call(emulator, path, {
      method: 'PATCH',
      secret: true,
      headers: { 'content-type': 'application/json' },
      body: '{"data": {',
    })
    assert.equal(badJson.status, 400)
    assertEnvelope(assert, badJson.json, 400)

    const proto = await call(emulator, path, {
      method: 'PATCH',
      secret: true,
      headers: { 'content-type': 'application/json' },
      body: '{"data": {"__proto__": {"polluted": true}}}',
    })
    assert.equal(proto.status, 200)
    assert.isUndefined(({} as any).polluted)

    const badEncoding = await call(
      emulator,
      `/applications/${emulator.appId}/users/%E0%A4%A/data`,
      {
        secret: true,
      }
    )
    assert.equal(badEncoding.status, 400)

    const wrongMethod = await call(emulator, '/hub/auth/keys', { method: 'POST' })
    assert.equal(wrongMethod.status, 405)

    // still alive
    assert.equal(await statusOf(emulator, '/__emulator/health'), 200)
  })
})
