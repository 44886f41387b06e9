import { test } from '@japa/runner'
import { spawn } from 'node:child_process'

const source = (path: string) => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href)

/**
 * Runs in a child process with `NODE_DEBUG=rownd-adonis`, since debuglog
 * reads the variable once per process. Drives every kind of failure the
 * client logs about, then prints the raw tokens and the secret it used so
 * the parent can look for them in the debug output.
 */
const script = `
import { RowndEmulator } from ${source('testing/index.ts')}
import { RowndClient } from ${source('client/rownd_client.ts')}
import { defineConfig } from ${source('define_config.ts')}

const emulator = await RowndEmulator.start()
const config = (extra = {}) => defineConfig({
  appKey: emulator.appKey, appSecret: emulator.appSecret, apiUrl: emulator.url,
  issuer: emulator.issuer, timeout: 300, cache: { retryBase: 20, retryMax: 50 }, ...extra,
})
const client = new RowndClient(config())
const tokens = []
const codes = []
const attempt = async (promise) => {
  try { await promise; codes.push('ok') } catch (error) { codes.push(error.code) }
}
const verify = async (options) => {
  const token = await emulator.mintToken(options)
  tokens.push(token)
  await attempt(client.verifyToken(token))
  return token
}

const good = await verify({})
await verify({ foreignKey: true })
await verify({ expired: true })
await verify({ kid: 'sig-unknown' })
await verify({ appId: 'other' })
await verify({ issuer: 'https://evil.example' })
await attempt(client.verifyToken(good.slice(0, -4) + 'AAAA'))
tokens.push(good.slice(0, -4) + 'AAAA')
await client.revoke(good)
await attempt(client.verifyToken(good))

const user = emulator.createUser()
await attempt(client.users.get('user_missing'))
await attempt(client.users.patch('user_missing', { a: 1 }))
const wrong = new RowndClient(config({ appSecret: emulator.appSecret + 'x' }))
await attempt(wrong.users.get(user.userId))
emulator.setFault('user_get', { kind: 'hang' })
await attempt(client.users.get(user.userId))
emulator.clearFaults()

const cold = new RowndClient(config())
emulator.setFault('*', { kind: 'status', status: 500 })
const coldToken = await emulator.mintToken()
tokens.push(coldToken)
await attempt(cold.verifyToken(coldToken))
await emulator.stop()
await attempt(cold.verifyToken(coldToken))

await Promise.all([client.close(), wrong.close(), cold.close()])
await emulator.close()
process.stdout.write(JSON.stringify({ tokens, codes, secret: emulator.appSecret }))
`

function runChild(): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import=@poppinss/ts-exec', '--input-type=module', '-e', script],
      {
        cwd: new URL('../../', import.meta.url),
        env: { ...process.env, NODE_DEBUG: 'rownd-adonis' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }
    )
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill(), 15_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, code })
    })
  })
}

test.group('RowndClient | debug log', () => {
  test('debug output never carries raw tokens or the app secret', async ({ assert }) => {
    const { stdout, stderr, code } = await runChild()
    assert.equal(code, 0, stderr)
    const { tokens, codes, secret } = JSON.parse(stdout) as {
      tokens: string[]
      codes: string[]
      secret: string
    }
    assert.deepEqual(codes, [
      'ok',
      'E_ROWND_BAD_SIGNATURE',
      'E_ROWND_TOKEN_EXPIRED',
      'E_ROWND_UNKNOWN_KEY',
      'E_ROWND_TOKEN_AUDIENCE',
      'E_ROWND_TOKEN_ISSUER',
      'E_ROWND_BAD_SIGNATURE',
      'E_ROWND_TOKEN_REVOKED',
      'E_ROWND_API_ERROR',
      'E_ROWND_API_ERROR',
      'E_ROWND_API_ERROR',
      'E_ROWND_UNAVAILABLE',
      'E_ROWND_UNAVAILABLE',
      'E_ROWND_UNAVAILABLE',
    ])

    // The debug log was on and talked about what happened
    const lines = stderr.split('\n').filter((line) => line.startsWith('ROWND-ADONIS'))
    assert.isAbove(lines.length, 8)
    assert.match(stderr, /rejected/)
    assert.match(stderr, /answered 500/)

    assert.notInclude(stderr, secret)
    for (const token of tokens) {
      const [, payload, signature] = token.split('.')
      assert.notInclude(stderr, token)
      assert.notInclude(stderr, payload)
      assert.notInclude(stderr, signature)
    }
  })
})
