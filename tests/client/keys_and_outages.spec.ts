import { test } from '@japa/runner'
import { hashToken } from '../../src/client/verifier.ts'
import {
  E_ROWND_API_ERROR,
  E_ROWND_BAD_SIGNATURE,
  E_ROWND_UNAVAILABLE,
  E_ROWND_UNKNOWN_KEY,
} from '../../src/errors.ts'
import type { RowndJwks } from '../../src/types.ts'
import { type EmulatorEndpoint, type EmulatorFault } from '../../src/testing/index.ts'
import { createClient, rejects, setup, startEmulator, zeroCounts } from './helpers.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Retries `fn` until it resolves (recovery happens on the client's own backoff) */
async function eventually<T>(fn: () => Promise<T>, within = 2000): Promise<T> {
  const deadline = Date.now() + within
  for (;;) {
    try {
      return await fn()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(25)
    }
  }
}

async function elapsed<T>(promise: Promise<T>): Promise<[T | unknown, number]> {
  const start = performance.now()
  const result = await promise.catch((error) => error)
  return [result, performance.now() - start]
}

test.group('RowndClient | cold start and pinning', () => {
  test('200 concurrent cold verifications cause 1 app-config and 1 JWKS request', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const tokens = await Promise.all(
      Array.from({ length: 200 }, (_, i) => emulator.mintToken({ userId: `user_${i}` }))
    )
    const verified = await Promise.all(tokens.map((token) => client.verifyToken(token)))
    assert.deepEqual(
      verified.map((token) => token.userId),
      tokens.map((_, i) => `user_${i}`)
    )
    assert.equal(emulator.requestCount('app_config'), 1)
    assert.equal(emulator.requestCount('jwks'), 1)
    assert.equal(client.stats().verifiedTokens, 200)
  })

  test('warmUp fetches once; warm verifications do no I/O', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    await Promise.all([client.warmUp(), client.warmUp()])
    assert.deepEqual(emulator.counts(), { ...zeroCounts(), app_config: 1, jwks: 1 })
    for (let i = 0; i < 20; i++) await client.verifyToken(await emulator.mintToken())
    assert.deepEqual(emulator.counts(), { ...zeroCounts(), app_config: 1, jwks: 1 })
  })

  test('a configured appId means no app-config request', async ({ assert, cleanup }) => {
    const emulator = await startEmulator(cleanup)
    const client = createClient(cleanup, emulator, { appId: emulator.appId })
    await Promise.all(
      Array.from({ length: 20 }, async () => client.verifyToken(await emulator.mintToken()))
    )
    assert.equal(emulator.requestCount('app_config'), 0)
    assert.equal(emulator.requestCount('jwks'), 1)
    assert.equal(await client.appId(), emulator.appId)
  })

  test('pinned jwks: no JWKS request, verifies with Rownd down', async ({ assert, cleanup }) => {
    const emulator = await startEmulator(cleanup)
    const client = createClient(cleanup, emulator, {
      appId: emulator.appId,
      // The emulator's JWK interface lacks RowndJwk's index signature
      jwks: emulator.jwks as RowndJwks,
    })
    await emulator.stop()
    const user = emulator.createUser()
    const verified = await client.verifyToken(await emulator.mintToken({ userId: user.userId }))
    assert.equal(verified.userId, user.userId)

    // Pinned keys never refetch: an unknown kid is a plain 401
    const unknown = await emulator.mintToken({ kid: 'sig-unknown' })
    await rejects(assert, client.verifyToken(unknown), E_ROWND_UNKNOWN_KEY, [unknown])
    const forged = await emulator.mintToken({ foreignKey: true })
    await rejects(assert, client.verifyToken(forged), E_ROWND_BAD_SIGNATURE, [forged])
    assert.deepEqual(emulator.counts(), zeroCounts())
  })

  test('a wrong app key is a typed Rownd API error, not a token error', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const client = createClient(cleanup, emulator, { appKey: 'key_wrong' })
    const token = await emulator.mintToken()
    const error = await rejects(assert, client.verifyToken(token), E_ROWND_API_ERROR, [
      token,
      emulator.appSecret,
    ])
    assert.equal(error.rowndStatus, 401)
    assert.equal(error.rowndCode, 'E_UNAUTHORIZED')
  })
})

