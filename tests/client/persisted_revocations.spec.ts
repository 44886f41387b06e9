import { createServer } from 'node:http'
import { test } from '@japa/runner'
import type { RevocationStore } from '../../src/client/persisted_revocations.ts'
import type { RevocationEntry } from '../../src/client/revocations.ts'
import { mergeRevocations } from '../../src/client/revocations.ts'
import { RowndClient } from '../../src/client/rownd_client.ts'
import { defineConfig } from '../../src/define_config.ts'
import { E_ROWND_TOKEN_REVOKED, E_ROWND_UNAVAILABLE } from '../../src/errors.ts'
import { createClient, rejects, startEmulator } from './helpers.ts'

/** A store in memory standing in for the rownd_revocations table, counting reads */
class CountingStore implements RevocationStore {
  rows = new Map<string, RevocationEntry>()
  reads = 0
  async read(userId: string) {
    this.reads++
    return this.rows.get(userId)
  }
  async write(userId: string, entry: RevocationEntry) {
    this.rows.set(userId, mergeRevocations(this.rows.get(userId), entry))
  }
}

const past = () => Math.floor(Date.now() / 1000) - 60

test.group('RowndClient | persisted revocations', () => {
  test('a new process reads the store: tokens revoked before it started stay refused', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const store = new CountingStore()
    const first = createClient(cleanup, emulator)
    first.useRevocationStore(store)
    const user = emulator.createUser()
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: past() })
    await first.verifyToken(token)
    await first.revokeUser(user.userId)
    assert.isDefined(store.rows.get(user.userId)?.before)

    // "Restart": a fresh client, empty memory, same store
    const second = createClient(cleanup, emulator)
    second.useRevocationStore(store)
    await rejects(assert, second.verifyToken(token), E_ROWND_TOKEN_REVOKED, [token])
    // Read once, then memory answers
    const reads = store.reads
    await rejects(assert, second.verifyToken(token), E_ROWND_TOKEN_REVOKED)
    assert.equal(store.reads, reads)
    // Someone who never signed out is read once and passes
    const other = emulator.createUser()
    await second.verifyToken(await emulator.mintToken({ userId: other.userId }))
  })

  test('a user pushed out of memory (size bound) is read again: still refused', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const store = new CountingStore()
    const client = createClient(cleanup, emulator, { cache: { revocationMaxEntries: 2 } })
    client.useRevocationStore(store)
    const victim = emulator.createUser()
    const token = await emulator.mintToken({ userId: victim.userId, issuedAt: past() })
    await client.revokeUser(victim.userId)
    // Three more sign-outs push the victim's entry out of a 2-entry memory
    for (let index = 0; index < 3; index++) await client.revokeUser(emulator.createUser().userId)
    assert.isUndefined(client.revocations.get(victim.userId))
    const reads = store.reads
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_REVOKED, [token])
    assert.equal(store.reads, reads + 1)
    assert.isDefined(client.revocations.get(victim.userId))
  })

  test('a cached token is re-checked against the store after recheckInterval', async ({
    assert,
    cleanup,
  }) => {
    // Another instance (no shared store) revoked the user: this one learns it
    // from the store within the recheck interval, even for a cached token
    const emulator = await startEmulator(cleanup)
    const store = new CountingStore()
    const client = createClient(cleanup, emulator, { revocations: { recheckInterval: 300 } })
    client.useRevocationStore(store)
    const user = emulator.createUser()
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: past() })
    await client.verifyToken(token)
    await store.write(user.userId, { before: Date.now() })
    await client.verifyToken(token)
    await new Promise((resolve) => setTimeout(resolve, 400))
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_REVOKED)
  })

  test('a failed write of the store is reported; memory refuses at once anyway', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await startEmulator(cleanup)
    const client = createClient(cleanup, emulator)
    client.useRevocationStore({
      read: async () => undefined,
      write: async () => {
        throw new Error('database down')
      },
    })
    const user = emulator.createUser()
    const token = await emulator.mintToken({ userId: user.userId, issuedAt: past() })
    let error: Error | undefined
    try {
      await client.revokeUser(user.userId)
    } catch (caught) {
      error = caught as Error
    }
    assert.equal(error?.message, 'database down')
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_REVOKED)
  })
})

test.group('RowndClient | redirects', () => {
  test('a redirect from the API URL is never followed: the secret stays home', async ({
    assert,
    cleanup,
  }) => {
    const seenElsewhere: string[] = []
    const elsewhere = createServer((request, response) => {
      seenElsewhere.push(String(request.headers['x-rownd-app-secret'] ?? 'no secret'))
      response.end('{}')
    })
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve))
    const target = `http://127.0.0.1:${(elsewhere.address() as { port: number }).port}`
    const redirecting = createServer((request, response) => {
      response.writeHead(307, { location: `${target}${request.url}` })
      response.end()
    })
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve))
    cleanup(() => {
      elsewhere.close()
      redirecting.close()
    })
    const client = new RowndClient(
      defineConfig({
        appKey: 'key_redirect',
        appSecret: 'ras_secret_value',
        appId: 'app_1',
        apiUrl: `http://127.0.0.1:${(redirecting.address() as { port: number }).port}`,
        timeout: 1000,
      })
    )
    cleanup(() => client.close())
    const error = await rejects(assert, client.users.get('user_1'), E_ROWND_UNAVAILABLE)
    assert.include(error.message, 'redirect')
    assert.deepEqual(seenElsewhere, [])
  })
})
