/*
 * Rownd having a bad day, through the emulator's fault injection, against
 * the real app process: cold starts answer a typed 503 with Retry-After
 * within the configured timeout and recover on their own; a warm app keeps
 * serving known users (also past the key refresh time); key rotation under
 * traffic fails no validly signed token.
 */

import { test } from '@japa/runner'
import { setTimeout as sleep } from 'node:timers/promises'
import type { EmulatorEndpoint, EmulatorFault } from '../../src/testing/index.ts'
import { RowndEmulator } from '../../src/testing/index.ts'
import { startTestApp, type TestApp } from '../helpers/test_app.ts'
import { cookiesOf, countUsers, leakedIn, secretsOf } from './helpers.ts'

const TIMEOUT_MS = 500
/** Slack on top of the configured timeout for a loaded 2-core machine */
const SLACK_MS = 1000

const json = { 'accept': 'application/json', 'content-type': 'application/json' }

async function bearer(app: TestApp, token: string) {
  const started = performance.now()
  const response = await fetch(`${app.url}/api/me`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  })
  const body = await response.json()
  return { response, body, elapsed: performance.now() - started }
}

async function signIn(app: TestApp, token: string, cookie = '') {
  const response = await fetch(`${app.url}/rownd/session_authenticate`, {
    method: 'POST',
    headers: { ...json, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ access_token: token }),
  })
  return { response, body: await response.json() }
}

