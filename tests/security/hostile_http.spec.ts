/*
 * Hostile requests around a token: Authorization header spellings, repeated
 * headers, bytes Node refuses, oversized input, and every body the session
 * route must refuse (forms, text, malformed JSON, cross-site posts with and
 * without shield's CSRF check). Each case asserts the exact answer and that
 * no user row and no authenticated session came out of it.
 */

import { test } from '@japa/runner'
import {
  cookiesOf,
  countUsers,
  leakedIn,
  rawRequest,
  secretsOf,
  socketRequest,
  startTarget,
  stopTarget,
  type RawResponse,
  type Target,
} from './helpers.ts'

const JSON_ACCEPT = { accept: 'application/json' }

interface Expect {
  status: number
  code?: string
  /** Bearer error of WWW-Authenticate */
  bearerError?: string
}

test.group('Security | hostile HTTP', (group) => {
  let target: Target
  let token: string
  const seen: string[] = []

  group.setup(async () => {
    target = await startTarget()
    token = await target.emulator.mintToken()
    seen.push(token)
    // The token's user exists from here on: later 200s must not add rows
    const warm = await rawRequest(target.app.url, '/api/me', {
      headers: { authorization: `Bearer ${token}`, ...JSON_ACCEPT },
    })
    if (warm.status !== 200) throw new Error(`warm-up failed: ${warm.status} ${warm.body}`)
    return () => stopTarget(target)
  })

  let usersBefore = 0
  group.each.setup(async () => {
    usersBefore = await countUsers(target.app)
  })

  /** The session cookie (if any) of a refused request must not authenticate */
  async function assertNoSession(assert: any, response: RawResponse | Response) {
    const cookie = cookiesOf(response)
    if (!cookie) return
    const me = await rawRequest(target.app.url, '/api/me', { headers: { cookie, ...JSON_ACCEPT } })
    assert.equal(me.status, 401)
    assert.equal(me.json().errors[0].code, 'E_ROWND_TOKEN_MISSING')
  }

  async function assertNothingCreated(assert: any) {
    assert.equal(await countUsers(target.app), usersBefore, 'a hostile request created a user')
    assert.equal(target.app.process.exitCode, null, 'the app died')
  }

  function expectResponse(assert: any, response: RawResponse, expected: Expect) {
    assert.equal(response.status, expected.status, response.body.slice(0, 300))
    if (expected.code) assert.equal(response.json().errors[0].code, expected.code)
    if (expected.bearerError) {
      assert.include(
        String(response.headers['www-authenticate']),
        `error="${expected.bearerError}"`
      )
    }
    for (const secret of secretsOf(token)) assert.notInclude(response.body, secret)
  }

  /*
   * Authorization header spellings on a bearer route
   */
  const spellings: Array<[string, (t: string) => string, Expect]> = [
    ['lower-case bearer scheme works', (t) => `bearer ${t}`, { status: 200 }],
    ['upper-case BEARER scheme works', (t) => `BEARER ${t}`, { status: 200 }],
    ['mixed-case BeArEr scheme works', (t) => `BeArEr ${t}`, { status: 200 }],
    ['two spaces after the scheme work', (t) => `Bearer  ${t}`, { status: 200 }],
    ['a tab after the scheme works', (t) => `Bearer\t${t}`, { status: 200 }],
    ['surrounding whitespace works', (t) => `  Bearer ${t}\t `, { status: 200 }],
    [
      'scheme alone',
      () => 'Bearer',
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_request' },
    ],
    [
      // Another scheme (Basic auth on a staging proxy) falls through to the session: none here
      'Basic credentials',
      () => 'Basic dXNlcjpwYXNz',
      { status: 401, code: 'E_ROWND_TOKEN_MISSING' },
    ],
    ['Token scheme', (t) => `Token ${t}`, { status: 401, code: 'E_ROWND_TOKEN_MISSING' }],
    [
      'no space between scheme and token',
      (t) => `Bearer${t}`,
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_request' },
    ],
    [
      'trailing extra word',
      (t) => `Bearer ${t} extra`,
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_request' },
    ],
    [
      'scheme repeated',
      (t) => `Bearer Bearer ${t}`,
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_request' },
    ],
    [
      'two tokens joined by a comma',
      (t) => `Bearer ${t},${t}`,
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_token' },
    ],
    [
      'no-break space (0xA0) as separator',
      (t) => `Bearer\u00a0${t}`,
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_request' },
    ],
    [
      'latin-1 byte inside the token',
      (t) => `Bearer ${t.slice(0, 20)}\u00e9${t.slice(20)}`,
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_token' },
    ],
    ['empty header value', () => '', { status: 401, code: 'E_ROWND_TOKEN_MISSING' }],
  ]
  for (const [name, header, expected] of spellings) {
    test(`authorization: ${name}`, async ({ assert }) => {
      const response = await rawRequest(target.app.url, '/api/me', {
        headers: { authorization: header(token), ...JSON_ACCEPT },
      })
      expectResponse(assert, response, expected)
      if (expected.status === 200) assert.equal(response.json().via, 'bearer')
      await assertNothingCreated(assert)
    })
  }

  /** A request with the given Authorization header lines, written on a bare socket */
  function twoHeaders(path: string, first: string, second: string, method = 'GET') {
    return socketRequest(
      target.app.url,
      `${method} ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${first}\r\nAuthorization: ${second}\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`
    )
  }

  test('authorization: two identical Authorization headers are refused', async ({ assert }) => {
    const answer = await twoHeaders('/api/me', `Bearer ${token}`, `Bearer ${token}`)
    assert.equal(answer.status, 401)
    assert.equal(JSON.parse(answer.body).errors[0].code, 'E_ROWND_TOKEN_MALFORMED')
    assert.include(answer.headers, 'error="invalid_request"')
    assert.notInclude(answer.body, token)
  })

  test('authorization: a garbage then a valid Authorization header are refused', async ({
    assert,
  }) => {
    const answer = await twoHeaders('/api/me', 'Bearer garbage', `Bearer ${token}`)
    assert.equal(answer.status, 401)
    assert.equal(JSON.parse(answer.body).errors[0].code, 'E_ROWND_TOKEN_MALFORMED')
  })

  test('authorization: two headers on the session route sign nobody in', async ({ assert }) => {
    const answer = await twoHeaders(
      '/rownd/session_authenticate',
      `Bearer ${token}`,
      `Bearer ${token}`,
      'POST'
    )
    assert.equal(answer.status, 401)
    assert.equal(JSON.parse(answer.body).errors[0].code, 'E_ROWND_TOKEN_MALFORMED')
    const cookie = [...answer.headers.matchAll(/^set-cookie: ([^;]+)/gim)]
      .map((m) => m[1])
      .join('; ')
    const me = await rawRequest(target.app.url, '/api/me', { headers: { cookie, ...JSON_ACCEPT } })
    assert.equal(me.status, 401)
    await assertNothingCreated(assert)
  })

  const ignoredPlaces: Array<
    [string, (t: string) => { path: string; headers: Record<string, string> }]
  > = [
    [
      'token in the query string is ignored',
      (t) => ({ path: `/api/me?access_token=${t}`, headers: {} }),
    ],
    [
      'token in a cookie is ignored',
      (t) => ({ path: '/api/me', headers: { cookie: `access_token=${t}` } }),
    ],
    [
      'token in X-Authorization is ignored',
      (t) => ({ path: '/api/me', headers: { 'x-authorization': `Bearer ${t}` } }),
    ],
    [
      'token in Proxy-Authorization is ignored',
      (t) => ({ path: '/api/me', headers: { 'proxy-authorization': `Bearer ${t}` } }),
    ],
  ]
  for (const [name, place] of ignoredPlaces) {
    test(`placement: ${name}`, async ({ assert }) => {
      const { path, headers } = place(token)
      const response = await rawRequest(target.app.url, path, {
        headers: { ...headers, ...JSON_ACCEPT },
      })
      expectResponse(assert, response, { status: 401, code: 'E_ROWND_TOKEN_MISSING' })
    })
  }

  /*
   * What Node answers itself
   */
  test('node: NUL byte in the Authorization header → 400 from Node', async ({ assert }) => {
    const answer = await socketRequest(
      target.app.url,
      `GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ab\x00cd\r\nConnection: close\r\n\r\n`
    )
    assert.equal(answer.status, 400)
    await assertNothingCreated(assert)
  })

  test('node: CR injected into the Authorization header → 400 from Node', async ({ assert }) => {
    const answer = await socketRequest(
      target.app.url,
      `GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\rX-Evil: 1\r\nConnection: close\r\n\r\n`
    )
    assert.equal(answer.status, 400)
  })

  test('node: obsolete line folding of the Authorization header → 400 from Node', async ({
    assert,
  }) => {
    const answer = await socketRequest(
      target.app.url,
      `GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n ${token}\r\nConnection: close\r\n\r\n`
    )
    assert.equal(answer.status, 400)
  })

  test('node: 20 KiB Authorization header → 431 from Node', async ({ assert }) => {
    const answer = await socketRequest(
      target.app.url,
      `GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20 * 1024)}\r\nConnection: close\r\n\r\n`
    )
    assert.equal(answer.status, 431)
  })

  test('node: 1 MiB Authorization header → 431 from Node', async ({ assert }) => {
    const answer = await socketRequest(
      target.app.url,
      `GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}${'a'.repeat(1024 * 1024)}\r\nConnection: close\r\n\r\n`
    ).catch((error) => error)
    // Node answers 431 as soon as the limit is crossed and drops the rest
    if (answer instanceof Error) assert.oneOf((answer as any).code, ['ECONNRESET', 'EPIPE'])
    else assert.equal(answer.status, 431)
    const health = await rawRequest(target.app.url, '/api/me', {
      headers: { authorization: `Bearer ${token}`, ...JSON_ACCEPT },
    })
    assert.equal(health.status, 200)
  })

  /*
   * Session route bodies
   */
  const post = (
    headers: Record<string, string> | string[],
    body?: string | Buffer,
    path = '/rownd/session_authenticate'
  ) => rawRequest(target.app.url, path, { method: 'POST', headers, body })

  const bodies: Array<
    [string, () => { headers: Record<string, string>; body?: string | Buffer }, Expect]
  > = [
    [
      'urlencoded form with a valid token → 415',
      () => ({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `access_token=${token}`,
      }),
      { status: 415, code: 'E_ROWND_UNSUPPORTED_MEDIA_TYPE' },
    ],
    [
      'multipart form with a valid token → 415',
      () => ({
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
        body: `--x\r\nContent-Disposition: form-data; name="access_token"\r\n\r\n${token}\r\n--x--\r\n`,
      }),
      { status: 415, code: 'E_ROWND_UNSUPPORTED_MEDIA_TYPE' },
    ],
    [
      'text/plain JSON (a CORS simple request) → 415',
      () => ({
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ access_token: token }),
      }),
      { status: 415, code: 'E_ROWND_UNSUPPORTED_MEDIA_TYPE' },
    ],
    [
      'body without a content type → 415',
      () => ({ headers: {}, body: JSON.stringify({ access_token: token }) }),
      { status: 415, code: 'E_ROWND_UNSUPPORTED_MEDIA_TYPE' },
    ],
    [
      'form body even with a valid bearer header → 415',
      () => ({
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'authorization': `Bearer ${token}`,
        },
        body: 'a=1',
      }),
      { status: 415, code: 'E_ROWND_UNSUPPORTED_MEDIA_TYPE' },
    ],
    [
      'header and body tokens that disagree → 401',
      () => ({
        headers: { 'content-type': 'application/json', 'authorization': `Bearer ${token}` },
        body: JSON.stringify({ access_token: `${token.slice(0, -8)}AAAAAAAA` }),
      }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED', bearerError: 'invalid_request' },
    ],
    [
      'malformed JSON → 400 from the bodyparser',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: `{"access_token": "${token}"`,
      }),
      { status: 400 },
    ],
    [
      'JSON string body → 422 from the bodyparser',
      () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(token) }),
      { status: 422 },
    ],
    [
      'JSON null body → 422 from the bodyparser',
      () => ({ headers: { 'content-type': 'application/json' }, body: 'null' }),
      { status: 422 },
    ],
    [
      'JSON array holding the token → 401 missing',
      () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify([token]) }),
      { status: 401, code: 'E_ROWND_TOKEN_MISSING' },
    ],
    [
      'access_token as a number → 401 malformed',
      () => ({ headers: { 'content-type': 'application/json' }, body: '{"access_token":1e308}' }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED' },
    ],
    [
      'access_token as an array → 401 malformed',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: [token] }),
      }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED' },
    ],
    [
      'access_token as an object → 401 malformed',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: { toString: token } }),
      }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED' },
    ],
    [
      'access_token empty → 401 malformed',
      () => ({ headers: { 'content-type': 'application/json' }, body: '{"access_token":""}' }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED' },
    ],
    [
      'access_token hidden under __proto__ → 401 missing',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: `{"__proto__":{"access_token":"${token}"}}`,
      }),
      { status: 401, code: 'E_ROWND_TOKEN_MISSING' },
    ],
    [
      'duplicate access_token keys (garbage last) → 401 malformed',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: `{"access_token":"${token}","access_token":"x.y.z"}`,
      }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED' },
    ],
    [
      'UTF-8 multibyte characters in the body token → 401 malformed',
      () => ({
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ access_token: `${token.slice(0, 30)}ü€😀${token.slice(30)}` }),
      }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED' },
    ],
    [
      '60 KiB token in a JSON body → 401 malformed (too long)',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: `${token}${'a'.repeat(60 * 1024)}` }),
      }),
      { status: 401, code: 'E_ROWND_TOKEN_MALFORMED' },
    ],
    [
      '1 MiB JSON body → 413 from the bodyparser',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: `${token}${'a'.repeat(1024 * 1024)}` }),
      }),
      { status: 413 },
    ],
    [
      'JSON declared as UTF-16 → 400 from the bodyparser',
      () => ({
        headers: { 'content-type': 'application/json; charset=utf-16' },
        body: Buffer.from(JSON.stringify({ access_token: token }), 'utf16le') as any,
      }),
      { status: 400 },
    ],
    [
      'JSON nested 5000 deep → 400 from the bodyparser (its stack overflow is caught)',
      () => ({
        headers: { 'content-type': 'application/json' },
        body: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
      }),
      { status: 400 },
    ],
  ]
  for (const [name, make, expected] of bodies) {
    test(`session body: ${name}`, async ({ assert }) => {
      const { headers, body } = make()
      const response = await post({ ...headers, ...JSON_ACCEPT }, body)
      expectResponse(assert, response, expected)
      await assertNoSession(assert, response)
      await assertNothingCreated(assert)
    })
  }

  test('session body: GET on the session route is not routed', async ({ assert }) => {
    const response = await rawRequest(
      target.app.url,
      `/rownd/session_authenticate?access_token=${token}`,
      {
        headers: JSON_ACCEPT,
      }
    )
    assert.equal(response.status, 404)
    await assertNothingCreated(assert)
  })

  test('session body: agreeing header and body tokens sign in (control)', async ({ assert }) => {
    const fresh = await target.emulator.mintToken()
    seen.push(fresh)
    const response = await post(
      { 'content-type': 'application/json', 'authorization': `bearer ${fresh}`, ...JSON_ACCEPT },
      JSON.stringify({ access_token: fresh })
    )
    assert.equal(response.status, 200)
    assert.isTrue(response.json().should_refresh_page)
    assert.equal(await countUsers(target.app), usersBefore + 1)
  })

  /*
   * Cross-site posts
   */
  test('cross-site: form post to the CSRF-free route is refused (403 by origin)', async ({
    assert,
  }) => {
    const response = await post(
      {
        'content-type': 'application/x-www-form-urlencoded',
        'origin': 'https://evil.example',
        'referer': 'https://evil.example/page',
      },
      `access_token=${token}`
    )
    assert.equal(response.status, 403)
    assert.include(response.body, 'E_ROWND_CROSS_SITE_REQUEST')
    await assertNoSession(assert, response)
    await assertNothingCreated(assert)
  })

  test('cross-site: form post without Origin (old browsers) is still refused (415)', async ({
    assert,
  }) => {
    const response = await post(
      { 'content-type': 'application/x-www-form-urlencoded' },
      `access_token=${token}`
    )
    assert.equal(response.status, 415)
    await assertNoSession(assert, response)
    await assertNothingCreated(assert)
  })

  test('cross-site: JSON post without a CSRF token under shield is refused', async ({ assert }) => {
    const response = await post(
      { 'content-type': 'application/json', 'origin': 'https://evil.example', ...JSON_ACCEPT },
      JSON.stringify({ access_token: token }),
      '/csrf/rownd/session_authenticate'
    )
    // Shield answers a bad CSRF token by redirecting back
    assert.equal(response.status, 302, response.body)
    assert.notInclude(response.body, token)
    await assertNoSession(assert, response)
    await assertNothingCreated(assert)
  })

  test("cross-site: another session's CSRF token is refused under shield", async ({ assert }) => {
    const page = await rawRequest(target.app.url, '/csrf/token')
    const csrf = page.json().token
    const response = await post(
      { 'content-type': 'application/json', 'x-csrf-token': csrf, ...JSON_ACCEPT },
      JSON.stringify({ access_token: token }),
      '/csrf/rownd/session_authenticate'
    )
    assert.equal(response.status, 302)
    await assertNoSession(assert, response)
    await assertNothingCreated(assert)
  })

  test('cross-site: a form carrying a valid _csrf field is still refused (415)', async ({
    assert,
  }) => {
    const page = await rawRequest(target.app.url, '/csrf/token')
    const cookie = cookiesOf(page)
    const response = await post(
      { 'content-type': 'application/x-www-form-urlencoded', cookie, ...JSON_ACCEPT },
      `_csrf=${encodeURIComponent(page.json().token)}&access_token=${token}`,
      '/csrf/rownd/session_authenticate'
    )
    assert.equal(response.status, 415)
    await assertNothingCreated(assert)
  })

  test('cross-site: X-CSRF-TOKEN of the same session signs in under shield (control)', async ({
    assert,
  }) => {
    const page = await rawRequest(target.app.url, '/csrf/token')
    const cookie = cookiesOf(page)
    const fresh = await target.emulator.mintToken()
    seen.push(fresh)
    const response = await post(
      {
        'content-type': 'application/json',
        'x-csrf-token': page.json().token,
        cookie,
        ...JSON_ACCEPT,
      },
      JSON.stringify({ access_token: fresh }),
      '/csrf/rownd/session_authenticate'
    )
    assert.equal(response.status, 200, response.body)
    assert.equal(await countUsers(target.app), usersBefore + 1)
  })

  test('redirect: a hostile path is kept encoded in the login redirect', async ({ assert }) => {
    const response = await rawRequest(
      target.app.url,
      '/dashboard?next=%0d%0aSet-Cookie:%20x=1&u=//evil.example',
      {
        headers: { accept: 'text/html' },
      }
    )
    assert.equal(response.status, 302)
    const location = String(response.headers.location)
    assert.match(location, /^\/login\?return_to=%2Fdashboard/)
    assert.notInclude(location, '\n')
    assert.isUndefined(
      ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((c) => c.startsWith('x='))
    )
  })

  /*
   * Sign-out abuse, spoofed proxy headers and Inertia probes (wave 2)
   */
  async function sessionCookie(rowndToken: string) {
    const response = await rawRequest(target.app.url, '/rownd/session_authenticate', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...JSON_ACCEPT },
      body: JSON.stringify({ access_token: rowndToken }),
    })
    if (response.status !== 200) throw new Error(`sign-in failed: ${response.status}`)
    return cookiesOf(response)!
  }

  test('sign-out: a replayed, already signed-out cookie ends nothing', async ({ assert }) => {
    const user = target.emulator.createUser({ email: 'replay.signout@example.com' })
    const old = await target.emulator.mintToken({
      userId: user.userId,
      issuedAt: Math.floor(Date.now() / 1000) - 60,
    })
    seen.push(old)
    const stolen = await sessionCookie(old)
    const signOut = (cookie: string) =>
      rawRequest(target.app.url, '/rownd/session_sign_out', {
        method: 'POST',
        headers: { cookie, ...JSON_ACCEPT },
      })
    assert.equal((await signOut(stolen)).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const fresh = await target.emulator.mintToken({ userId: user.userId })
    seen.push(fresh)
    const current = await sessionCookie(fresh)
    for (let attempt = 0; attempt < 3; attempt++) {
      const replay = await signOut(stolen)
      assert.equal(replay.status, 200)
      assert.isFalse(replay.json().should_refresh_page)
    }
    const me = await rawRequest(target.app.url, '/api/me', {
      headers: { cookie: current, ...JSON_ACCEPT },
    })
    assert.equal(me.status, 200)
    const bearer = await rawRequest(target.app.url, '/api/me', {
      headers: { authorization: `Bearer ${fresh}`, ...JSON_ACCEPT },
    })
    assert.equal(bearer.status, 200)
    // The test's own sign-ins made one row; the replays made none
    assert.equal(await countUsers(target.app), usersBefore + 1)
  }).timeout(10_000)

  test('origin: a forwarded host from an untrusted client does not pass the Origin check', async ({
    assert,
  }) => {
    // trustProxy is off in this target: X-Forwarded-Host is the client's word
    const response = await rawRequest(target.app.url, '/rownd/session_authenticate', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'origin': 'https://evil.example.com',
        'x-forwarded-host': 'evil.example.com',
        ...JSON_ACCEPT,
      },
      body: JSON.stringify({ access_token: token }),
    })
    expectResponse(assert, response, { status: 403, code: 'E_ROWND_CROSS_SITE_REQUEST' })
    await assertNoSession(assert, response)
    await assertNothingCreated(assert)
  })

  const origins: Array<[string, string]> = [
    ['an opaque "null" Origin', 'null'],
    ['an Origin that is not a URL', 'not a url'],
    ['an Origin naming a sibling port', `http://127.0.0.1:1`],
    ['an Origin with credentials and our host', 'http://user:pass@evil.example.com'],
  ]
  for (const [name, origin] of origins) {
    test(`origin: ${name} is refused`, async ({ assert }) => {
      const response = await rawRequest(target.app.url, '/rownd/session_authenticate', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin, ...JSON_ACCEPT },
        body: JSON.stringify({ access_token: token }),
      })
      expectResponse(assert, response, { status: 403, code: 'E_ROWND_CROSS_SITE_REQUEST' })
      await assertNoSession(assert, response)
      await assertNothingCreated(assert)
    })
  }

  test('inertia: a failed Inertia visit gets 409 + X-Inertia-Location, never a JSON body', async ({
    assert,
  }) => {
    const response = await rawRequest(target.app.url, '/dashboard?x=%22%3E', {
      headers: { 'x-inertia': 'true', 'x-requested-with': 'XMLHttpRequest', 'accept': 'text/html' },
    })
    assert.equal(response.status, 409)
    assert.equal(
      response.headers['x-inertia-location'],
      `/login?return_to=${encodeURIComponent('/dashboard?x=%22%3E')}`
    )
    assert.equal(response.body, '')
  })

  test('authorization: Basic credentials on the session route fall through and sign nobody in', async ({
    assert,
  }) => {
    const response = await rawRequest(target.app.url, '/rownd/session_authenticate', {
      method: 'POST',
      headers: {
        'authorization': 'Basic dXNlcjpwYXNz',
        'content-type': 'application/json',
        ...JSON_ACCEPT,
      },
      body: '{}',
    })
    expectResponse(assert, response, { status: 401, code: 'E_ROWND_TOKEN_MISSING' })
    await assertNoSession(assert, response)
    await assertNothingCreated(assert)
  })

  test('no token nor the app secret reaches a log line', ({ assert }) => {
    assert.isUndefined(
      leakedIn(target.app.output, [target.emulator.appSecret, ...seen.flatMap(secretsOf)])
    )
  })
})
