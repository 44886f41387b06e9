import { test } from '@japa/runner'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { E_ROWND_API_ERROR, E_ROWND_CONFIG, E_ROWND_UNAVAILABLE } from '../../src/errors.ts'
import { type RowndEmulator } from '../../src/testing/index.ts'
import { createClient, rejects, setup, startEmulator, type Cleanup, zeroCounts } from './helpers.ts'

interface Recorded {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

/**
 * A real HTTP hop between the client and the emulator that records every
 * request's headers. `echoCredentials` makes it answer 400 with an error
 * envelope quoting the credentials it received, like a careless upstream.
 */
async function startRecorder(cleanup: Cleanup, emulator: RowndEmulator) {
  const requests: Recorded[] = []
  const state = { echoCredentials: false }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    requests.push({ method: req.method!, path: req.url!, headers: req.headers })
    if (state.echoCredentials) {
      const body = JSON.stringify({
        statusCode: 400,
        code: 'E_BAD_CREDENTIALS',
        message: `bad credentials ${req.headers['x-rownd-app-key']}:${req.headers['x-rownd-app-secret']}`,
      })
      res.writeHead(400, { 'content-type': 'application/json' }).end(body)
      return
    }
    const headers: Record<string, string> = {}
    for (const name of ['content-type', 'x-rownd-app-key', 'x-rownd-app-secret', 'accept']) {
      const value = req.headers[name]
      if (typeof value === 'string') headers[name] = value
    }
    const body = Buffer.concat(chunks)
    const upstream = await fetch(emulator.url + req.url, {
      method: req.method,
      headers,
      body: body.length ? body : undefined,
    })
    const text = await upstream.text()
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(text)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.closeIdleConnections()
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, requests, state, server }
}

