import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { dbKind, startTestApp, type TestApp } from '../helpers/test_app.ts'
import {
  countUsers,
  errorCode,
  getWithBearer,
  seedUser,
  sessionSignIn,
  userRows,
} from '../helpers/db.ts'

/**
 * The Lucid user provider on a real database: the lane is chosen by
 * DB_CONNECTION (sqlite by default, pg, mysql). Everything goes through the
 * test app over HTTP; rows are checked with a separate connection.
 */
test.group(`Database (${dbKind()}) | exactly one row per Rownd user`, (group) => {
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

  test('100 concurrent first requests with one new token leave one row', async ({ assert }) => {
    const user = emulator.createUser({ email: 'burst@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const responses = await Promise.all(
      Array.from({ length: 100 }, () => getWithBearer(app, '/api/me', token))
    )

    assert.deepEqual(
      responses.map((r) => r.status),
      Array(100).fill(200),
      JSON.stringify(responses.find((r) => r.status !== 200)?.body)
    )
    const rows = await userRows(app.db, { rownd_user_id: user.userId })
    assert.lengthOf(rows, 1)
    assert.isTrue(responses.every((r) => r.body.id === rows[0].id))
    assert.isTrue(responses.every((r) => r.body.rowndUserId === user.userId))
    assert.equal(await countUsers(app.db, { email: 'burst@example.com' }), 1)
    // Single-flight: one profile fetch served every first request
    assert.equal(emulator.requestCount('user_get'), 1)
    assert.notMatch(app.output.join('\n'), /SQLITE_BUSY|database is locked|deadlock/i)
  }).timeout(60_000)

  test('20 concurrent session sign-ins of one new user leave one row', async ({ assert }) => {
    const user = emulator.createUser({ email: 'signins@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const responses = await Promise.all(Array.from({ length: 20 }, () => sessionSignIn(app, token)))

    for (const response of responses) {
      assert.equal(response.status, 200, JSON.stringify(response.body))
      assert.equal(response.body.message, 'Successfully authenticated')
      assert.match(response.headers.get('set-cookie') ?? '', /adonis-session|session/)
    }
    const rows = await userRows(app.db, { rownd_user_id: user.userId })
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].email, 'signins@example.com')
  }).timeout(60_000)

  test('two users racing never get each other row', async ({ assert }) => {
    const alice = emulator.createUser({ email: 'race-a@example.com' })
    const bob = emulator.createUser({ email: 'race-b@example.com' })
    const tokens = {
      [alice.userId]: await emulator.mintToken({ userId: alice.userId }),
      [bob.userId]: await emulator.mintToken({ userId: bob.userId }),
    }
    // 50 requests, interleaved A B A B ..., alternating the two entry points
    const plan = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? alice : bob))

    const responses = await Promise.all(
      plan.map((user, i) =>
        i % 4 < 2
          ? getWithBearer(app, '/api/me', tokens[user.userId])
          : sessionSignIn(app, tokens[user.userId])
      )
    )

    const rowA = await userRows(app.db, { rownd_user_id: alice.userId })
    const rowB = await userRows(app.db, { rownd_user_id: bob.userId })
    assert.lengthOf(rowA, 1)
    assert.lengthOf(rowB, 1)
    assert.notEqual(rowA[0].id, rowB[0].id)
    assert.equal(rowA[0].email, 'race-a@example.com')
    assert.equal(rowB[0].email, 'race-b@example.com')

    responses.forEach((response, i) => {
      assert.equal(response.status, 200, JSON.stringify(response.body))
      if (i % 4 >= 2) return // session sign-in answers do not carry the user
      const expected = plan[i].userId === alice.userId ? rowA[0] : rowB[0]
      assert.equal(response.body.rowndUserId, plan[i].userId)
      assert.equal(response.body.tokenUserId, plan[i].userId)
      assert.equal(response.body.id, expected.id)
      assert.equal(response.body.email, expected.email)
    })
  }).timeout(60_000)

  test('a created user has the mapped fields and unmapped columns keep their default', async ({
    assert,
  }) => {
    const user = emulator.createUser({
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
    })
    const token = await emulator.mintToken({ userId: user.userId })

    const response = await getWithBearer(app, '/api/me', token)

    assert.equal(response.status, 200)
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.email, 'ada@example.com')
    assert.equal(row.first_name, 'Ada')
    assert.equal(row.last_name, 'Lovelace')
    assert.equal(row.full_name, 'Ada Lovelace')
    assert.equal(row.role, 'member')
    assert.equal(response.body.id, row.id)

    // A later session sign-in syncs mapped fields only: role stays as the app set it
    await app.db('users').where('id', row.id).update({ role: 'admin', first_name: 'Changed' })
    const signIn = await sessionSignIn(app, token)
    assert.equal(signIn.status, 200)
    const [synced] = await userRows(app.db, { id: row.id })
    assert.equal(synced.first_name, 'Ada')
    assert.equal(synced.role, 'admin')
    assert.equal(synced.rownd_user_id, user.userId)
  })
})

