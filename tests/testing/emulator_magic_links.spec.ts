import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'

async function createLink(emulator: RowndEmulator, json: unknown) {
  const response = await fetch(`${emulator.url}/hub/auth/magic`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-rownd-app-key': emulator.appKey,
      'x-rownd-app-secret': emulator.appSecret,
    },
    body: JSON.stringify(json),
  })
  return { status: response.status, json: (await response.json()) as any }
}

test.group('Rownd emulator | magic links as the OpenAPI spec describes them', (group) => {
  let emulator: RowndEmulator
  group.each.setup(async () => {
    emulator = await RowndEmulator.start()
  })
  group.each.teardown(async () => {
    await emulator.close()
  })

  test('verification_type is optional: such a link verifies nothing', async ({ assert }) => {
    const created = await createLink(emulator, {
      data: { email: 'plain@foo.com' },
      redirect_url: '/in',
      // What @rownd/node sends instead of verification_type: not a field of the API
      verification_mode: 'email',
    })
    assert.equal(created.status, 200)
    const user = emulator.getUser(created.json.app_user_id)!
    await fetch(created.json.link, { redirect: 'manual' })
    assert.isFalse(user.emailVerified)
    assert.equal(user.authLevel, 'unverified')
    assert.isTrue(emulator.magicLinks[0].visited)
  })

  test('user_id directives generate an id; a named id is used when nothing matches', async ({
    assert,
  }) => {
    for (const directive of ['__default__', '__uuid__', '__objectid__']) {
      const created = await createLink(emulator, {
        verification_type: 'email',
        data: { email: `${directive.replaceAll('_', '')}@foo.com` },
        redirect_url: '/',
        user_id: directive,
      })
      assert.equal(created.status, 200)
      assert.match(created.json.app_user_id, /^user_[a-z0-9]{24}$/)
    }
    const named = await createLink(emulator, {
      data: { first_name: 'Named' },
      redirect_url: '/',
      user_id: 'user_named',
    })
    assert.equal(named.json.app_user_id, 'user_named')
    assert.equal(emulator.getUser('user_named')!.data.first_name, 'Named')
  })

  test('a shorten link carries no user and only redirects', async ({ assert }) => {
    const users = emulator.listUsers().length
    const created = await createLink(emulator, {
      purpose: 'shorten',
      redirect_url: 'https://example.com/offer',
      link_data: { campaign: 'spring' },
    })
    assert.equal(created.status, 200)
    assert.deepEqual(Object.keys(created.json), ['link'])
    assert.equal(emulator.listUsers().length, users)
    assert.deepEqual(emulator.magicLinks[0].linkData, { campaign: 'spring' })
    const visit = await fetch(created.json.link, { redirect: 'manual' })
    assert.equal(visit.headers.get('location'), 'https://example.com/offer')
  })

  test('refuses bad purpose, link_data, group_to_join and data', async ({ assert }) => {
    const bad = [
      { purpose: 'spam', redirect_url: '/' },
      { link_data: 'x', redirect_url: '/' },
      { group_to_join: 42, redirect_url: '/' },
      { data: [], redirect_url: '/' },
      { data: { email: 'not-an-email' }, redirect_url: '/' },
      { verification_type: 'phone', data: { phone_number: '1' }, redirect_url: '/' },
    ]
    for (const json of bad) {
      const response = await createLink(emulator, json)
      assert.equal(response.status, 400, JSON.stringify(json))
      assert.equal(response.json.code, 'E_VALIDATION')
    }
  })
})
