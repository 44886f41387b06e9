import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { dbKind, startTestApp, type TestApp } from '../helpers/test_app.ts'
import { bearer, CookieJar, signIn } from '../helpers/http.ts'
import { countUsers, seedUser, userRows } from '../helpers/db.ts'

const SECRET = 'whsec-test_0123456789abcdef'
const JSON_ACCEPT = { accept: 'application/json' }
/** Issued before the revocation's second (`iat` counts whole seconds) */
const earlier = () => Math.floor(Date.now() / 1000) - 30

type Events = Array<Record<string, any>>

async function events(app: TestApp): Promise<Events> {
  return (await fetch(`${app.url}/_test/events`)).json()
}

async function resetEvents(app: TestApp) {
  await fetch(`${app.url}/_test/events/reset`, { method: 'POST' })
}

/** A raw delivery to the app, as Rownd's connector (or anyone) would send it */
function deliver(
  app: TestApp,
  path: string,
  body: unknown,
  init: { method?: string; headers?: Record<string, string> } = {}
) {
  return fetch(`${app.url}${path}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

/** A user with a row, signed in once through a session, with a warm bearer token */
async function signedInUser(emulator: RowndEmulator, app: TestApp, email: string) {
  const user = emulator.createUser({ email, firstName: 'Ada', lastName: 'Lovelace' })
  await emulator.webhooks.settled()
  const token = await emulator.mintToken({ userId: user.userId, issuedAt: earlier() })
  const jar = new CookieJar()
  assert200((await signIn(jar, app.url, token)).status)
  assert200((await fetch(`${app.url}/api/me`, { headers: bearer(token) })).status)
  return { user, token, jar }
}

function assert200(status: number) {
  if (status !== 200) throw new Error(`expected 200, got ${status}`)
}

const me = (app: TestApp, auth: { token?: string; jar?: CookieJar }) =>
  auth.jar
    ? auth.jar.fetch(`${app.url}/api/me`, { headers: JSON_ACCEPT })
    : fetch(`${app.url}/api/me`, { headers: bearer(auth.token!) })

test.group(`webhooks (${dbKind()}) | Rownd's connector calling the app`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startTestApp({
      emulator,
      env: { ROWND_WEBHOOK_SECRET: SECRET, ROWND_WEBHOOK_MAX_BODY: '4kb' },
    })
    emulator.webhooks.configure({ url: `${app.url}/rownd/webhooks/${SECRET}`, method: 'POST' })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  group.each.setup(async () => {
    emulator.clearFaults()
    await emulator.webhooks.settled()
    emulator.webhooks.configure({ url: `${app.url}/rownd/webhooks/${SECRET}`, method: 'POST' })
    await emulator.webhooks.release()
    await resetEvents(app)
  })

  test('data_insert of a user with no row is a no-op answered like any other', async ({
    assert,
  }) => {
    const before = await countUsers(app.db)
    const user = emulator.createUser({ email: 'newcomer@example.com' })
    await emulator.webhooks.settled()
    const [delivery] = emulator.webhooks.of(user.userId)
    assert.equal(delivery.operation, 'data_insert')
    assert.equal(delivery.status, 200)
    assert.deepEqual(JSON.parse(delivery.response!), { received: true })
    // Shaped as Rownd documents it
    assert.deepEqual(delivery.payload.meta, {
      operation: 'data_insert',
      lookup_values: [{ field: 'email', value: 'newcomer@example.com' }],
    })
    assert.deepEqual(delivery.payload.redacted, [])
    assert.equal(await countUsers(app.db), before, 'nothing is created from a delivery')
    const received = (await events(app)).filter((e) => e.event === 'rownd_auth:webhook_received')
    assert.deepEqual(
      received.map((e) => [e.operation, e.outcome, e.rowndUserId]),
      [['data_insert', 'unknown', user.userId]]
    )
  })

  test('data_update syncs mapped fields from the users API, and refreshes the cached profile', async ({
    assert,
  }) => {
    const { user, token } = await signedInUser(emulator, app, 'juliet@example.com')
    // The profile is cached by the app now
    const cached = await (await fetch(`${app.url}/api/profile`, { headers: bearer(token) })).json()
    assert.equal(cached.profile.data.first_name, 'Ada')
    await resetEvents(app)

    emulator.updateUser(user.userId, { first_name: 'Juliet', last_name: 'Rose' })
    await emulator.webhooks.settled()
    const delivery = emulator.webhooks.of(user.userId).at(-1)!
    assert.equal(delivery.operation, 'data_update')
    assert.equal(delivery.status, 200)

    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Juliet')
    assert.equal(row.last_name, 'Rose')
    assert.equal(row.full_name, 'Juliet Rose')
    assert.equal(row.role, 'member', 'unmapped columns are never touched')
    const profile = await (await fetch(`${app.url}/api/profile`, { headers: bearer(token) })).json()
    assert.equal(profile.profile.data.first_name, 'Juliet')

    const recorded = await events(app)
    const synced = recorded.find((e) => e.event === 'rownd_auth:user_synced')
    assert.equal(synced?.source, 'webhook')
    assert.sameMembers(synced?.changed, ['firstName', 'lastName', 'fullName'])
    assert.deepEqual(
      recorded
        .filter((e) => e.event === 'rownd_auth:webhook_received')
        .map((e) => [e.operation, e.outcome]),
      [['data_update', 'synced']]
    )
  })

  test('visibility_update: a redacted value in the payload is never written', async ({
    assert,
  }) => {
    const { user } = await signedInUser(emulator, app, 'visible@example.com')
    const delivery = await emulator.webhooks.deliver('visibility_update', user, {
      redacted: ['first_name'],
    })
    assert.equal((delivery.payload.data as any).first_name, '<<REDACTED>>')
    assert.deepEqual(delivery.payload.redacted, ['first_name'])
    assert.equal(delivery.status, 200)
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Ada')
  })

  test("a forged payload changes nothing: only Rownd's users API is believed", async ({
    assert,
  }) => {
    const { user } = await signedInUser(emulator, app, 'target@example.com')
    // A row nobody linked yet, and a Rownd user whose address is unverified
    const victim = await seedUser(app.db, { email: 'victim@example.com', role: 'admin' })
    const squatter = emulator.createUser({ email: 'victim@example.com', emailVerified: false })
    const stranger = 'user_never_in_rownd'
    const before = await countUsers(app.db)

    const forged = [
      // Rewrites a known user's name and email
      {
        data: { user_id: user.userId, email: 'victim@example.com', first_name: 'Mallory' },
        meta: { operation: 'data_update' },
      },
      // Claims the squatter verified the victim's address
      {
        data: { user_id: squatter.userId, email: 'victim@example.com' },
        meta: {
          operation: 'data_insert',
          lookup_values: [{ field: 'email', value: 'victim@example.com' }],
        },
      },
      // A user Rownd never had
      {
        data: { user_id: stranger, email: 'victim@example.com' },
        meta: { operation: 'data_insert' },
      },
    ]
    for (const payload of forged) {
      const response = await emulator.webhooks.sendPayload(payload)
      assert.equal(response.status, 200)
    }

    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Ada')
    assert.equal(row.email, 'target@example.com')
    const [untouched] = await userRows(app.db, { id: victim.id })
    assert.isNull(untouched.rownd_user_id)
    assert.equal(untouched.role, 'admin')
    assert.equal(await countUsers(app.db), before)
    assert.lengthOf(await userRows(app.db, { rownd_user_id: squatter.userId }), 0)
  })

  test('replayed deliveries converge on Rownd: the row ends as Rownd has it', async ({
    assert,
  }) => {
    const { user } = await signedInUser(emulator, app, 'replay@example.com')
    emulator.updateUser(user.userId, { first_name: 'Grace' })
    emulator.updateUser(user.userId, { first_name: 'Hedy' })
    await emulator.webhooks.settled()
    const [grace] = emulator.webhooks
      .of(user.userId)
      .filter((delivery) => (delivery.payload.data as any).first_name === 'Grace')
    // The older delivery (first_name Grace) replayed, three times
    for (let i = 0; i < 3; i++) {
      assert.equal((await emulator.webhooks.replay(grace)).status, 200)
    }
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Hedy')
    assert.equal(grace.attempts, 4)
  })

  test('reordered deliveries converge on Rownd too', async ({ assert }) => {
    const { user } = await signedInUser(emulator, app, 'reorder@example.com')
    emulator.webhooks.hold()
    emulator.updateUser(user.userId, { first_name: 'First' })
    emulator.updateUser(user.userId, { first_name: 'Second' })
    emulator.updateUser(user.userId, { first_name: 'Third' })
    await emulator.webhooks.release('reversed')
    const sent = emulator.webhooks.of(user.userId).filter((d) => d.operation === 'data_update')
    assert.deepEqual(
      sent.map((d) => d.status),
      [200, 200, 200]
    )
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Third')
  })

  test('delete: sessions and warm tokens are refused at once; the row is detached (default)', async ({
    assert,
  }) => {
    const { user, token, jar } = await signedInUser(emulator, app, 'leaving@example.com')
    const [before] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal((await me(app, { token })).status, 200)
    assert.equal((await me(app, { jar })).status, 200)

    emulator.deleteUser(user.userId)
    await emulator.webhooks.settled()
    const delivery = emulator.webhooks.of(user.userId).at(-1)!
    assert.equal(delivery.operation, 'delete')
    assert.deepEqual(delivery.payload.data, { user_id: user.userId })
    assert.equal(delivery.status, 200)

    const refused = await me(app, { token })
    assert.equal(refused.status, 401)
    assert.equal((await refused.json()).errors[0].code, 'E_ROWND_TOKEN_REVOKED')
    assert.equal((await me(app, { jar })).status, 401)
    const [row] = await userRows(app.db, { id: before.id })
    assert.isNull(row.rownd_user_id, 'detached')
    assert.equal(row.email, 'leaving@example.com', 'the row and its data stay')

    const deleted = (await events(app)).find((e) => e.event === 'rownd_auth:user_deleted')
    assert.deepEqual([deleted?.policy, deleted?.source], ['detach', 'webhook'])
  })

  test('a late data_update (or a replayed data_insert) after a delete never recreates the row', async ({
    assert,
  }) => {
    const { user } = await signedInUser(emulator, app, 'late@example.com')
    const [before] = await userRows(app.db, { rownd_user_id: user.userId })
    const count = await countUsers(app.db)
    emulator.webhooks.hold()
    emulator.updateUser(user.userId, { first_name: 'Late' })
    emulator.deleteUser(user.userId)
    // The delete arrives first, the update after it
    await emulator.webhooks.release('reversed')
    const sent = emulator.webhooks.of(user.userId)
    assert.deepEqual(
      sent.slice(-2).map((d) => [d.operation, d.status]),
      [
        ['data_update', 200],
        ['delete', 200],
      ]
    )
    // And the insert of long ago, replayed
    const insert = sent.find((d) => d.operation === 'data_insert')!
    assert.equal((await emulator.webhooks.replay(insert)).status, 200)

    assert.equal(await countUsers(app.db), count)
    assert.lengthOf(await userRows(app.db, { rownd_user_id: user.userId }), 0)
    const [row] = await userRows(app.db, { id: before.id })
    assert.equal(row.first_name, 'Ada', 'the late update was not applied from its payload')
  })

  test('wrong or missing secret: 404 before anything is read or changed', async ({ assert }) => {
    const { user } = await signedInUser(emulator, app, 'guarded@example.com')
    const calls = emulator.requestCount('user_get')
    const payload = { data: { user_id: user.userId }, meta: { operation: 'delete' } }
    // Gone in Rownd, but no delivery of ours: only the requests below could act on it
    emulator.webhooks.configure(null)
    emulator.deleteUser(user.userId)
    await resetEvents(app)

    for (const path of [
      `/rownd/webhooks/${SECRET.slice(0, -1)}x`,
      `/rownd/webhooks/${SECRET}x`,
      `/rownd/webhooks/${SECRET.slice(0, 16)}`,
      '/rownd/webhooks',
      '/rownd/webhooks/',
      `/rownd/webhooks/${SECRET.toUpperCase()}`,
    ]) {
      const response = await deliver(app, path, payload)
      assert.equal(response.status, 404, path)
      assert.notInclude(await response.text(), SECRET)
    }
    // Right secret in a header does not count in path mode
    const header = await deliver(app, '/rownd/webhooks', payload, {
      headers: { 'x-rownd-webhook-secret': SECRET },
    })
    assert.equal(header.status, 404)

    assert.equal(emulator.requestCount('user_get'), calls, 'Rownd was not called')
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.isDefined(row, 'still linked')
    assert.equal((await events(app)).filter((e) => e.event.includes('webhook')).length, 0)
  })

  test('PUT and PATCH are accepted (the dashboard picks the method); GET gets 405', async ({
    assert,
  }) => {
    const { user } = await signedInUser(emulator, app, 'methods@example.com')
    for (const [method, name] of [
      ['PUT', 'Put'],
      ['PATCH', 'Patch'],
    ] as const) {
      emulator.webhooks.configure({ url: `${app.url}/rownd/webhooks/${SECRET}`, method })
      emulator.updateUser(user.userId, { first_name: name })
      await emulator.webhooks.settled()
      assert.equal(emulator.webhooks.of(user.userId).at(-1)!.status, 200, method)
      const [row] = await userRows(app.db, { rownd_user_id: user.userId })
      assert.equal(row.first_name, name)
    }
    const get = await fetch(`${app.url}/rownd/webhooks/${SECRET}`)
    assert.equal(get.status, 405)
    assert.equal(get.headers.get('allow'), 'POST, PUT, PATCH')
    const wrongGet = await fetch(`${app.url}/rownd/webhooks/nope`)
    assert.equal(wrongGet.status, 404)
  })

  test('hostile bodies get a 4xx, never a 500, and change nothing', async ({ assert }) => {
    const { user } = await signedInUser(emulator, app, 'hostile@example.com')
    const path = `/rownd/webhooks/${SECRET}`
    const deleteOf = (userId: unknown) => ({
      data: { user_id: userId },
      meta: { operation: 'delete' },
    })
    // Gone in Rownd: any request below that got through would detach the row
    emulator.webhooks.configure(null)
    emulator.deleteUser(user.userId)

    const json = JSON.stringify(deleteOf(user.userId))
    // Bodies the app's body parser refuses itself (any 4xx of its choosing) are marked 0
    const cases: Array<[string, RequestInit, number]> = [
      [
        'form body',
        {
          body: `data[user_id]=${user.userId}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        415,
      ],
      ['text body', { body: json, headers: { 'content-type': 'text/plain' } }, 415],
      // A Blob without a type: fetch sends no Content-Type at all
      ['no content type', { body: new Blob([json]), headers: { 'content-type': '' } }, 415],
      [
        'over maxBodySize',
        { body: JSON.stringify({ ...deleteOf(user.userId), pad: 'x'.repeat(5000) }) },
        413,
      ],
      ['not JSON', { body: '{"data": {"user_id": ' }, 0],
      ['JSON array', { body: JSON.stringify([deleteOf(user.userId)]) }, 400],
      ['JSON string', { body: JSON.stringify('delete') }, 0],
      ['empty body', { body: '' }, 400],
      ['no data', { body: JSON.stringify({ meta: { operation: 'delete' } }) }, 400],
      ['data array', { body: JSON.stringify({ data: [user.userId] }) }, 400],
      ['user_id number', { body: JSON.stringify(deleteOf(42)) }, 400],
      ['user_id object', { body: JSON.stringify(deleteOf({ $ne: null })) }, 400],
      ['user_id empty', { body: JSON.stringify(deleteOf('')) }, 400],
      ['user_id NUL', { body: JSON.stringify(deleteOf(`${user.userId}\u0000`)) }, 400],
      ['user_id too long', { body: JSON.stringify(deleteOf('u'.repeat(256))) }, 400],
      ['user_id with space', { body: JSON.stringify(deleteOf(`${user.userId} `)) }, 400],
      ['__proto__ data', { body: '{"__proto__": {"user_id": "x"}, "data": null}' }, 400],
    ]
    for (const [label, init, status] of cases) {
      const headers = new Headers({
        'content-type': 'application/json',
        ...(init.headers as object),
      })
      if (headers.get('content-type') === '') headers.delete('content-type')
      const response = await fetch(`${app.url}${path}`, { method: 'POST', ...init, headers })
      if (status === 0) assert.isTrue(response.status >= 400 && response.status < 500, label)
      else assert.equal(response.status, status, label)
    }
    // Unknown or odd but well-formed ids: answered as any delivery, nothing happens
    for (const userId of ['user_unknown', '.', '..', '%2e%2e', 'a/b', "x'--"]) {
      const response = await deliver(app, path, deleteOf(userId))
      assert.equal(response.status, 200, userId)
    }
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.isDefined(row, 'nothing was acted on')
  })

  test('Rownd unreachable: 503 with Retry-After so Rownd retries; the retry applies the change', async ({
    assert,
  }) => {
    const { user } = await signedInUser(emulator, app, 'outage@example.com')
    emulator.setFault('user_get', { kind: 'status', status: 503 })
    emulator.updateUser(user.userId, { first_name: 'During' })
    await emulator.webhooks.settled()
    const delivery = emulator.webhooks.of(user.userId).at(-1)!
    assert.equal(delivery.status, 503)
    assert.match(delivery.headers!['retry-after'], /^\d+$/)
    let [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Ada')

    emulator.setFault('user_get', { kind: 'reset' })
    assert.equal((await emulator.webhooks.replay(delivery)).status, 503)

    // A delete while Rownd cannot confirm it: nothing is revoked or detached
    emulator.setFault('user_get', { kind: 'hang' })
    const hung = await emulator.webhooks.sendPayload({
      data: { user_id: user.userId },
      meta: { operation: 'delete' },
    })
    assert.equal(hung.status, 503)
    ;[row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.isDefined(row)

    emulator.clearFaults()
    assert.equal((await emulator.webhooks.replay(delivery)).status, 200)
    ;[row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'During')
  }).timeout(20_000)

  test("exempt from shield's CSRF check by its route pattern", async ({ assert }) => {
    const { user } = await signedInUser(emulator, app, 'csrf@example.com')
    // CSRF is enforced under /csrf/: a session route there is refused without a token
    const refused = await fetch(`${app.url}/csrf/rownd/session_sign_out`, {
      method: 'POST',
      headers: JSON_ACCEPT,
      redirect: 'manual',
    })
    // Shield answers E_BAD_CSRF_TOKEN its own way (a redirect back)
    assert.notEqual(refused.status, 200)
    emulator.webhooks.configure({ url: `${app.url}/csrf/rownd/webhooks/${SECRET}` })
    emulator.updateUser(user.userId, { first_name: 'Exempt' })
    await emulator.webhooks.settled()
    assert.equal(emulator.webhooks.of(user.userId).at(-1)!.status, 200)
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Exempt')
  })

  test('an API-only registration (no session routes) serves the webhook, without a session', async ({
    assert,
  }) => {
    const { user } = await signedInUser(emulator, app, 'apionly@example.com')
    assert.equal(
      (await fetch(`${app.url}/api_only/rownd/session_authenticate`, { method: 'POST' })).status,
      404
    )
    emulator.webhooks.configure({ url: `${app.url}/api_only/rownd/webhooks/${SECRET}` })
    emulator.updateUser(user.userId, { first_name: 'Api' })
    await emulator.webhooks.settled()
    const delivery = emulator.webhooks.of(user.userId).at(-1)!
    assert.equal(delivery.status, 200)
    assert.notProperty(delivery.headers!, 'set-cookie')
    const [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Api')
  })

  test('the logs hold neither the secret nor payload data', async ({ assert }) => {
    const logs = app.output.join('\n')
    assert.notInclude(logs, SECRET)
    assert.notInclude(logs, 'victim@example.com')
    assert.notInclude(logs, 'Mallory')
  })
})

for (const policy of ['delete', 'keep', 'custom'] as const) {
  test.group(`webhooks (${dbKind()}) | onUserDeleted: '${policy}'`, (group) => {
    let emulator: RowndEmulator
    let app: TestApp

    group.setup(async () => {
      emulator = await RowndEmulator.start()
      app = await startTestApp({
        emulator,
        env: { ROWND_WEBHOOK_SECRET: SECRET, ROWND_ON_USER_DELETED: policy },
      })
      emulator.webhooks.configure({ url: `${app.url}/rownd/webhooks/${SECRET}` })
      return async () => {
        await app.stop()
        await emulator.close()
      }
    })

    test('revokes first, then applies the policy; replays change nothing more', async ({
      assert,
    }) => {
      const { user, token, jar } = await signedInUser(emulator, app, `${policy}@example.com`)
      const [before] = await userRows(app.db, { rownd_user_id: user.userId })
      // A row the user owns in another table goes with it under 'delete' (FK cascade)
      await fetch(`${app.url}/_test/api_token/${before.id}`, { method: 'POST' })
      await resetEvents(app)
      emulator.deleteUser(user.userId)
      await emulator.webhooks.settled()
      const [delivery] = emulator.webhooks.of(user.userId).filter((d) => d.operation === 'delete')
      assert.equal(delivery.status, 200)
      assert.equal((await me(app, { token })).status, 401)
      assert.equal((await me(app, { jar })).status, 401)

      const rows = await userRows(app.db, { id: before.id })
      if (policy === 'delete') {
        assert.lengthOf(rows, 0)
      } else if (policy === 'keep') {
        assert.equal(rows[0].rownd_user_id, user.userId)
        assert.equal(rows[0].role, 'member')
      } else {
        assert.equal(rows[0].rownd_user_id, user.userId)
        assert.equal(rows[0].role, 'deleted')
      }
      const deleted = (await events(app)).filter((e) => e.event === 'rownd_auth:user_deleted')
      assert.deepEqual(
        deleted.map((e) => e.policy),
        [policy]
      )

      assert.equal((await emulator.webhooks.replay(delivery)).status, 200)
      assert.deepEqual(await userRows(app.db, { id: before.id }), rows)
    })
  })
}

test.group(`webhooks (${dbKind()}) | secret in a header`, (group) => {
  let emulator: RowndEmulator
  let app: TestApp

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startTestApp({
      emulator,
      env: { ROWND_WEBHOOK_SECRET: SECRET, ROWND_WEBHOOK_AUTH: 'header' },
    })
    return async () => {
      await app.stop()
      await emulator.close()
    }
  })

  test('401 without the right header (or with the secret in the path); 200 with it', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'header@example.com', firstName: 'Old' })
    const token = await emulator.mintToken({ userId: user.userId })
    assert.equal((await fetch(`${app.url}/api/me`, { headers: bearer(token) })).status, 200)
    emulator.updateUser(user.userId, { first_name: 'New' })
    const payload = { data: { user_id: user.userId }, meta: { operation: 'data_update' } }

    for (const [path, headers] of [
      ['/rownd/webhooks', {}],
      ['/rownd/webhooks', { 'x-rownd-webhook-secret': `${SECRET}x` }],
      ['/rownd/webhooks', { 'x-rownd-webhook-secret': '' }],
      [`/rownd/webhooks/${SECRET}`, {}],
      [`/rownd/webhooks/${SECRET}`, { 'x-rownd-webhook-secret': SECRET }],
    ] as const) {
      const response = await deliver(app, path, payload, { headers })
      assert.equal(response.status, 401, `${path} ${JSON.stringify(headers)}`)
    }
    let [row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'Old')

    const ok = await deliver(app, '/rownd/webhooks', payload, {
      method: 'PATCH',
      headers: { 'x-rownd-webhook-secret': SECRET },
    })
    assert.equal(ok.status, 200)
    ;[row] = await userRows(app.db, { rownd_user_id: user.userId })
    assert.equal(row.first_name, 'New')
  })
})
