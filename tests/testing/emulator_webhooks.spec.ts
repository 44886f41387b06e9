import { createServer, type Server } from 'node:http'
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { defineConfig } from '../../src/define_config.ts'

interface Received {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  body: any
}

/** A webhook receiver answering `status` to every delivery */
async function receiver(status = 200) {
  const received: Received[] = []
  const server: Server = createServer((req, res) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      received.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: JSON.parse(text),
      })
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

async function api(emulator: RowndEmulator, method: string, path: string, body?: unknown) {
  const response = await fetch(`${emulator.url}/applications/${emulator.appId}/users/${path}`, {
    method,
    headers: {
      'x-rownd-app-key': emulator.appKey,
      'x-rownd-app-secret': emulator.appSecret,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : undefined }
}

test.group('Rownd emulator | webhook connector', (group) => {
  let emulator: RowndEmulator
  let hook: Awaited<ReturnType<typeof receiver>>

  group.each.setup(async () => {
    hook = await receiver()
    emulator = await RowndEmulator.start({ webhooks: { url: hook.url } })
    return async () => {
      await emulator.close()
      await hook.close()
    }
  })

  test('sends data_insert, data_update and delete shaped as Rownd documents them', async ({
    assert,
  }) => {
    const user = emulator.createUser({ email: 'jrose@acme.com', firstName: 'Juliet' })
    emulator.updateUser(user.userId, { last_name: 'Rose', country: 'United States' })
    emulator.deleteUser(user.userId)
    await emulator.webhooks.settled()

    assert.deepEqual(
      hook.received.map((r) => [r.method, r.body.meta.operation]),
      [
        ['POST', 'data_insert'],
        ['POST', 'data_update'],
        ['POST', 'delete'],
      ]
    )
    assert.deepEqual(hook.received[1].body, {
      data: {
        email: 'jrose@acme.com',
        first_name: 'Juliet',
        last_name: 'Rose',
        country: 'United States',
        user_id: user.userId,
      },
      redacted: [],
      meta: {
        operation: 'data_update',
        lookup_values: [{ field: 'email', value: 'jrose@acme.com' }],
      },
    })
    assert.deepEqual(hook.received[2].body, {
      data: { user_id: user.userId },
      meta: {
        operation: 'delete',
        lookup_values: [{ field: 'email', value: 'jrose@acme.com' }],
      },
    })
    // No signature, id or timestamp: Rownd sends none
    assert.equal(hook.received[0].headers['content-type'], 'application/json')
    assert.isUndefined(hook.received[0].headers['x-rownd-signature'])
    assert.deepEqual(
      emulator.webhooks.deliveries.map((d) => [d.state, d.status, d.attempts]),
      [
        ['sent', 200, 1],
        ['sent', 200, 1],
        ['sent', 200, 1],
      ]
    )
  })

  test("the users API triggers deliveries too, with the connector's method", async ({ assert }) => {
    emulator.webhooks.configure({ url: hook.url, method: 'PATCH' })
    const user = emulator.createUser({ phone: '+15550100', email: undefined })
    assert.equal(
      (await api(emulator, 'PATCH', `${user.userId}/data`, { data: { a: 1 } })).status,
      200
    )
    assert.equal((await api(emulator, 'DELETE', `${user.userId}/data`)).status, 204)
    await emulator.webhooks.settled()
    assert.deepEqual(
      hook.received.map((r) => [r.method, r.body.meta.operation]),
      [
        ['PATCH', 'data_insert'],
        ['PATCH', 'data_update'],
        ['PATCH', 'delete'],
      ]
    )
    assert.deepEqual(hook.received[0].body.meta.lookup_values, [
      { field: 'phone_number', value: '+15550100' },
    ])
  })

  test('visibility_update masks the redacted fields', async ({ assert }) => {
    const user = emulator.createUser({ email: 'v@example.com', data: { country: 'France' } })
    await emulator.webhooks.deliver('visibility_update', user, { redacted: ['country'] })
    const last = hook.received.at(-1)!.body
    assert.equal(last.meta.operation, 'visibility_update')
    assert.equal(last.data.country, '<<REDACTED>>')
    assert.deepEqual(last.redacted, ['country'])
    assert.equal(user.data.country, 'France', 'the stored user is not changed')
  })

  test('hold, then release in any order; replay resends the same payload', async ({ assert }) => {
    const user = emulator.createUser({ email: 'order@example.com' })
    await emulator.webhooks.settled()
    emulator.webhooks.hold()
    emulator.updateUser(user.userId, { first_name: 'A' })
    emulator.updateUser(user.userId, { first_name: 'B' })
    emulator.updateUser(user.userId, { first_name: 'C' })
    assert.lengthOf(hook.received, 1)
    const held = emulator.webhooks.deliveries.filter((d) => d.state === 'held')
    assert.lengthOf(held, 3)
    // The payload is fixed when the change happens
    assert.equal((held[0].payload.data as any).first_name, 'A')

    await emulator.webhooks.release([held[1].id, held[2].id])
    assert.equal(held[0].state, 'held', 'left out of the order: still held')
    await emulator.webhooks.release('reversed')
    assert.deepEqual(
      hook.received.slice(1).map((r) => r.body.data.first_name),
      ['B', 'C', 'A']
    )
    await emulator.webhooks.replay(held[0])
    assert.equal(hook.received.at(-1)!.body.data.first_name, 'A')
    assert.equal(held[0].attempts, 2)
  })

  test('a target that cannot be reached marks the delivery failed; nothing is sent unconfigured', async ({
    assert,
  }) => {
    emulator.webhooks.configure({ url: 'http://127.0.0.1:1/hook' })
    const user = emulator.createUser()
    await emulator.webhooks.settled()
    assert.equal(emulator.webhooks.of(user.userId)[0].state, 'failed')
    emulator.webhooks.configure(null)
    emulator.createUser()
    assert.lengthOf(emulator.webhooks.deliveries, 1)
  })
})

test.group('Rownd emulator | paged user list', () => {
  test('after= continues after the cursor, even when that user was deleted', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await RowndEmulator.start()
    cleanup(() => emulator.close())
    const users = Array.from({ length: 5 }, (_, i) => emulator.createUser({ email: `p${i}@x.io` }))
    const page1 = await api(emulator, 'GET', 'data?page_size=2')
    assert.deepEqual(
      page1.json.results.map((p: any) => p.rownd_user),
      [users[0].userId, users[1].userId]
    )
    assert.equal(page1.json.total_results, 5)
    emulator.deleteUser(users[1].userId)
    const page2 = await api(emulator, 'GET', `data?page_size=2&after=${users[1].userId}`)
    assert.deepEqual(
      page2.json.results.map((p: any) => p.rownd_user),
      [users[2].userId, users[3].userId]
    )
    const unknown = await api(emulator, 'GET', 'data?after=user_never_existed')
    assert.deepEqual(unknown.json.results, [])
  })
})

test.group('defineConfig | webhooks', () => {
  test('defaults, env secret, and refusals of weak or unusable settings', ({ assert }) => {
    const previous = process.env.ROWND_WEBHOOK_SECRET
    try {
      delete process.env.ROWND_WEBHOOK_SECRET
      assert.deepEqual(defineConfig().webhooks, {
        secret: '',
        auth: 'path',
        header: 'x-rownd-webhook-secret',
        maxBodySize: 64 * 1024,
        onUserDeleted: 'detach',
      })
      process.env.ROWND_WEBHOOK_SECRET = 'from-the-env-0123456789'
      assert.equal(defineConfig().webhooks.secret, 'from-the-env-0123456789')
      assert.equal(defineConfig({ webhooks: { maxBodySize: '8kb' } }).webhooks.maxBodySize, 8192)
      assert.equal(
        defineConfig({ webhooks: { header: 'X-Hook-Secret', auth: 'header' } }).webhooks.header,
        'x-hook-secret'
      )
      const policy = () => {}
      assert.equal(
        defineConfig({ webhooks: { onUserDeleted: policy } }).webhooks.onUserDeleted,
        policy
      )

      const refused: Array<[object, RegExp]> = [
        [{ secret: 'short' }, /at least 16/],
        [{ secret: 'has a space in it 0123' }, /letters, digits/],
        [{ secret: 'slash/in/the/path/0123' }, /letters, digits/],
        [{ auth: 'query' }, /'path' or 'header'/],
        [{ header: 'bad header' }, /header name/],
        [{ maxBodySize: 0 }, /maxBodySize/],
        [{ maxBodySize: 'lots' }, /maxBodySize/],
        [{ onUserDeleted: 'purge' }, /onUserDeleted/],
      ]
      for (const [webhooks, message] of refused) {
        assert.throws(() => defineConfig({ webhooks: webhooks as any }), message)
      }
      // In a header any printable secret is fine; errors never echo it
      assert.doesNotThrow(() =>
        defineConfig({ webhooks: { auth: 'header', secret: 'spaces are fine here 0123' } })
      )
      try {
        defineConfig({ webhooks: { secret: 'short-secret' } })
      } catch (error) {
        assert.notInclude((error as Error).message, 'short-secret')
      }
    } finally {
      if (previous === undefined) delete process.env.ROWND_WEBHOOK_SECRET
      else process.env.ROWND_WEBHOOK_SECRET = previous
    }
  })
})
