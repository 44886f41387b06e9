import { test } from '@japa/runner'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import { RowndEmulator } from '../../src/testing/index.ts'
import { dbKind, TEST_APP_ROOT } from '../helpers/test_app.ts'

async function freePort() {
  return new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

test.group('loginAs in a Japa API test', () => {
  test("the test app's own Japa suite logs users in through the rownd guard", async ({
    assert,
  }) => {
    const emulator = await RowndEmulator.start()
    const root = fileURLToPath(TEST_APP_ROOT)
    const child = spawn(process.execPath, ['--import=@poppinss/ts-exec', 'bin/test.ts'], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        DB_CONNECTION: dbKind() === 'sqlite' ? 'sqlite' : dbKind(),
        SQLITE_FILE: `${root}tmp/login-as-${randomUUID()}.sqlite3`,
        ROWND_APP_KEY: emulator.appKey,
        ROWND_APP_SECRET: emulator.appSecret,
        ROWND_API_URL: emulator.url,
        FORCE_COLOR: '0',
      },
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    const code = await new Promise((resolve) => child.once('exit', resolve))
    await emulator.close()
    assert.equal(code, 0, output)
    assert.match(output, /Tests\s+3 passed/)
  }).timeout(60_000)
})