test.group('RowndClient | unknown kid and rotation', () => {
  test('forged rotation-shaped kids refetch at most once per 5 s inside the cooldown', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, { cache: { unknownKidCooldown: '30s' } })
    await client.warmUp()
    await rejects(
      assert,
      client.verifyToken(await emulator.mintToken({ kid: 'junk' })),
      E_ROWND_UNKNOWN_KEY
    )
    emulator.resetCounts()

    // Kids shaped like Rownd's next key, none of them published
    const now = Math.floor(Date.now() / 1000)
    const forged = await Promise.all(
      Array.from({ length: 30 }, (_, i) => emulator.mintToken({ kid: `sig-${now}-${i + 7}` }))
    )
    const results = await Promise.all(
      forged.map((token) => client.verifyToken(token).catch((error) => error))
    )
    for (const error of results) assert.instanceOf(error, E_ROWND_UNKNOWN_KEY)
    assert.equal(emulator.requestCount('jwks'), 1)
    // Old-looking kids never take the rotation lane
    await rejects(
      assert,
      client.verifyToken(await emulator.mintToken({ kid: 'sig-1000000000' })),
      E_ROWND_UNKNOWN_KEY
    )
    assert.equal(emulator.requestCount('jwks'), 1)
  })

  test('50 concurrent unknown kids cause at most one refetch per cooldown', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, { cache: { unknownKidCooldown: '600ms' } })
    await client.warmUp()
    emulator.resetCounts()

    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => emulator.mintToken({ kid: `sig-unknown-${i}` }))
    )
    const results = await Promise.all(
      tokens.map((token) => client.verifyToken(token).catch((error) => error))
    )
    for (const error of results) assert.instanceOf(error, E_ROWND_UNKNOWN_KEY)
    assert.equal(emulator.requestCount('jwks'), 1)

    // Still cooling down: no fetch at all
    await rejects(
      assert,
      client.verifyToken(await emulator.mintToken({ kid: 'sig-unknown-x' })),
      E_ROWND_UNKNOWN_KEY
    )
    assert.equal(emulator.requestCount('jwks'), 1)

    await sleep(650)
    const again = await Promise.all(
      tokens.map((token) => client.verifyToken(token).catch((error) => error))
    )
    for (const error of again) assert.instanceOf(error, E_ROWND_UNKNOWN_KEY)
    assert.equal(emulator.requestCount('jwks'), 2)
    // Known keys never waited on any of this
    await client.verifyToken(await emulator.mintToken())
    assert.equal(emulator.requestCount('jwks'), 2)
  })

  test('unknown kid while the refetch fails is a 503; known keys keep serving', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    await client.warmUp()
    emulator.setFault('jwks', { kind: 'status', status: 500 })
    const token = await emulator.mintToken({ kid: 'sig-unknown' })
    const error = await rejects(assert, client.verifyToken(token), E_ROWND_UNAVAILABLE, [token])
    assert.equal(error.status, 503)
    assert.isAtLeast(error.retryAfter, 1)
    assert.isAtLeast(emulator.requestCount('jwks'), 2)

    const verified = await client.verifyToken(await emulator.mintToken({ userId: 'still_ok' }))
    assert.equal(verified.userId, 'still_ok')
  })

  test('unknown kid after a completed refetch, or while cooling down, is a 401', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, { cache: { unknownKidCooldown: '1h' } })
    await client.warmUp()
    const token = await emulator.mintToken({ kid: 'sig-unknown' })
    const error = await rejects(assert, client.verifyToken(token), E_ROWND_UNKNOWN_KEY, [token])
    assert.equal(error.status, 401)
    assert.equal(emulator.requestCount('jwks'), 2)

    // Cooling down, with Rownd failing: still a 401 and no request
    emulator.setFault('jwks', { kind: 'status', status: 500 })
    await rejects(assert, client.verifyToken(token), E_ROWND_UNKNOWN_KEY, [token])
    assert.equal(emulator.requestCount('jwks'), 2)
  })

  test('rotation: a new kid is picked up, old tokens keep verifying', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const oldToken = await emulator.mintToken({ userId: 'old_key_user' })
    await client.warmUp()
    const oldKid = emulator.currentKid

    const newKid = await emulator.rotateKeys()
    assert.notEqual(newKid, oldKid)
    const newToken = await emulator.mintToken({ userId: 'new_key_user' })
    const verifiedNew = await client.verifyToken(newToken)
    assert.equal(verifiedNew.userId, 'new_key_user')
    assert.equal(emulator.requestCount('jwks'), 2)

    const verifiedOld = await client.verifyToken(oldToken)
    assert.equal(verifiedOld.userId, 'old_key_user')
    await client.verifyToken(await emulator.mintToken({ kid: newKid }))
    assert.equal(emulator.requestCount('jwks'), 2)
  })

  test('background refresh picks up a rotation that withdraws the old key', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, {
      cache: { keysRefreshInterval: '200ms' },
    })
    await client.warmUp()
    const oldKid = emulator.currentKid
    const unseenOld = await emulator.mintToken()
    await emulator.rotateKeys({ withdrawOld: true })
    const before = emulator.requestCount('jwks')

    await sleep(450)
    const after = emulator.requestCount('jwks')
    assert.isAtLeast(after, before + 1)
    assert.isAtMost(after, before + 3)

    // Known from the background refresh, before any token asked for it
    const published = client.keys.peek()!.jwks.keys.map((key) => key.kid)
    assert.deepEqual(published, [emulator.currentKid])
    assert.notInclude(published, oldKid)
    await client.verifyToken(await emulator.mintToken())
    await rejects(assert, client.verifyToken(unseenOld), E_ROWND_UNKNOWN_KEY, [unseenOld])
  })
})

