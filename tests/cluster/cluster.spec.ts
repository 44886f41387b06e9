import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { mkdirSync, rmSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import {
  startTestApp,
  TEST_APP_ROOT,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test_app.ts'
import { bearer, CookieJar, signIn } from '../helpers/http.ts'
import { PrivateRedis } from './redis_server.ts'

/**
 * A sign-out revokes tokens issued before its second (`iat` counts whole
 * seconds; one minted in that very second stays valid). Tokens a browser
 * holds at sign-out were issued earlier, as these are.
 */
const earlier = () => Math.floor(Date.now() / 1000) - 30

/**
 * Several real app processes behind one private redis-server: sessions in
 * Redis (@adonisjs/session), Rownd state shared through an @adonisjs/cache
 * store (memory L1 + Redis L2 + bus). A, B, C use Redis sessions; E keeps
 * memory sessions so its bearer requests never touch Redis; D is started
 * late, cold.
 */
const JSON_ACCEPT = { accept: 'application/json' }
const WARN = 'shared cache store "redis"'
const WEBHOOK_SECRET = 'cluster-webhook-secret-0123456789'

/** A shared-store key of one Rownd app: `rownd:<app scope>:<name>` */
const scoped = (name: string) =>
  new RegExp(`rownd:[\\w-]{16}:${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)

test.group('cluster | several instances, one Redis', (group) => {
  let redis: PrivateRedis
  let emulator: RowndEmulator
  const apps: Record<string, TestApp> = {}
  const measured: Record<string, string> = {}

  function start(name: string, options: Partial<TestAppOptions> & { redisSessions?: boolean }) {
    const { redisSessions = true, ...rest } = options
    return startTestApp({
      emulator,
      ...rest,
      env: {
        ROWND_CACHE_STORE: 'redis',
        REDIS_PORT: String(redis.port),
        SESSION_DRIVER: redisSessions ? 'redis' : undefined,
        ROWND_WEBHOOK_SECRET: WEBHOOK_SECRET,
        ...rest.env,
      },
    }).then((app) => (apps[name] = app))
  }

  function startMember(name: string, redisSessions = true) {
    return start(name, { keepDatabase: true, sqliteFile: apps.A.sqliteFile, redisSessions })
  }

  /** GET /api/me with a bearer token or a cookie header */
  async function me(app: TestApp, auth: { token?: string; cookie?: string }) {
    const headers: Record<string, string> = auth.token ? bearer(auth.token) : { ...JSON_ACCEPT }
    if (auth.cookie) headers.cookie = auth.cookie
    return fetch(`${app.url}/api/me`, { headers })
  }

  /** Polls until the request is refused with 401; resolves with the time that took */
  async function untilRejected(
    app: TestApp,
    auth: { token?: string; cookie?: string },
    t0: number
  ) {
    while (Date.now() - t0 < 3000) {
      const response = await me(app, auth)
      await response.arrayBuffer()
      if (response.status === 401) return Date.now() - t0
      if (response.status !== 200) throw new Error(`unexpected status ${response.status}`)
    }
    return Number.POSITIVE_INFINITY
  }

  async function waitFor(check: () => boolean | Promise<boolean>, timeout: number) {
    const deadline = Date.now() + timeout
    while (Date.now() < deadline) {
      if (await check()) return true
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return false
  }

  /** The app's JSON log lines about the shared store */
  function storeLogs(app: TestApp) {
    const lines: Array<{ level: number; msg: string }> = []
    for (const line of app.output) {
      if (!line.startsWith('{')) continue
      const entry = JSON.parse(line)
      if (typeof entry.msg === 'string' && entry.msg.includes(WARN)) lines.push(entry)
    }
    return lines
  }
  const warned = (app: TestApp) =>
    storeLogs(app).some((entry) => entry.level === 40 && entry.msg.includes('using memory only'))
  const recovered = (app: TestApp) => storeLogs(app).some((entry) => entry.msg.includes('is back'))

  group.setup(async () => {
    redis = await PrivateRedis.start()
    emulator = await RowndEmulator.start()
    return async () => {
      await Promise.all(Object.values(apps).map((app) => app.stop()))
      await emulator.close()
      await redis.kill()
      const line = Object.entries(measured)
        .map(([name, value]) => `${name}=${value}`)
        .join(' ')
      console.log(`cluster: ${line}`)
    }
  })

  test('a cold instance takes keys and app config from the shared store: no fetch', async ({
    assert,
  }) => {
    await start('A', {})
    const user = emulator.createUser({ email: 'ada@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: earlier() })
    const jar = new CookieJar()
    const signedIn = await signIn(jar, apps.A.url, token)
    assert.equal(signedIn.status, 200)
    assert.equal(emulator.requestCount('jwks'), 1)
    assert.equal(emulator.requestCount('app_config'), 1)

    const before = { jwks: emulator.requestCount('jwks'), app: emulator.requestCount('app_config') }
    await Promise.all([startMember('B'), startMember('C'), startMember('E', false)])
    for (const name of ['B', 'C', 'E']) {
      const response = await me(apps[name], { token })
      assert.equal(response.status, 200, name)
      assert.equal((await response.json()).rowndUserId, user.userId)
    }
    for (const name of ['B', 'C']) {
      const response = await me(apps[name], { cookie: jar.header() })
      assert.equal(response.status, 200, name)
      assert.equal((await response.json()).via, 'session')
    }
    const fetched = {
      jwks: emulator.requestCount('jwks') - before.jwks,
      app: emulator.requestCount('app_config') - before.app,
    }
    measured['cold_fetches(B,C,E)'] = `jwks:${fetched.jwks},app_config:${fetched.app}`
    console.log(
      `cluster: cold instances B, C, E fetched jwks=${fetched.jwks} app_config=${fetched.app}`
    )
    assert.deepEqual(fetched, { jwks: 0, app: 0 })
  }).timeout(60_000)

  test('sign-out on A rejects the token and every session on B and C within 1 s', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'grace@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: earlier() })
    // Two browsers: one signed in on A, one on B (sessions live in Redis)
    const jarA = new CookieJar()
    const jarB = new CookieJar()
    assert.equal((await signIn(jarA, apps.A.url, token)).status, 200)
    assert.equal((await signIn(jarB, apps.B.url, token)).status, 200)
    for (const app of [apps.B, apps.C]) {
      assert.equal((await me(app, { token })).status, 200)
      assert.equal((await me(app, { cookie: jarA.header() })).status, 200)
      assert.equal((await me(app, { cookie: jarB.header() })).status, 200)
    }
    const cookieA = jarA.header()
    const cookieB = jarB.header()

    const t0 = Date.now()
    const signOut = await jarA.fetch(`${apps.A.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
    })
    assert.equal(signOut.status, 200)
    const latencies = await Promise.all(
      ['B', 'C'].flatMap((name) => [
        untilRejected(apps[name], { token }, t0),
        untilRejected(apps[name], { cookie: cookieB }, t0),
        untilRejected(apps[name], { cookie: cookieA }, t0),
      ])
    )
    const [bToken, bSession, bSignedOut, cToken, cSession, cSignedOut] = latencies
    measured.revocation_ms = `B:${Math.max(bToken, bSession)},C:${Math.max(cToken, cSession)}`
    console.log(
      `cluster: revocation latency B=${Math.max(bToken, bSession)}ms C=${Math.max(cToken, cSession)}ms ` +
        `(token B=${bToken} C=${cToken}; other session B=${bSession} C=${cSession}; ` +
        `signed-out session B=${bSignedOut} C=${cSignedOut})`
    )
    for (const latency of latencies) assert.isBelow(latency, 1000)

    const refused = await me(apps.C, { token })
    assert.equal(refused.status, 401)
    assert.equal((await refused.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')
    // The first refusal also dropped the revoked sign-in from that session
    const session = await me(apps.C, { cookie: cookieB })
    assert.equal(session.status, 401)
    assert.equal((await session.json()).errors[0].code, 'E_ROWND_TOKEN_MISSING')
    assert.lengthOf(emulator.signOuts, 0)

    // Not an eternal ban: a token issued after the sign-out works everywhere
    await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() - t0)))
    const fresh = await emulator.mintToken({ userId: user.userId })
    assert.equal((await me(apps.B, { token: fresh })).status, 200)
  }).timeout(30_000)

  test("a Rownd delete delivered to A refuses the user's sessions and warm tokens on B and C within 1 s", async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'deleted.in.rownd@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: earlier() })
    const jarA = new CookieJar()
    const jarB = new CookieJar()
    assert.equal((await signIn(jarA, apps.A.url, token)).status, 200)
    assert.equal((await signIn(jarB, apps.B.url, token)).status, 200)
    // Warm everywhere: the token verified and cached, the sessions read
    for (const app of [apps.B, apps.C]) {
      assert.equal((await me(app, { token })).status, 200)
      assert.equal((await me(app, { cookie: jarA.header() })).status, 200)
      assert.equal((await me(app, { cookie: jarB.header() })).status, 200)
    }

    // Rownd's connector points at one instance (A) behind the load balancer
    emulator.webhooks.configure({ url: `${apps.A.url}/rownd/webhooks/${WEBHOOK_SECRET}` })
    const t0 = Date.now()
    emulator.deleteUser(user.userId)
    const latencies = await Promise.all(
      ['B', 'C'].flatMap((name) => [
        untilRejected(apps[name], { token }, t0),
        untilRejected(apps[name], { cookie: jarA.header() }, t0),
        untilRejected(apps[name], { cookie: jarB.header() }, t0),
      ])
    )
    await emulator.webhooks.settled()
    emulator.webhooks.configure(null)
    const [delivery] = emulator.webhooks.of(user.userId).filter((d) => d.operation === 'delete')
    assert.equal(delivery.status, 200)
    const [bToken, bSessionA, bSessionB, cToken, cSessionA, cSessionB] = latencies
    measured.webhook_delete_ms = `B:${Math.max(bToken, bSessionA, bSessionB)},C:${Math.max(cToken, cSessionA, cSessionB)}`
    console.log(
      `cluster: delete webhook on A, refused on B token=${bToken}ms sessions=${bSessionA}/${bSessionB}ms; ` +
        `C token=${cToken}ms sessions=${cSessionA}/${cSessionB}ms`
    )
    for (const latency of latencies) assert.isBelow(latency, 1000)
    const refused = await me(apps.C, { token })
    assert.equal((await refused.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')
    // Default policy: the row stays, without its Rownd id
    const rows = await apps.A.db('users').where({ email: 'deleted.in.rownd@example.com' })
    assert.lengthOf(rows, 1)
    assert.isNull(rows[0].rownd_user_id)
  }).timeout(30_000)

  test('a cold instance honours revocations written before it started, and makes no fetch', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'hopper@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: earlier() })
    const jarA = new CookieJar()
    const jarB = new CookieJar()
    assert.equal((await signIn(jarA, apps.A.url, token)).status, 200)
    assert.equal((await signIn(jarB, apps.B.url, token)).status, 200)
    const signOut = await jarA.fetch(`${apps.A.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
    })
    assert.equal(signOut.status, 200)

    const before = { jwks: emulator.requestCount('jwks'), app: emulator.requestCount('app_config') }
    const d = await startMember('D')
    const refused = await me(d, { token })
    assert.equal(refused.status, 401)
    assert.equal((await refused.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')
    const session = await me(d, { cookie: jarB.header() })
    assert.equal(session.status, 401)
    assert.equal((await session.json()).errors[0].code, 'E_ROWND_SESSION_INVALID')
    const other = await emulator.mintToken({ userId: emulator.createUser().userId })
    assert.equal((await me(d, { token: other })).status, 200)
    const fetched = {
      jwks: emulator.requestCount('jwks') - before.jwks,
      app: emulator.requestCount('app_config') - before.app,
    }
    measured['cold_fetches(D)'] = `jwks:${fetched.jwks},app_config:${fetched.app}`
    assert.deepEqual(fetched, { jwks: 0, app: 0 })

    // The shared store holds hashes and public data only
    const dump = await redis.dump()
    const keys = [...dump.keys()]
    assert.isTrue(keys.some((key) => scoped('revocation:' + user.userId).test(key)))
    assert.isTrue(keys.some((key) => scoped('jwks').test(key)))
    assert.isTrue(keys.some((key) => scoped('app_config').test(key)))
    for (const [key, value] of dump) {
      assert.notInclude(value, token, key)
      assert.notInclude(value, other, key)
      assert.notInclude(value, emulator.appSecret, key)
      assert.notMatch(value, /eyJ[\w-]+\.eyJ[\w-]+\./, key)
    }
    await d.stop()
    delete apps.D
  }).timeout(60_000)

  test('Redis down: bearer requests keep working from memory, Redis sessions fail, all recovers', async ({
    assert,
  }) => {
    const known = await emulator.mintToken({ userId: emulator.createUser().userId })
    assert.equal((await me(apps.E, { token: known })).status, 200)
    const jar = new CookieJar()
    assert.equal((await signIn(jar, apps.A.url, known)).status, 200)
    // A user who will sign out on E while Redis is away
    const leaver = emulator.createUser({ email: 'leaver@example.com' })
    const leaverToken = await emulator.mintToken({ userId: leaver.userId, issuedAt: earlier() })
    for (const app of [apps.B, apps.C, apps.E]) {
      assert.equal((await me(app, { token: leaverToken })).status, 200)
    }

    await redis.kill()
    // Each instance notices (a probe runs every second) and says so once
    assert.isTrue(await waitFor(() => warned(apps.E), 5000), 'E logged the fallback')

    // E (memory sessions): tokens seen before and new users both verify
    let t = Date.now()
    assert.equal((await me(apps.E, { token: known })).status, 200)
    const knownMs = Date.now() - t
    const newcomer = await emulator.mintToken({ userId: emulator.createUser().userId })
    t = Date.now()
    assert.equal((await me(apps.E, { token: newcomer })).status, 200)
    const newcomerMs = Date.now() - t
    assert.isBelow(newcomerMs, 1000)

    // A, B (Redis sessions): @adonisjs/session reads Redis on every request,
    // so every request fails once ioredis gives up on the command
    t = Date.now()
    const failedBearer = await me(apps.A, { token: known })
    const sessionBearerMs = Date.now() - t
    assert.equal(failedBearer.status, 500)
    const failedCookie = await me(apps.B, { cookie: jar.header() })
    assert.equal(failedCookie.status, 500)
    for (const app of [apps.A, apps.B, apps.C]) {
      assert.isTrue(await waitFor(() => warned(app), 5000))
    }
    assert.lengthOf(
      storeLogs(apps.E).filter((entry) => entry.level === 40),
      1,
      'one warning per outage'
    )
    console.log(
      `cluster: redis down: bearer on E known=${knownMs}ms new user=${newcomerMs}ms; ` +
        `Redis-session instance A answered ${failedBearer.status} after ${sessionBearerMs}ms`
    )
    measured.redis_down = `E_bearer:200(${newcomerMs}ms),A_session_store:${failedBearer.status}(${sessionBearerMs}ms)`

    // A sign-out during the outage applies locally at once; the shared write waits
    const jarE = new CookieJar()
    assert.equal((await signIn(jarE, apps.E.url, leaverToken)).status, 200)
    const leaving = await jarE.fetch(`${apps.E.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
    })
    assert.equal(leaving.status, 200)
    assert.equal((await me(apps.E, { token: leaverToken })).status, 401)

    await redis.start()
    for (const name of ['A', 'B', 'C', 'E']) {
      assert.isTrue(await waitFor(() => recovered(apps[name]), 5000), `${name} recovered`)
    }
    assert.isTrue(
      await waitFor(async () => (await me(apps.A, { token: known })).status === 200, 5000),
      'A serves again'
    )
    // The restarted Redis kept nothing (no persistence): instances gave back what they hold
    const keys = [...(await redis.dump()).keys()]
    assert.isTrue(keys.some((key) => scoped('jwks').test(key)))
    assert.isTrue(keys.some((key) => scoped('app_config').test(key)))
    // ...and the revocation made during the outage reached the store and the others
    assert.isTrue(keys.some((key) => scoped('revocation:' + leaver.userId).test(key)))
    for (const app of [apps.B, apps.C]) {
      assert.isTrue(
        await waitFor(async () => (await me(app, { token: leaverToken })).status === 401, 3000)
      )
    }

    // Sessions and revocation work again across instances
    const user = emulator.createUser({ email: 'after@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: earlier() })
    const jarAfter = new CookieJar()
    assert.equal((await signIn(jarAfter, apps.A.url, token)).status, 200)
    for (const app of [apps.B, apps.C, apps.E]) {
      assert.equal((await me(app, { token })).status, 200)
    }
    const cookie = jarAfter.header()
    assert.equal((await me(apps.C, { cookie })).status, 200)
    const t0 = Date.now()
    const signOut = await jarAfter.fetch(`${apps.A.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
    })
    assert.equal(signOut.status, 200)
    const [b, c, e] = await Promise.all(
      ['B', 'C', 'E'].map((name) => untilRejected(apps[name], { token }, t0))
    )
    console.log(`cluster: after recovery revocation latency B=${b}ms C=${c}ms E=${e}ms`)
    measured.revocation_after_recovery_ms = `B:${b},C:${c},E:${e}`
    for (const latency of [b, c, e]) assert.isBelow(latency, 1000)
  }).timeout(60_000)
})

test.group('cluster | two Rownd apps sharing one Redis and prefix', (group) => {
  let redis: PrivateRedis
  let stagingRownd: RowndEmulator
  let productionRownd: RowndEmulator
  let staging: TestApp
  let production: TestApp

  group.setup(async () => {
    redis = await PrivateRedis.start()
    stagingRownd = await RowndEmulator.start()
    productionRownd = await RowndEmulator.start()
    const shared = { ROWND_CACHE_STORE: 'redis', REDIS_PORT: String(redis.port) }
    staging = await startTestApp({ emulator: stagingRownd, env: shared })
    production = await startTestApp({ emulator: productionRownd, env: shared })
    return async () => {
      await staging.stop()
      await production.stop()
      await stagingRownd.close()
      await productionRownd.close()
      await redis.kill()
    }
  })

  test("neither adopts the other's app config or keys, nor hears its revocations", async ({
    assert,
  }) => {
    // The same Rownd user id exists in both apps
    stagingRownd.createUser({ userId: 'user_both', email: 'both@staging.example.com' })
    productionRownd.createUser({ userId: 'user_both', email: 'both@example.com' })
    const stagingToken = await stagingRownd.mintToken({ userId: 'user_both', issuedAt: earlier() })
    const productionToken = await productionRownd.mintToken({
      userId: 'user_both',
      issuedAt: earlier(),
    })

    assert.equal(
      (await fetch(`${staging.url}/api/me`, { headers: bearer(stagingToken) })).status,
      200
    )
    const productionOwn = await fetch(`${production.url}/api/me`, {
      headers: bearer(productionToken),
    })
    assert.equal(productionOwn.status, 200)
    // Each fetched its own app's config and keys (nothing adopted from the other)
    assert.equal(stagingRownd.requestCount('jwks'), 1)
    assert.equal(productionRownd.requestCount('jwks'), 1)
    assert.equal(productionRownd.requestCount('app_config'), 1)

    // Each refuses the other's tokens
    for (const [app, token] of [
      [staging, productionToken],
      [production, stagingToken],
    ] as const) {
      const response = await fetch(`${app.url}/api/me`, { headers: bearer(token) })
      assert.equal(response.status, 401)
    }

    // A sign-out in staging does not reach production's user of the same id
    const jar = new CookieJar()
    await signIn(jar, staging.url, stagingToken)
    await jar.fetch(`${staging.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
    })
    assert.equal(
      (await fetch(`${staging.url}/api/me`, { headers: bearer(stagingToken) })).status,
      401
    )
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal(
      (await fetch(`${production.url}/api/me`, { headers: bearer(productionToken) })).status,
      200
    )

    // Two scopes in the store, one per app
    const scopes = new Set(
      [...(await redis.dump()).keys()]
        .map((key) => /rownd:([\w-]{16}):jwks/.exec(key)?.[1])
        .filter(Boolean)
    )
    assert.equal(scopes.size, 2)
  }).timeout(60_000)
})

