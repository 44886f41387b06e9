/**
 * Rownd's own Node SDK (@rownd/node 3.1.0, as pinned) against the emulator:
 * what the SDK sends must be what the emulator, like Rownd, accepts.
 *
 * The SDK caches the discovery document and the JWKS in module-level
 * caches for an hour, so one emulator serves the whole file.
 */
import { test } from '@japa/runner'
import rowndNode from '@rownd/node'
import { RowndEmulator } from '../../src/testing/index.ts'

type RowndNodeClient = ReturnType<typeof rowndNode.createInstance>

test.group('@rownd/node 3.1.0 against the emulator', (group) => {
  let emulator: RowndEmulator
  let client: RowndNodeClient

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    client = rowndNode.createInstance({
      api_url: emulator.url,
      app_key: emulator.appKey,
      app_secret: emulator.appSecret,
      // The SDK never clears this timer (fetchUserInfo, createOrUpdateUser): keep it short
      timeout: 2000,
    })
    return () => emulator.close()
  })

  test('validateToken verifies our tokens through discovery and the JWKS', async ({ assert }) => {
    const user = emulator.createUser({ email: 'sdk@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    const validated = await client.validateToken(token)
    assert.equal(validated.user_id, user.userId)
    assert.equal(validated.access_token, token)
    assert.equal(validated.decoded_token['https://auth.rownd.io/app_user_id'], user.userId)
    assert.isAbove(emulator.requestCount('discovery'), 0)
    assert.isAbove(emulator.requestCount('jwks'), 0)
    // The SDK learns the app id from the app config, with the app key
    assert.equal(emulator.requestCount('app_config'), 1)

    // And refuses what Rownd's keys did not sign, or what expired
    await assert.rejects(() =>
      client.validateToken(emulator.mintToken({ foreignKey: true }) as any)
    )
    const forged = await emulator.mintToken({ foreignKey: true })
    await assert.rejects(() => client.validateToken(forged))
    const expired = await emulator.mintToken({ userId: user.userId, expired: true })
    await assert.rejects(() => client.validateToken(expired))
  })

  test('fetchUserInfo reads the profile with the app key and secret', async ({ assert }) => {
    const user = emulator.createUser({ email: 'info@example.com', firstName: 'Info' })
    emulator.resetCounts()
    const profile = await client.fetchUserInfo({ user_id: user.userId })
    assert.equal(profile.rownd_user, user.userId)
    assert.equal(profile.data.email, 'info@example.com')
    assert.equal(profile.data.first_name, 'Info')
    assert.deepEqual(profile.verified_data, { email: 'info@example.com' })
    assert.equal(emulator.requestCount('user_get'), 1)
    // The SDK caches profiles for five minutes
    await client.fetchUserInfo({ user_id: user.userId })
    assert.equal(emulator.requestCount('user_get'), 1)
  })

  test('createOrUpdateUser and deleteUser', async ({ assert }) => {
    const updated = await client.createOrUpdateUser({
      id: 'user_from_sdk',
      data: { email: 'made@example.com', first_name: 'Made' },
    })
    assert.equal((updated as any).rownd_user, 'user_from_sdk')
    assert.equal(emulator.getUser('user_from_sdk')!.data.first_name, 'Made')
    await client.deleteUser('user_from_sdk')
    assert.isUndefined(emulator.getUser('user_from_sdk'))
  })

  test('createSmartLink creates a magic link (the SDK sends verification_mode)', async ({
    assert,
  }) => {
    const existing = emulator.createUser({ email: 'linked@example.com' })
    emulator.resetCounts()
    const link = await client.createSmartLink({
      email: 'linked@example.com',
      redirect_url: '/welcome',
      data: { first_name: 'Linked' },
    })
    assert.equal(emulator.requestCount('magic_link'), 1)
    assert.match(link.link, new RegExp(`^${emulator.url}/magic/[a-z0-9]+$`))
    // The email identifies the existing user; the extra data is saved
    assert.equal(link.app_user_id, existing.userId)
    assert.equal(existing.data.first_name, 'Linked')

    // verification_mode is not a field of Rownd's API: the link names no
    // verification (verification_type), so visiting it verifies nothing
    const stored = emulator.magicLinks.at(-1)!
    assert.equal(stored.purpose, 'auth')
    assert.isUndefined(stored.verificationType)
    const visit = await fetch(link.link, { redirect: 'manual' })
    assert.equal(visit.status, 302)
    assert.equal(visit.headers.get('location'), '/welcome')

    const fresh = await client.createSmartLink({ email: 'new@example.com', redirect_url: '/' })
    assert.equal(emulator.getUser(fresh.app_user_id)!.data.email, 'new@example.com')
  })
})