function assertUnavailable(assert: any, response: Response, body: any) {
  assert.equal(response.status, 503, JSON.stringify(body))
  assert.equal(body.errors[0].code, 'E_ROWND_UNAVAILABLE')
  const retryAfter = Number(response.headers.get('retry-after'))
  assert.isTrue(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${retryAfter}`)
}

/** Polls until the bearer request succeeds (no app restart in between) */
async function waitForRecovery(app: TestApp, token: string, withinMs: number) {
  const deadline = Date.now() + withinMs
  let last = 0
  while (Date.now() < deadline) {
    const { response } = await bearer(app, token)
    last = response.status
    if (last === 200) return Date.now() - (deadline - withinMs)
    await sleep(100)
  }
  throw new Error(`no recovery within ${withinMs}ms (last status ${last})`)
}

interface ColdCase {
  name: string
  break: (emulator: RowndEmulator) => Promise<void> | void
  heal: (emulator: RowndEmulator) => Promise<void> | void
}

const fault =
  (endpoint: EmulatorEndpoint | '*', value: EmulatorFault) => (emulator: RowndEmulator) =>
    emulator.setFault(endpoint, value)

const COLD: ColdCase[] = [
  { name: 'Rownd down', break: (e) => e.stop(), heal: (e) => e.restart() },
  {
    name: `Rownd hanging (timeout ${TIMEOUT_MS}ms)`,
    break: fault('*', { kind: 'hang' }),
    heal: (e) => e.clearFaults(),
  },
  {
    name: 'Rownd answering 500',
    break: fault('*', { kind: 'status', status: 500 }),
    heal: (e) => e.clearFaults(),
  },
  {
    name: 'Rownd answering 503',
    break: fault('*', { kind: 'status', status: 503 }),
    heal: (e) => e.clearFaults(),
  },
  {
    name: 'Rownd sending malformed JSON',
    break: fault('*', { kind: 'malformed_json' }),
    heal: (e) => e.clearFaults(),
  },
  {
    name: 'Rownd sending a malformed JWKS',
    break: fault('jwks', { kind: 'malformed_jwks' }),
    heal: (e) => e.clearFaults(),
  },
  {
    name: 'Rownd resetting connections',
    break: fault('*', { kind: 'reset' }),
    heal: (e) => e.clearFaults(),
  },
]

test.group('Security | outages on a cold app', (group) => {
  let emulator: RowndEmulator
  group.setup(async () => {
    emulator = await RowndEmulator.start()
    return () => emulator.close()
  })
  group.each.setup(() => {
    emulator.clearFaults()
  })

  for (const entry of COLD) {
    test(`cold start, ${entry.name}: 503 + Retry-After in time, then recovery`, async ({
      assert,
      cleanup,
    }) => {
      const token = await emulator.mintToken()
      const newcomer = await emulator.mintToken()
      await entry.break(emulator)
      const app = await startTestApp({
        emulator,
        env: { ROWND_TIMEOUT: `${TIMEOUT_MS}ms`, LOG_LEVEL: 'debug', NODE_ENV: 'production' },
      })
      cleanup(() => app.stop())
      const pid = app.process.pid

      const first = await bearer(app, token)
      assertUnavailable(assert, first.response, first.body)
      assert.isBelow(first.elapsed, TIMEOUT_MS + SLACK_MS, 'the 503 took too long')

      const session = await signIn(app, newcomer)
      assertUnavailable(assert, session.response, session.body)
      assert.equal(await countUsers(app), 0, 'a user row was created during the outage')

      await entry.heal(emulator)
      await waitForRecovery(app, token, 5000)
      assert.equal(app.process.pid, pid)
      assert.equal(app.process.exitCode, null)
      const later = await signIn(app, newcomer)
      assert.equal(later.response.status, 200)
      assert.isUndefined(
        leakedIn(app.output, [emulator.appSecret, ...secretsOf(token), ...secretsOf(newcomer)])
      )
    }).timeout(20_000)
  }
})

test.group('Security | outages on a warm app', () => {
  test('Rownd down past the key refresh time: known users keep working, newcomers get 503 and no row', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await RowndEmulator.start()
    cleanup(() => emulator.close())
    const app = await startTestApp({
      emulator,
      env: {
        ROWND_TIMEOUT: `${TIMEOUT_MS}ms`,
        ROWND_KEYS_REFRESH: '1s',
        ROWND_APP_CONFIG_TTL: '1s',
        NODE_ENV: 'production',
        LOG_LEVEL: 'debug',
      },
    })
    cleanup(() => app.stop())

    // Warm: one user signs in through the session route, one through a bearer token
    const sessionUser = emulator.createUser({ email: 'session@example.com' })
    const bearerUser = emulator.createUser({ email: 'bearer@example.com' })
    const sessionToken = await emulator.mintToken({ userId: sessionUser.userId })
    const signedIn = await signIn(app, sessionToken)
    assert.equal(signedIn.response.status, 200)
    const cookie = cookiesOf(signedIn.response)
    const bearerToken = await emulator.mintToken({ userId: bearerUser.userId })
    assert.equal((await bearer(app, bearerToken)).response.status, 200)
    // Tokens issued before the outage but never seen by the app
    const unseenBearer = await emulator.mintToken({ userId: bearerUser.userId })
    const unseenSession = await emulator.mintToken({ userId: sessionUser.userId })
    const newcomer = await emulator.mintToken()
    const usersBefore = await countUsers(app)

    await emulator.stop()
    await sleep(2500) // past keysRefreshInterval and the app config TTL

    const cached = await bearer(app, bearerToken)
    assert.equal(cached.response.status, 200, JSON.stringify(cached.body))
    const unseen = await bearer(app, unseenBearer)
    assert.equal(unseen.response.status, 200, JSON.stringify(unseen.body))
    assert.equal(unseen.body.rowndUserId, bearerUser.userId)

    const viaSession = await fetch(`${app.url}/api/me`, {
      headers: { cookie, accept: 'application/json' },
    })
    assert.equal(viaSession.status, 200)
    assert.equal((await viaSession.json()).via, 'session')
    const again = await signIn(app, unseenSession, cookie)
    assert.equal(again.response.status, 200, JSON.stringify(again.body))
    assert.isFalse(again.body.should_refresh_page)
    const fresh = await signIn(app, unseenSession)
    assert.equal(fresh.response.status, 200, JSON.stringify(fresh.body))

    const started = performance.now()
    const first = await signIn(app, newcomer)
    assertUnavailable(assert, first.response, first.body)
    assert.isBelow(performance.now() - started, TIMEOUT_MS + SLACK_MS)
    const firstBearer = await bearer(app, newcomer)
    assertUnavailable(assert, firstBearer.response, firstBearer.body)
    assert.equal(await countUsers(app), usersBefore, 'the newcomer got a row during the outage')

    await emulator.restart()
    const deadline = Date.now() + 5000
    let status = 0
    while (Date.now() < deadline && status !== 200) {
      status = (await signIn(app, newcomer)).response.status
      if (status !== 200) await sleep(100)
    }
    assert.equal(status, 200)
    assert.equal(await countUsers(app), usersBefore + 1)
  }).timeout(30_000)

  test('key rotation during traffic: no validly signed token fails', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await RowndEmulator.start()
    cleanup(() => emulator.close())
    const app = await startTestApp({ emulator, env: { NODE_ENV: 'production' } })
    cleanup(() => app.stop())

    const users = Array.from({ length: 5 }, (_, i) =>
      emulator.createUser({ email: `rot${i}@example.com` })
    )
    const oldTokens = await Promise.all(users.map((u) => emulator.mintToken({ userId: u.userId })))
    for (const token of oldTokens) assert.equal((await bearer(app, token)).response.status, 200)

    const failures: string[] = []
    let sent = 0
    let rotated = false
    const newTokens: string[] = []
    const worker = async (id: number) => {
      for (let i = 0; i < 60; i++) {
        const pool = rotated && newTokens.length > 0 && i % 2 === 0 ? newTokens : oldTokens
        const token = pool[(id + i) % pool.length]
        // Fresh tokens too, so verification (not just the cache) runs
        const minted = i % 5 === 0 ? await emulator.mintToken({ userId: users[id].userId }) : token
        const { response, body } = await bearer(app, minted)
        sent++
        if (response.status !== 200) failures.push(`${response.status} ${JSON.stringify(body)}`)
      }
    }
    const rotation = (async () => {
      while (sent < 60) await sleep(5)
      await emulator.rotateKeys()
      rotated = true
      for (const user of users) newTokens.push(await emulator.mintToken({ userId: user.userId }))
    })()
    await Promise.all([...users.map((_, id) => worker(id)), rotation])

    assert.equal(sent, 300)
    assert.deepEqual(failures, [])
    assert.isAbove(emulator.requestCount('jwks'), 1, 'the rotation was never picked up')
  }).timeout(30_000)

  /*
   * The unknown-kid cooldown is global: without the rotation lane, one
   * junk-kid token right before Rownd rotates would make every token of
   * the new key fail for up to `unknownKidCooldown` (30s).
   */
  test('key rotation right after a junk-kid probe: new tokens verify', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await RowndEmulator.start()
    cleanup(() => emulator.close())
    const app = await startTestApp({ emulator, env: { NODE_ENV: 'production' } })
    cleanup(() => app.stop())
    assert.equal((await bearer(app, await emulator.mintToken())).response.status, 200)
    const probe = await bearer(app, await emulator.mintToken({ kid: 'sig-junk' }))
    assert.equal(probe.body.errors[0].code, 'E_ROWND_UNKNOWN_KEY')
    await emulator.rotateKeys()
    const fresh = await bearer(app, await emulator.mintToken())
    assert.equal(fresh.response.status, 200, JSON.stringify(fresh.body))
  }).timeout(30_000)
})
