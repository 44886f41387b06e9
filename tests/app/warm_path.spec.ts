import http from 'node:http'
import { test } from '@japa/runner'
import { useTestApp } from '../helpers/test_app.ts'
import { CookieJar, signIn } from '../helpers/http.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** GET over one keep-alive connection; says whether the request reused it */
function getOn(agent: http.Agent, url: string, token: string) {
  return new Promise<{ status: number; body: any; reused: boolean }>((resolve, reject) => {
    const request = http.get(
      url,
      { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk) => (text += chunk))
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            body: JSON.parse(text),
            reused: request.reusedSocket,
          })
        )
      }
    )
    request.on('error', reject)
  })
}

/**
 * The warm path remembers the last token seen on each connection, so a
 * token repeated on a keep-alive connection is not hashed again. Everything
 * else about it must hold as for any other request: expiry, sign-outs, and
 * never answering one token with another's user.
 */
test.group('warm path | a token repeated on one keep-alive connection', (group) => {
  const running = useTestApp(group)
  let agent: http.Agent
  group.each.setup(() => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    return () => agent.destroy()
  })

  test('is refused on that connection as soon as a sign-out revokes it', async ({ assert }) => {
    const { emulator, app } = running
    const user = emulator.createUser({ email: 'kept-alive@example.com' })
    const token = await emulator.mintToken({ userId: user.userId })
    for (let index = 0; index < 3; index++) {
      const answer = await getOn(agent, `${app.url}/api/me`, token)
      assert.equal(answer.status, 200)
      assert.equal(answer.reused, index > 0)
    }
    // The token opens a session, which is then signed out: that revokes it
    const jar = new CookieJar()
    assert.equal((await signIn(jar, app.url, token)).status, 200)
    const signedOut = await jar.fetch(`${app.url}/rownd/session_sign_out`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    })
    assert.equal(signedOut.status, 200)

    const after = await getOn(agent, `${app.url}/api/me`, token)
    assert.isTrue(after.reused)
    assert.equal(after.status, 401)
    assert.equal(after.body.errors[0].code, 'E_ROWND_TOKEN_REVOKED')
  }).timeout(30_000)

  test('tokens of two users alternating on it each get their own user', async ({ assert }) => {
    const { emulator, app } = running
    const ada = emulator.createUser({ email: 'ada-alt@example.com' })
    const alan = emulator.createUser({ email: 'alan-alt@example.com' })
    const tokens = [
      await emulator.mintToken({ userId: ada.userId }),
      await emulator.mintToken({ userId: alan.userId }),
    ]
    const emails = ['ada-alt@example.com', 'alan-alt@example.com']
    for (let index = 0; index < 8; index++) {
      const answer = await getOn(agent, `${app.url}/api/me`, tokens[index % 2])
      assert.equal(answer.status, 200)
      assert.equal(answer.body.email, emails[index % 2])
    }
  }).timeout(30_000)

  test('is refused on that connection once it expires', async ({ assert }) => {
    const { emulator, app } = running
    const user = emulator.createUser({ email: 'expiring@example.com' })
    const now = Math.floor(Date.now() / 1000)
    // Expired 3 s ago: still inside the 5 s clock tolerance for about 2 s
    const token = await emulator.mintToken({
      userId: user.userId,
      issuedAt: now - 60,
      expiresIn: 57,
    })
    assert.equal((await getOn(agent, `${app.url}/api/me`, token)).status, 200)
    assert.equal((await getOn(agent, `${app.url}/api/me`, token)).status, 200)
    await sleep(3000)
    const after = await getOn(agent, `${app.url}/api/me`, token)
    assert.isTrue(after.reused)
    assert.equal(after.status, 401)
    assert.equal(after.body.errors[0].code, 'E_ROWND_TOKEN_EXPIRED')
  }).timeout(30_000)
})