test.group(`Database (${dbKind()}) | two app processes on one database`, (group) => {
  let emulator: RowndEmulator
  let first: TestApp
  let second: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    first = await startTestApp({ emulator })
    second = await startTestApp({
      emulator,
      keepDatabase: true,
      sqliteFile: first.sqliteFile,
    })
    return async () => {
      await second.stop()
      await first.stop()
      await emulator.close()
    }
  })

  test('first requests split over two processes leave one row', async ({ assert }) => {
    const user = emulator.createUser({ email: 'Two-Procs@example.com', firstName: 'Two' })
    const token = await emulator.mintToken({ userId: user.userId })

    // In-process single-flight cannot help here: the unique index decides
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 0
          ? sessionSignIn(i % 2 ? first : second, token)
          : getWithBearer(i % 2 ? first : second, '/api/me', token)
      )
    )

    assert.deepEqual(
      responses.map((r) => r.status),
      Array(60).fill(200),
      JSON.stringify(responses.find((r) => r.status !== 200)?.body)
    )
    const rows = await userRows(first.db, { rownd_user_id: user.userId })
    assert.lengthOf(rows, 1)
    const ids = new Set(responses.filter((r) => r.body.id !== undefined).map((r) => r.body.id))
    assert.deepEqual([...ids], [rows[0].id])
    const logs = [...first.output, ...second.output].join('\n')
    assert.notMatch(logs, /SQLITE_BUSY|database is locked|deadlock/i)
  }).timeout(60_000)

  test('linking split over two processes links once', async ({ assert }) => {
    const seeded = await seedUser(first.db, { email: 'two-procs-LINK@example.com' })
    const user = emulator.createUser({ email: 'Two-Procs-Link@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => getWithBearer(i % 2 ? first : second, '/api/me', token))
    )

    assert.deepEqual(
      responses.map((r) => r.status),
      Array(20).fill(200),
      JSON.stringify(responses.find((r) => r.status !== 200)?.body)
    )
    assert.isTrue(responses.every((r) => r.body.id === seeded.id))
    const rows = await userRows(first.db, { rownd_user_id: user.userId })
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].id, seeded.id)
  }).timeout(60_000)
})