test.group('RowndClient | users API', () => {
  test('get returns the profile', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser({ email: 'ada@example.com', firstName: 'Ada' })
    const profile = await client.users.get(user.userId)
    assert.equal(profile.rownd_user, user.userId)
    assert.equal(profile.data.email, 'ada@example.com')
    assert.equal(profile.data.first_name, 'Ada')
    assert.equal(profile.verified_data?.email, 'ada@example.com')
    assert.equal(emulator.requestCount('user_get'), 1)
  })

  test('put replaces, patch merges, delete removes', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser({ email: 'ada@example.com', firstName: 'Ada' })

    const patched = await client.users.patch(user.userId, { last_name: 'Lovelace' })
    assert.equal(patched.data.first_name, 'Ada')
    assert.equal(patched.data.last_name, 'Lovelace')
    assert.equal(emulator.getUser(user.userId)!.data.last_name, 'Lovelace')

    const replaced = await client.users.put(user.userId, { first_name: 'Grace' })
    assert.equal(replaced.data.first_name, 'Grace')
    assert.notProperty(replaced.data, 'last_name')
    assert.notProperty(replaced.data, 'email')

    const created = await client.users.put('user_new', { email: 'new@example.com' })
    assert.equal(created.rownd_user, 'user_new')

    assert.isUndefined(await client.users.delete(user.userId))
    assert.isUndefined(emulator.getUser(user.userId))
    const error = await rejects(assert, client.users.get(user.userId), E_ROWND_API_ERROR, [
      emulator.appSecret,
    ])
    assert.equal(error.rowndStatus, 404)
    assert.deepEqual(
      { put: emulator.requestCount('user_put'), patch: emulator.requestCount('user_patch') },
      { put: 2, patch: 1 }
    )
    assert.equal(emulator.requestCount('user_delete'), 1)
  })

  test('signOut sends the all flag', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser()
    await client.users.signOut(user.userId)
    await client.users.signOut(user.userId, { all: true })
    assert.deepEqual(emulator.signOuts, [
      { userId: user.userId, all: false },
      { userId: user.userId, all: true },
    ])
    const error = await rejects(assert, client.users.signOut('user_ghost'), E_ROWND_API_ERROR)
    assert.equal(error.rowndStatus, 404)
  })

  test('list filters by lookup and ids', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const ada = emulator.createUser({ email: 'ada@example.com' })
    const grace = emulator.createUser({ email: 'grace@example.com' })
    emulator.createUser({ email: 'linus@example.com' })

    const byEmail = await client.users.list({ lookup: 'ADA@example.com' })
    assert.equal(byEmail.total_results, 1)
    assert.equal(byEmail.results[0].rownd_user, ada.userId)

    const byIds = await client.users.list({ ids: [ada.userId, grace.userId] })
    assert.sameMembers(
      byIds.results.map((profile) => profile.rownd_user),
      [ada.userId, grace.userId]
    )
    const all = await client.users.list({ pageSize: 2 })
    assert.equal(all.total_results, 3)
    assert.lengthOf(all.results, 2)

    const error = await rejects(assert, client.users.list({ pageSize: 5000 }), E_ROWND_API_ERROR)
    assert.equal(error.rowndStatus, 400)
    assert.equal(error.rowndCode, 'E_VALIDATION')
    assert.equal(emulator.requestCount('users_list'), 4)
  })

  test('createMagicLink creates a link for the user', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const result = await client.users.createMagicLink({
      verificationType: 'email',
      data: { email: 'magic@example.com', first_name: 'Mag' },
      redirectUrl: 'https://app.example/welcome',
      expiration: '1h',
    })
    assert.match(result.link, /\/magic\/[a-z0-9]+$/)
    assert.equal(emulator.getUser(result.app_user_id)!.data.email, 'magic@example.com')
    assert.deepInclude(emulator.magicLinks[0], {
      userId: result.app_user_id,
      verificationType: 'email',
      redirectUrl: 'https://app.example/welcome',
      expiration: '1h',
    })

    const error = await rejects(
      assert,
      client.users.createMagicLink({
        verificationType: 'email',
        data: { email: 'not-an-email' },
        redirectUrl: '/',
      }),
      E_ROWND_API_ERROR,
      [emulator.appSecret]
    )
    assert.equal(error.rowndStatus, 400)
    assert.equal(error.rowndCode, 'E_VALIDATION')
    assert.include(error.message, 'data.email')
    assert.equal(error.status, 502)
  })

  test('Rownd error envelopes map to E_ROWND_API_ERROR', async ({ assert, cleanup }) => {
    const emulator = await startEmulator(cleanup)
    const wrongSecret = createClient(cleanup, emulator, { appSecret: 'ras_wrong_secret_value' })
    const error = await rejects(assert, wrongSecret.users.get('anyone'), E_ROWND_API_ERROR, [
      emulator.appSecret,
      'ras_wrong_secret_value',
    ])
    assert.equal(error.rowndStatus, 401)
    assert.equal(error.rowndCode, 'E_UNAUTHORIZED')
    assert.include(error.message, '401')

    // Rownd's 5xx is an outage, not an API error
    const client = createClient(cleanup, emulator)
    emulator.setFault('user_patch', { kind: 'status', status: 503 })
    await rejects(assert, client.users.patch('anyone', { a: 1 }), E_ROWND_UNAVAILABLE, [
      emulator.appSecret,
    ])
  })

  test('a users-API call that hangs times out with a 503', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser()
    await client.getAppConfig()
    emulator.setFault('user_get', { kind: 'hang' })
    const start = performance.now()
    const error = await rejects(assert, client.users.get(user.userId), E_ROWND_UNAVAILABLE, [
      emulator.appSecret,
    ])
    const ms = performance.now() - start
    assert.isAtLeast(ms, 450)
    assert.isBelow(ms, 1500)
    assert.include(error.message, 'in time')
  })

  test('dot-segment and empty user ids never reach another endpoint', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser({ email: 'ada@example.com' })
    for (const userId of ['.', '..', '']) {
      for (const call of [
        () => client.users.get(userId),
        () => client.users.put(userId, { email: 'x@example.com' }),
        () => client.users.patch(userId, { a: 1 }),
        () => client.users.delete(userId),
        () => client.users.signOut(userId),
        () => client.getProfile(userId),
      ]) {
        const error = await rejects(assert, call(), E_ROWND_API_ERROR)
        assert.equal(error.rowndStatus, 404)
      }
    }
    assert.equal(emulator.requestCount('users_list'), 0)
    assert.equal(emulator.listUsers().length, 1)
    assert.equal(client.stats().profiles, 0)

    // Ids with slashes or encoded dots stay one path segment
    for (const userId of ['a/../../data', '%2e', '../users/data']) {
      const error = await rejects(assert, client.users.get(userId), E_ROWND_API_ERROR)
      assert.equal(error.rowndStatus, 404)
      assert.include(error.message, 'not found')
    }
    assert.equal(emulator.requestCount('user_get'), 3)
    assert.equal(emulator.requestCount('users_list'), 0)
    const profile = await client.users.get(user.userId)
    assert.equal(profile.rownd_user, user.userId)
  })

  test('the users API without an app secret is a config error, with no request', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const client = createClient(cleanup, emulator, { appSecret: '' })
    for (const call of [
      () => client.users.get('someone'),
      () => client.users.list(),
      () =>
        client.users.createMagicLink({
          verificationType: 'email',
          data: { email: 'a@b.c' },
          redirectUrl: '/',
        }),
    ]) {
      await rejects(assert, call(), E_ROWND_CONFIG)
    }
    assert.deepEqual(emulator.counts(), zeroCounts())
  })

  test('getProfile is cached and concurrent callers share one fetch', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser({ email: 'ada@example.com' })
    emulator.setFault('user_get', { kind: 'latency', ms: 100 })

    const profiles = await Promise.all(
      Array.from({ length: 20 }, () => client.getProfile(user.userId))
    )
    assert.equal(emulator.requestCount('user_get'), 1)
    for (const profile of profiles) assert.strictEqual(profile, profiles[0])

    const again = await client.getProfile(user.userId)
    assert.strictEqual(again, profiles[0])
    assert.equal(emulator.requestCount('user_get'), 1)
    assert.equal(client.stats().profiles, 1)

    emulator.getUser(user.userId)!.data.first_name = 'Ada'
    const fresh = await client.getProfile(user.userId, { fresh: true })
    assert.equal(fresh.data.first_name, 'Ada')
    assert.equal(emulator.requestCount('user_get'), 2)
    assert.strictEqual(await client.getProfile(user.userId), fresh)

    // Revoking the user drops the cached profile
    await client.revokeUser(user.userId)
    assert.equal(client.stats().profiles, 0)
    await client.getProfile(user.userId)
    assert.equal(emulator.requestCount('user_get'), 3)
  })

  test('getProfile does not cache failures', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser()
    emulator.setFault('user_get', { kind: 'status', status: 500 }, { times: 1 })
    await rejects(assert, client.getProfile(user.userId), E_ROWND_UNAVAILABLE)
    const profile = await client.getProfile(user.userId)
    assert.equal(profile.rownd_user, user.userId)
    assert.equal(emulator.requestCount('user_get'), 2)
    await rejects(assert, client.getProfile('user_ghost'), E_ROWND_API_ERROR)
    assert.equal(client.stats().profiles, 1)
  })

  test('the app secret goes to users-API calls only', async ({ assert, cleanup }) => {
    const emulator = await startEmulator(cleanup)
    const recorder = await startRecorder(cleanup, emulator)
    const client = createClient(cleanup, emulator, { apiUrl: recorder.url })
    const user = emulator.createUser({ email: 'ada@example.com' })

    await client.verifyToken(await emulator.mintToken({ userId: user.userId }))
    await client.users.get(user.userId)
    await client.users.list({ lookup: 'ada@example.com' })
    await client.users.signOut(user.userId)
    await client.users.createMagicLink({
      verificationType: 'email',
      data: { email: 'ada@example.com' },
      redirectUrl: '/',
    })

    const byPath = (prefix: string) => recorder.requests.filter((r) => r.path.startsWith(prefix))
    const [appConfig] = byPath('/hub/app-config')
    assert.equal(appConfig.headers['x-rownd-app-key'], emulator.appKey)
    assert.notProperty(appConfig.headers, 'x-rownd-app-secret')
    const [jwks] = byPath('/hub/auth/keys')
    assert.notProperty(jwks.headers, 'x-rownd-app-secret')
    assert.notProperty(jwks.headers, 'x-rownd-app-key')

    const usersApi = [...byPath('/applications/'), ...byPath('/hub/auth/magic')]
    assert.lengthOf(usersApi, 4)
    for (const request of usersApi) {
      assert.equal(request.headers['x-rownd-app-secret'], emulator.appSecret)
      assert.equal(request.headers['x-rownd-app-key'], emulator.appKey)
    }
    assert.lengthOf(recorder.requests, 6)
    // Nothing else carries a credential in its URL
    for (const request of recorder.requests) assert.notInclude(request.path, emulator.appSecret)
  })

  test('an error message quoting the credentials never exposes the secret', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const recorder = await startRecorder(cleanup, emulator)
    const client = createClient(cleanup, emulator, {
      apiUrl: recorder.url,
      appId: emulator.appId,
    })
    recorder.state.echoCredentials = true
    const error = await rejects(assert, client.users.get('someone'), E_ROWND_API_ERROR, [
      emulator.appSecret,
    ])
    assert.equal(error.rowndStatus, 400)
    assert.equal(error.rowndCode, 'E_BAD_CREDENTIALS')
    assert.include(error.message, 'bad credentials')
  })
})
