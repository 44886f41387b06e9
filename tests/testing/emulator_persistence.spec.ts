/**
 * The emulator's state file (dev mode persists it under the app's tmp/),
 * its clock skew, and the dev-token route `node ace rownd:token` calls.
 */
import { test } from '@japa/runner'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { RowndEmulator } from '../../src/testing/index.ts'

async function tempStateFile() {
  const dir = await mkdtemp(join(tmpdir(), 'rownd-emulator-state-'))
  return { dir, file: join(dir, 'state.json') }
}

async function verify(emulator: RowndEmulator, token: string) {
  return jwtVerify(token, createLocalJWKSet(emulator.jwks), { issuer: emulator.issuer })
}

test.group('Emulator | state file', () => {
  test('a restart keeps the app, keys, users and refresh tokens', async ({ assert, cleanup }) => {
    const { dir, file } = await tempStateFile()
    cleanup(() => rm(dir, { recursive: true, force: true }))

    const first = await RowndEmulator.start({ stateFile: file, issuer: 'urn:test' })
    const user = first.createUser({ email: 'Alice@Example.com' })
    const session = await first.createSession({ email: 'alice@example.com' })
    const token = await first.mintToken({ userId: user.userId })
    const kid = first.currentKid
    await first.close()

    const raw = await readFile(file, 'utf8')
    const state = JSON.parse(raw)
    assert.equal(state.version, 1)
    assert.include(state.warning, 'never commit')
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.isString(state.keys.keys[0].jwk.d)

    const second = await RowndEmulator.start({ stateFile: file })
    cleanup(() => second.close())
    assert.equal(second.appId, first.appId)
    assert.equal(second.appKey, first.appKey)
    assert.equal(second.appSecret, first.appSecret)
    assert.equal(second.issuer, 'urn:test')
    assert.equal(second.currentKid, kid)
    assert.equal(second.findUserByEmail('alice@example.com')?.userId, user.userId)
    // A token minted before the restart still verifies against the new JWKS
    const { payload } = await verify(second, token)
    assert.equal(payload['https://auth.rownd.io/app_user_id'], user.userId)

    // The stand-in Hub's refresh token survives the restart
    const refreshed = await fetch(`${second.url}/hub/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refreshToken }),
    })
    assert.equal(refreshed.status, 200)
  })

  test('changes made over HTTP are written without a close', async ({ assert, cleanup }) => {
    const { dir, file } = await tempStateFile()
    cleanup(() => rm(dir, { recursive: true, force: true }))
    const emulator = await RowndEmulator.start({ stateFile: file })
    cleanup(() => emulator.close())

    const response = await fetch(`${emulator.url}/__emulator/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bob@example.com' }),
    })
    const { user_id: userId } = (await response.json()) as { user_id: string }
    let written: any
    for (let attempt = 0; attempt < 50; attempt++) {
      written = JSON.parse(await readFile(file, 'utf8'))
      if (written.users.some((user: any) => user.userId === userId)) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.isTrue(written.users.some((user: any) => user.userId === userId))
  })

  test('an unreadable state file is refused with its path', async ({ assert, cleanup }) => {
    const { dir, file } = await tempStateFile()
    cleanup(() => rm(dir, { recursive: true, force: true }))
    const { writeFile } = await import('node:fs/promises')
    await writeFile(file, '{"version": 1, "app": ')
    await assert.rejects(() => RowndEmulator.start({ stateFile: file }), /not valid JSON/)
    await writeFile(file, '{"version": 2}')
    await assert.rejects(() => RowndEmulator.start({ stateFile: file }), /unknown shape/)
  })
})

test.group('Emulator | clock skew', () => {
  test('the Date header and minted tokens follow the skewed clock', async ({ assert, cleanup }) => {
    const emulator = await RowndEmulator.start({ clockSkew: 600_000 })
    cleanup(() => emulator.close())
    const response = await fetch(`${emulator.url}/hub/auth/keys`)
    const date = Date.parse(response.headers.get('date')!)
    assert.closeTo(date - Date.now(), 600_000, 2_000)
    const token = await emulator.mintToken()
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
    assert.closeTo(claims.iat * 1000 - Date.now(), 600_000, 2_000)

    emulator.setClockSkew(0)
    const normal = await fetch(`${emulator.url}/hub/auth/keys`)
    assert.closeTo(Date.parse(normal.headers.get('date')!) - Date.now(), 0, 2_000)
  })
})

test.group('Emulator | dev tokens', (group) => {
  let emulator: RowndEmulator
  group.setup(async () => {
    emulator = await RowndEmulator.start()
    return () => emulator.close()
  })

  const mint = (body: unknown, secret = emulator.appSecret) =>
    fetch(`${emulator.url}/__emulator/dev/tokens`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-rownd-app-key': emulator.appKey,
        'x-rownd-app-secret': secret,
      },
      body: JSON.stringify(body),
    })

  test('needs the app secret', async ({ assert }) => {
    assert.equal((await mint({ email: 'a@example.com' }, 'wrong')).status, 401)
  })

  test('creates the user once, by email; lifetime, level and verification as asked', async ({
    assert,
  }) => {
    const first = (await (await mint({ email: 'carol@example.com' })).json()) as any
    assert.isTrue(first.created)
    assert.equal(first.auth_level, 'verified')
    const again = (await (
      await mint({ email: 'CAROL@example.com', expires_in: 60, verified: false })
    ).json()) as any
    assert.isFalse(again.created)
    assert.equal(again.user_id, first.user_id)
    assert.isFalse(again.is_verified_user)
    assert.equal(again.auth_level, 'unverified')
    const { payload } = await verify(emulator, again.access_token)
    assert.equal(payload.exp! - payload.iat!, 60)
    assert.isFalse(payload['https://auth.rownd.io/is_verified_user'])

    const byId = (await (await mint({ user_id: 'user_dev_1', auth_level: 'guest' })).json()) as any
    assert.isTrue(byId.created)
    assert.equal(byId.user_id, 'user_dev_1')
    assert.equal(byId.auth_level, 'guest')
  })

  test('refuses bad input', async ({ assert }) => {
    for (const body of [
      {},
      { email: 'a@example.com', user_id: 'x' },
      { email: 'nope' },
      { user_id: 'has space' },
      { email: 'a@example.com', expires_in: 0 },
      { email: 'a@example.com', expires_in: 31 * 24 * 3600 },
      { email: 'a@example.com', auth_level: 'admin' },
      { email: 'a@example.com', verified: 'yes' },
    ]) {
      assert.equal((await mint(body)).status, 400, JSON.stringify(body))
    }
  })
})