test.group('cluster | Redis sessions survive what the memory does not', (group) => {
  let redis: PrivateRedis
  let emulator: RowndEmulator
  let first: TestApp

  group.setup(async () => {
    redis = await PrivateRedis.start()
    emulator = await RowndEmulator.start()
    return async () => {
      await first?.stop()
      await emulator.close()
      await redis.kill()
    }
  })

  test('a signed-out Redis session stays refused after a restart and a flush of the shared store', async ({
    assert,
    cleanup,
  }) => {
    const env = {
      ROWND_CACHE_STORE: 'redis',
      REDIS_PORT: String(redis.port),
      SESSION_DRIVER: 'redis',
    }
    // The database outlives the process (a restart, not a new install)
    mkdirSync(fileURLToPath(new URL('tmp/', TEST_APP_ROOT)), { recursive: true })
    const sqliteFile = fileURLToPath(new URL(`tmp/redis-${randomUUID()}.sqlite3`, TEST_APP_ROOT))
    first = await startTestApp({ emulator, env, sqliteFile })
    cleanup(() => rmSync(sqliteFile, { force: true }))
    const user = emulator.createUser({ email: 'redis.session@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: earlier() })
    const laptop = new CookieJar()
    const phone = new CookieJar()
    await signIn(laptop, first.url, token)
    await signIn(phone, first.url, token)
    const stolen = laptop.header()
    await phone.fetch(`${first.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
    })
    // (Not replayed before the restart: the first refusal would clear that
    // session's data in Redis for every copy of the cookie)

    // The laptop's session still lives in Redis; the shared revocation is flushed
    await first.stop()
    for (const key of (await redis.dump()).keys()) {
      if (scoped('revocation:').test(key)) await redis.cli('DEL', key)
    }
    first = await startTestApp({ emulator, env, keepDatabase: true, sqliteFile })
    const refusedAfter = await fetch(`${first.url}/api/me`, {
      headers: { ...JSON_ACCEPT, cookie: stolen },
    })
    assert.equal(refusedAfter.status, 401)
    assert.equal((await refusedAfter.json()).errors[0].code, 'E_ROWND_SESSION_INVALID')
    assert.equal((await fetch(`${first.url}/api/me`, { headers: bearer(token) })).status, 401)
  }).timeout(60_000)
})
