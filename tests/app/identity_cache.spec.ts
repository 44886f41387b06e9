import { test } from '@japa/runner'
import { useTestApp } from '../helpers/test_app.ts'
import { bearer } from '../helpers/http.ts'

/**
 * The identity cache is on by default (guard `rownd` is configured as
 * `node ace configure` writes it). Each request gets its own model instance;
 * Lucid saves and deletes, and revocations, drop the cached row at once.
 */
test.group('identity cache | on by default, one instance per request', (group) => {
  const running = useTestApp(group)

  async function signedIn(email: string) {
    const user = running.emulator.createUser({ email, firstName: 'Grace', lastName: 'Hopper' })
    const token = await running.emulator.mintToken({ userId: user.userId })
    // The first request creates the row, the second reads and caches it
    await fetch(`${running.app.url}/api/me`, { headers: bearer(token) })
    const me = await fetch(`${running.app.url}/api/me`, { headers: bearer(token) })
    if (me.status !== 200) throw new Error(`api/me answered ${me.status}`)
    return { rowndUserId: user.userId, token, id: ((await me.json()) as { id: number }).id }
  }

  const state = async (token: string) =>
    (await fetch(`${running.app.url}/_test/user_state`, { headers: bearer(token) })).json()

  test('a request mutating and preloading its user is not seen by a concurrent one', async ({
    assert,
  }) => {
    const { token, id } = await signedIn('isolated@example.com')
    const created = await fetch(`${running.app.url}/_test/api_token/${id}`, { method: 'POST' })
    assert.equal(created.status, 200)
    const stats = await (await fetch(`${running.app.url}/_test/stats`)).json()
    assert.isAbove(stats.defaultIdentities, 0, 'the default guard caches identities')

    const mutating = fetch(`${running.app.url}/_test/mutate_user?hold=600`, {
      method: 'POST',
      headers: bearer(token),
    })
    // While the first request holds its changed, preloaded instance
    await new Promise((resolve) => setTimeout(resolve, 250))
    const during = await state(token)
    assert.deepEqual(during, {
      fullName: 'Grace Hopper',
      extras: {},
      preloaded: [],
      dirty: false,
    })

    const mutated = await (await mutating).json()
    assert.deepEqual(mutated, { fullName: 'Changed, not saved', tokenRows: 1 })
    assert.deepEqual(await state(token), during)
  })

  test('a row saved through Lucid is served fresh on the next request', async ({ assert }) => {
    const { token } = await signedIn('saved@example.com')
    for (const [fullName, byId] of [
      ['Saved via the guard instance', ''],
      ['Saved via another instance', '1'],
    ]) {
      const saved = await fetch(`${running.app.url}/_test/rename_user`, {
        method: 'POST',
        headers: { ...bearer(token), 'content-type': 'application/json' },
        body: JSON.stringify({ fullName, byId }),
      })
      assert.equal(saved.status, 200)
      const me = await (await fetch(`${running.app.url}/api/me`, { headers: bearer(token) })).json()
      assert.equal(me.fullName, fullName)
    }
  })

  test('a row changed outside Lucid is seen late, and at once after a revocation', async ({
    assert,
  }) => {
    const { token, rowndUserId } = await signedIn('outside@example.com')
    await running.app
      .db('users')
      .where('rownd_user_id', rowndUserId)
      .update({ full_name: 'Edited by SQL' })
    const cached = await (
      await fetch(`${running.app.url}/api/me`, { headers: bearer(token) })
    ).json()
    assert.equal(cached.fullName, 'Grace Hopper', 'documented: up to the TTL late')
    const uncached = await (
      await fetch(`${running.app.url}/api/uncached`, { headers: bearer(token) })
    ).json()
    assert.equal(uncached.fullName, 'Edited by SQL')

    // Revoking any token of the user drops the user's cached row
    const other = await running.emulator.mintToken({ userId: rowndUserId })
    const revoked = await fetch(`${running.app.url}/_test/revoke_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: other }),
    })
    assert.equal(revoked.status, 200)
    const fresh = await (
      await fetch(`${running.app.url}/api/me`, { headers: bearer(token) })
    ).json()
    assert.equal(fresh.fullName, 'Edited by SQL')
  })

  test('a row deleted through Lucid is not served from the cache', async ({ assert }) => {
    const { token, id, rowndUserId } = await signedIn('deleted@example.com')
    const deleted = await fetch(`${running.app.url}/_test/delete_user`, {
      method: 'POST',
      headers: bearer(token),
    })
    assert.equal(deleted.status, 200)
    // The Rownd user still exists: the next request creates a new row
    const me = await (await fetch(`${running.app.url}/api/me`, { headers: bearer(token) })).json()
    assert.notEqual(me.id, id)
    assert.equal(me.rowndUserId, rowndUserId)
    const rows = await running.app.db('users').where('rownd_user_id', rowndUserId)
    assert.lengthOf(rows, 1)
  })
})