test.group(`Database (${dbKind()}) | linking by email`, (group) => {
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

  test('a verified email links the existing row whatever its case', async ({ assert }) => {
    const seeded = await seedUser(app.db, { email: 'Alice@Example.COM', role: 'owner' })
    const user = emulator.createUser({ email: 'alice@example.com', firstName: 'Alice' })
    const token = await emulator.mintToken({ userId: user.userId })

    const response = await getWithBearer(app, '/api/me', token)

    assert.equal(response.status, 200, JSON.stringify(response.body))
    assert.equal(response.body.id, seeded.id)
    assert.equal(response.body.rowndUserId, user.userId)
    const rows = await app.db('users').whereRaw('LOWER(email) = ?', ['alice@example.com'])
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].id, seeded.id)
    assert.equal(rows[0].rownd_user_id, user.userId)
    assert.equal(rows[0].role, 'owner')
    assert.equal(await countUsers(app.db, { rownd_user_id: user.userId }), 1)
  })

  test('concurrent first requests link one row once', async ({ assert }) => {
    const seeded = await seedUser(app.db, { email: 'LINK-RACE@example.com' })
    const user = emulator.createUser({ email: 'link-race@EXAMPLE.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const responses = await Promise.all([
      ...Array.from({ length: 10 }, () => getWithBearer(app, '/api/me', token)),
      ...Array.from({ length: 10 }, () => sessionSignIn(app, token)),
    ])

    assert.deepEqual(
      responses.map((r) => r.status),
      Array(20).fill(200)
    )
    const rows = await userRows(app.db, { rownd_user_id: user.userId })
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].id, seeded.id)
    assert.equal(
      await app
        .db('users')
        .whereRaw('LOWER(email) = ?', ['link-race@example.com'])
        .count('* as n')
        .then(([r]) => Number(r.n)),
      1
    )
  })

  test('an unverified email colliding with a row is refused and nothing is written', async ({
    assert,
  }) => {
    const seeded = await seedUser(app.db, { email: 'Victim@Example.com' })
    const user = emulator.createUser({ email: 'victim@example.com', emailVerified: false })
    const token = await emulator.mintToken({ userId: user.userId })

    for (const response of [
      await getWithBearer(app, '/api/me', token),
      await sessionSignIn(app, token),
    ]) {
      assert.equal(response.status, 409)
      assert.equal(errorCode(response), 'E_ROWND_ACCOUNT_CONFLICT')
    }
    const [row] = await userRows(app.db, { id: seeded.id })
    assert.deepEqual(row, seeded)
    assert.equal(await countUsers(app.db, { rownd_user_id: user.userId }), 0)
    assert.equal(
      await app
        .db('users')
        .whereRaw('LOWER(email) = ?', ['victim@example.com'])
        .count('* as n')
        .then(([r]) => Number(r.n)),
      1
    )
  })

  test('a verified email already linked to another Rownd user is refused', async ({ assert }) => {
    const owner = emulator.createUser({ email: 'taken@example.com' })
    const first = await getWithBearer(
      app,
      '/api/me',
      await emulator.mintToken({ userId: owner.userId })
    )
    assert.equal(first.status, 200)
    const other = emulator.createUser({ email: 'TAKEN@example.com' })

    const response = await getWithBearer(
      app,
      '/api/me',
      await emulator.mintToken({ userId: other.userId })
    )

    assert.equal(response.status, 409)
    assert.equal(errorCode(response), 'E_ROWND_ACCOUNT_CONFLICT')
    assert.equal(await countUsers(app.db, { rownd_user_id: other.userId }), 0)
    const [row] = await userRows(app.db, { rownd_user_id: owner.userId })
    assert.equal(row.id, first.body.id)
  })

  test('with linking off, an email collision in any case is refused and nothing is written', async ({
    assert,
  }) => {
    const seeded = await seedUser(app.db, { email: 'NoLink@Example.com' })
    const user = emulator.createUser({ email: 'nolink@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const response = await getWithBearer(app, '/api/nolink', token)

    assert.equal(response.status, 409, JSON.stringify(response.body))
    assert.equal(errorCode(response), 'E_ROWND_ACCOUNT_CONFLICT')
    const [row] = await userRows(app.db, { id: seeded.id })
    assert.deepEqual(row, seeded)
    assert.equal(await countUsers(app.db, { rownd_user_id: user.userId }), 0)
  })

  test('with linking off, a new email creates the user', async ({ assert }) => {
    const user = emulator.createUser({ email: 'fresh-nolink@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const response = await getWithBearer(app, '/api/nolink', token)

    assert.equal(response.status, 200, JSON.stringify(response.body))
    const rows = await userRows(app.db, { rownd_user_id: user.userId })
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].email, 'fresh-nolink@example.com')
  })

  test('with creation off, an unknown user gets 401 and no row', async ({ assert }) => {
    const user = emulator.createUser({ email: 'nocreate@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    const before = await countUsers(app.db)

    const response = await getWithBearer(app, '/api/nocreate', token)

    assert.equal(response.status, 401)
    assert.equal(errorCode(response), 'E_ROWND_USER_NOT_FOUND')
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/)
    assert.equal(await countUsers(app.db), before)
    assert.equal(await countUsers(app.db, { email: 'nocreate@example.com' }), 0)
  })

  test('a synced email never lands on a second row, whatever its case', async ({ assert }) => {
    const other = await seedUser(app.db, { email: 'Sync-Target@Example.com' })
    const user = emulator.createUser({ email: 'sync-target@example.com', firstName: 'Synced' })
    // The row exists already (an earlier sign-in), under an older email
    const mine = await seedUser(app.db, {
      email: 'sync-old@example.com',
      rownd_user_id: user.userId,
    })
    const token = await emulator.mintToken({ userId: user.userId })

    const response = await sessionSignIn(app, token)

    assert.equal(response.status, 200, JSON.stringify(response.body))
    const [row] = await userRows(app.db, { id: mine.id })
    assert.equal(row.email, 'sync-old@example.com')
    assert.equal(row.first_name, 'Synced')
    assert.deepEqual((await userRows(app.db, { id: other.id }))[0], other)
  })

  test('with creation off, a verified email still links', async ({ assert }) => {
    const seeded = await seedUser(app.db, { email: 'Existing-NoCreate@example.com' })
    const user = emulator.createUser({ email: 'existing-nocreate@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })

    const response = await getWithBearer(app, '/api/nocreate', token)

    assert.equal(response.status, 200, JSON.stringify(response.body))
    assert.equal(response.body.id, seeded.id)
    const [row] = await userRows(app.db, { id: seeded.id })
    assert.equal(row.rownd_user_id, user.userId)
  })
})

test.group(`Database (${dbKind()}) | Rownd failing mid sign-in`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    // A short timeout keeps the hanging-profile case quick
    app = await startTestApp({ emulator, env: { ROWND_TIMEOUT: '500ms' } })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  group.each.teardown(() => emulator.clearFaults())

  test('profile fetch failing with {0} leaves no row; a retry creates exactly one')
    .with([
      { kind: 'status', status: 500 } as const,
      { kind: 'reset' } as const,
      { kind: 'hang' } as const,
    ])
    .run(async ({ assert }, fault) => {
      const user = emulator.createUser({ email: `outage-${fault.kind}@example.com` })
      const token = await emulator.mintToken({ userId: user.userId })
      emulator.setFault('user_get', fault)

      const responses = await Promise.all([
        getWithBearer(app, '/api/me', token),
        getWithBearer(app, '/api/me', token),
        sessionSignIn(app, token),
      ])

      for (const response of responses) {
        assert.equal(response.status, 503, JSON.stringify(response.body))
        assert.equal(errorCode(response), 'E_ROWND_UNAVAILABLE')
        assert.match(response.headers.get('retry-after') ?? '', /^\d+$/)
      }
      assert.equal(await countUsers(app.db, { rownd_user_id: user.userId }), 0)
      assert.equal(await countUsers(app.db, { email: `outage-${fault.kind}@example.com` }), 0)

      emulator.clearFaults()
      const retry = await getWithBearer(app, '/api/me', token)
      assert.equal(retry.status, 200, JSON.stringify(retry.body))
      const again = await sessionSignIn(app, token)
      assert.equal(again.status, 200)
      const rows = await userRows(app.db, { rownd_user_id: user.userId })
      assert.lengthOf(rows, 1)
      assert.equal(rows[0].email, `outage-${fault.kind}@example.com`)
    })
    .timeout(20_000)
})