test.group('RowndClient | Rownd down', () => {
  test('warm: keeps verifying new tokens, also past the refresh interval', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, {
      cache: { keysRefreshInterval: '100ms', appConfigTtl: '100ms' },
    })
    await client.warmUp()
    await emulator.stop()

    const first = await client.verifyToken(await emulator.mintToken({ userId: 'during_outage' }))
    assert.equal(first.userId, 'during_outage')
    await sleep(400)
    const later = await client.verifyToken(await emulator.mintToken({ userId: 'still_down' }))
    assert.equal(later.userId, 'still_down')
  })

  test('warm: keys older than keysMaxStale are dropped, giving a 503', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, { cache: { keysMaxStale: '300ms' } })
    await client.warmUp()
    await emulator.stop()
    await client.verifyToken(await emulator.mintToken())

    await sleep(400)
    const token = await emulator.mintToken()
    const error = await rejects(assert, client.verifyToken(token), E_ROWND_UNAVAILABLE, [
      token,
      emulator.appSecret,
    ])
    assert.isAtLeast(error.retryAfter, 1)
  })

  test('warm: a malformed JWKS on refresh keeps the last good keys', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, { cache: { keysRefreshInterval: '100ms' } })
    await client.warmUp()
    emulator.setFault('jwks', { kind: 'malformed_jwks' })
    await sleep(350)
    assert.isAtLeast(emulator.requestCount('jwks'), 2)
    await client.verifyToken(await emulator.mintToken())
    assert.equal(client.keys.peek()!.jwks.keys[0].kid, emulator.currentKid)
  })

  test('cold: unreachable Rownd is a 503 with Retry-After, well within the timeout', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const client = createClient(cleanup, emulator)
    await emulator.stop()
    const token = await emulator.mintToken()

    const [error, ms] = await elapsed(client.verifyToken(token))
    assert.instanceOf(error, E_ROWND_UNAVAILABLE)
    const unavailable = error as InstanceType<typeof E_ROWND_UNAVAILABLE>
    assert.equal(unavailable.status, 503)
    assert.equal(unavailable.code, 'E_ROWND_UNAVAILABLE')
    assert.isAtLeast(unavailable.retryAfter, 1)
    assert.isBelow(ms, 500 + 1000)
    assert.notInclude(String(error), token)
    assert.notInclude(String(error), emulator.appSecret)

    // Calls during the backoff fail fast without waiting on Rownd
    const [second, fast] = await elapsed(client.verifyToken(token))
    assert.instanceOf(second, E_ROWND_UNAVAILABLE)
    assert.isBelow(fast, 500 + 1000)

    // Recovery without a new client once Rownd is back
    await emulator.restart()
    const verified = await eventually(() => client.verifyToken(token))
    assert.equal(verified.hash, hashToken(token))
  })

  test('cold: concurrent callers during an outage share one attempt', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup, {
      cache: { retryBase: '10s', retryMax: '10s' },
    })
    emulator.setFault('*', { kind: 'status', status: 500 })
    const tokens = await Promise.all(Array.from({ length: 50 }, () => emulator.mintToken()))
    const results = await Promise.all(
      tokens.map((token) => client.verifyToken(token).catch((error) => error))
    )
    for (const error of results) assert.instanceOf(error, E_ROWND_UNAVAILABLE)
    // The first failure answers every caller; the other fetch may still be landing
    await sleep(100)
    assert.equal(emulator.requestCount('app_config'), 1)
    assert.equal(emulator.requestCount('jwks'), 1)

    // Within the backoff: failing fast, Rownd is left alone
    const error = await rejects(assert, client.verifyToken(tokens[0]), E_ROWND_UNAVAILABLE)
    assert.isAtLeast(error.retryAfter, 9)
    assert.equal(emulator.requestCount('app_config'), 1)
    assert.equal(emulator.requestCount('jwks'), 1)
  })

  test('cold: a hanging Rownd is a 503 after the timeout', async ({ assert, cleanup }) => {
    const emulator = await startEmulator(cleanup)
    const client = createClient(cleanup, emulator, { timeout: 300 })
    emulator.setFault('*', { kind: 'hang' })
    const token = await emulator.mintToken()

    const [error, ms] = await elapsed(client.verifyToken(token))
    assert.instanceOf(error, E_ROWND_UNAVAILABLE)
    assert.isAtLeast((error as any).retryAfter, 1)
    assert.isAtLeast(ms, 250)
    assert.isBelow(ms, 1300)

    emulator.clearFaults()
    await eventually(() => client.verifyToken(token))
  })

  test('cold: 5xx, 429, resets and unusable answers are 503s, then recovery', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const cases: Array<[EmulatorEndpoint, EmulatorFault]> = [
      ['app_config', { kind: 'status', status: 500 }],
      ['jwks', { kind: 'status', status: 502 }],
      ['jwks', { kind: 'status', status: 429 }],
      ['app_config', { kind: 'malformed_json' }],
      ['jwks', { kind: 'malformed_json' }],
      ['jwks', { kind: 'malformed_jwks' }],
      ['jwks', { kind: 'malformed_jwks', body: { keys: [] } }],
      ['jwks', { kind: 'malformed_jwks', body: { keys: 'nope' } }],
      ['jwks', { kind: 'malformed_jwks', body: [emulator.jwks.keys[0]] }],
      [
        'jwks',
        {
          kind: 'malformed_jwks',
          body: { keys: [{ ...emulator.jwks.keys[0], kty: 'EC', crv: 'P-256' }] },
        },
      ],
      ['app_config', { kind: 'malformed_jwks', body: { app: { id: 42 } } }],
      ['app_config', { kind: 'malformed_jwks', body: [] }],
      ['jwks', { kind: 'reset' }],
      ['app_config', { kind: 'reset' }],
    ]
    for (const [endpoint, fault] of cases) {
      const client = createClient(cleanup, emulator)
      emulator.setFault(endpoint, fault)
      const token = await emulator.mintToken()
      const label = `${endpoint} ${JSON.stringify(fault)}`
      const error: any = await client.verifyToken(token).catch((caught) => caught)
      assert.instanceOf(error, E_ROWND_UNAVAILABLE, label)
      assert.equal(error.status, 503, label)
      assert.isAtLeast(error.retryAfter, 1, label)
      assert.notInclude(String(error), token)

      emulator.clearFaults()
      const verified = await eventually(() => client.verifyToken(token))
      assert.equal(verified.hash, hashToken(token), label)
      await client.close()
    }
  })
})
