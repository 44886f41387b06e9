/**
 * Issue 17, dev mode on the hypermedia kit installed from the tarball:
 * `ROWND_EMULATOR=true` and no Rownd credentials at all. The server signs
 * users in through the emulator and its stand-in Hub (over HTTP here; in
 * Chromium in tests/browser/kit_dev_mode.spec.ts), the same email signs
 * back in to the same row after a restart, `rownd:token` prints tokens
 * that authenticate, `rownd:emulator` serves the same state, production
 * refuses it, and with the switch off no emulator module is loaded.
 */
import { test } from '@japa/runner'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createKitApp, freePort, type KitApp } from '../helpers/kit_app.ts'
import { getJson, rowsOf } from './rownd_helpers.ts'
import { uniqueEmail } from './helpers.ts'
import {
  addHomeSignInButton,
  API_ME_ROUTE,
  DevBrowser,
  doctor,
  setEnv,
  spawnAce,
  tokenLine,
} from './tooling_helpers.ts'

const RECORDER = fileURLToPath(new URL('./record_modules.mjs', import.meta.url))
const STATE = 'tmp/rownd-emulator/state.json'
const ADVERTISEMENT = 'tmp/rownd-emulator/emulator.json'

/** Starts the app with every module it loads recorded; returns the log's path */
async function startRecorded(app: KitApp, env: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'rownd-modules-'))
  const log = join(dir, 'modules.log')
  await app.start({
    ...env,
    NODE_OPTIONS: `--import=${pathToFileURL(RECORDER).href}`,
    RECORD_MODULES: log,
  })
  return {
    async modules() {
      return (await readFile(log, 'utf8')).split('\n').filter(Boolean)
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

/** Modules of this package's emulator, stand-in Hub and dev mode */
const isEmulatorModule = (url: string) =>
  /\/node_modules\/rownd-adonis\/build\/src\/(testing|dev\/dev_mode)/.test(url)

test.group('kits | rownd | dev mode', (group) => {
  let app: KitApp

  group.setup(async () => {
    app = await createKitApp('hypermedia')
    const configure = await app.ace(['configure', 'rownd-adonis'])
    if (configure.code !== 0) throw new Error(configure.stdout + configure.stderr)
    // No Rownd account: the credentials configure left empty stay empty
    await setEnv(app, { ROWND_EMULATOR: 'true' })
    await app.writeFile(
      'start/routes.ts',
      `${await app.readFile('start/routes.ts')}\n${API_ME_ROUTE}`
    )
    await addHomeSignInButton(app)
    const migrate = await app.ace(['migration:run'])
    if (migrate.code !== 0) throw new Error(migrate.stdout + migrate.stderr)
    return () => app.destroy()
  })

  group.each.teardown(() => app.stop())

  test('switch off: booting and serving load no module of the emulator', async ({
    assert,
    cleanup,
  }) => {
    const recorded = await startRecorded(app, { ROWND_EMULATOR: 'false' })
    cleanup(recorded.cleanup)
    const page = await new DevBrowser(app.baseUrl).visit('/')
    assert.equal(page.response.status, 200)
    assert.include(page.html, 'https://hub.rownd.io/static/scripts/rph.mjs')
    // Through the guard: no credentials and no emulator, so the typed config error
    const me = await getJson(app.baseUrl, '/api/me', { token: 'x.y.z' })
    assert.equal(me.status, 500)
    assert.include(JSON.stringify(me.body), 'E_ROWND_CONFIG', JSON.stringify(me.body))
    await app.stop()

    const modules = await recorded.modules()
    // The recorder saw the package (so it works), and nothing of the emulator
    assert.isTrue(
      modules.some((url) => url.endsWith('/rownd-adonis/build/providers/rownd_provider.js'))
    )
    assert.isTrue(modules.some((url) => url.endsWith('/rownd-adonis/build/src/dev/switch.js')))
    assert.deepEqual(modules.filter(isEmulatorModule), [])
    assert.isFalse(existsSync(join(app.root, STATE)))

    // Switched on, the same recording shows them
    const on = await startRecorded(app, {})
    cleanup(on.cleanup)
    await app.stop()
    const loaded = (await on.modules()).filter(isEmulatorModule)
    assert.isTrue(loaded.some((url) => url.endsWith('/build/src/testing/emulator/emulator.js')))
    assert.isTrue(loaded.some((url) => url.endsWith('/build/src/dev/dev_mode.js')))
  })

  test('signs in over HTTP with no Rownd account; after a restart the same email is the same row', async ({
    assert,
  }) => {
    await app.start()
    assert.include(app.logs(), 'rownd-adonis dev mode: Rownd emulator at http://127.0.0.1:')
    const email = uniqueEmail('dev')
    const browser = new DevBrowser(app.baseUrl)
    const first = await browser.signIn(email)
    assert.equal(first.status, 200, app.logs())
    assert.containsSubset(first.body, { should_refresh_page: true })
    // @rowndHub() points the Hub at the emulator, not at Rownd
    assert.match(first.hub.setBaseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.equal(first.hub.setApiUrl, first.hub.setBaseUrl)
    assert.include(await browser.header(), 'action="/logout"')
    const me = await getJson(app.baseUrl, '/api/me', { jar: browser.jar })
    assert.equal(me.status, 200)
    assert.containsSubset(me.body, { email, rowndUserId: first.userId })
    const [row] = await rowsOf(app, first.userId)

    // The state is on disk, with the private key (dev only)
    const state = JSON.parse(await app.readFile(STATE))
    assert.include(state.warning, 'development')
    assert.isString(state.keys.keys[0].jwk.d)

    await app.stop()
    assert.isFalse(existsSync(join(app.root, ADVERTISEMENT)))
    await app.start()

    // A token minted before the restart still verifies (same keys, same issuer)
    const bearer = await getJson(app.baseUrl, '/api/me', { token: first.token })
    assert.equal(bearer.status, 200, app.logs())
    assert.equal(bearer.body.id, row.id)

    // A new browser signs in with the same email: same Rownd user, same row
    const again = await new DevBrowser(app.baseUrl).signIn(email)
    assert.equal(again.status, 200, app.logs())
    assert.equal(again.userId, first.userId)
    const rows = await app.db()('users').where({ email })
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].id, row.id)
  })

  test('rownd:token, server running: the token and the curl line authenticate', async ({
    assert,
  }) => {
    await app.start()
    const email = uniqueEmail('token')
    const run = await app.ace(['rownd:token', email, '--path=/api/me'])
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.include(run.stdout, `New Rownd user ${email}`)
    const token = tokenLine(run.stdout)
    assert.isString(token)
    assert.include(run.stdout, `curl -H "Authorization: Bearer ${token}" ${app.baseUrl}/api/me`)
    const me = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(me.status, 200, app.logs())
    assert.equal(me.body.email, email)

    // Same user again, unverified, short-lived, as JSON
    const json = await app.ace([
      'rownd:token',
      email,
      '--unverified',
      '--expires-in=10m',
      '--auth-level=unverified',
      '--json',
    ])
    assert.equal(json.code, 0, json.stdout + json.stderr)
    const issued = JSON.parse(json.stdout.slice(json.stdout.indexOf('{')))
    assert.containsSubset(issued, {
      email,
      created: false,
      authLevel: 'unverified',
      isVerifiedUser: false,
    })
    assert.closeTo(Date.parse(issued.expiresAt) - Date.now(), 600_000, 5_000)
    const unverified = await getJson(app.baseUrl, '/api/me', { token: issued.token })
    assert.equal(unverified.status, 200)
    assert.equal(unverified.body.id, me.body.id)

    // By Rownd user id
    const byId = await app.ace(['rownd:token', me.body.rowndUserId])
    assert.equal(byId.code, 0)
    assert.include(byId.stdout, `Existing Rownd user ${email}`)
  })

  test('rownd:token, server stopped: the user it creates is there when the server starts', async ({
    assert,
  }) => {
    const email = uniqueEmail('offline')
    const run = await app.ace(['rownd:token', email])
    assert.equal(run.code, 0, run.stdout + run.stderr)
    const token = tokenLine(run.stdout)!
    // Its own in-process emulator is gone, and said so
    assert.isFalse(existsSync(join(app.root, ADVERTISEMENT)))

    await app.start()
    const me = await getJson(app.baseUrl, '/api/me', { token })
    assert.equal(me.status, 200, app.logs())
    assert.equal(me.body.email, email)
  })

  test('rownd:token refuses without dev mode', async ({ assert }) => {
    const run = await app.ace(['rownd:token', 'a@example.com'], { ROWND_EMULATOR: 'false' })
    assert.equal(run.code, 1)
    assert.include(run.stdout + run.stderr, 'rownd:token needs dev mode: set ROWND_EMULATOR=true')
  })

  test('NODE_ENV=production refuses dev mode at boot, with a clear error', async ({ assert }) => {
    const error = await app.start({ NODE_ENV: 'production' }).then(
      () => undefined,
      (thrown: Error) => thrown
    )
    assert.instanceOf(error, Error)
    assert.include(error!.message, 'exited early')
    assert.include(error!.message, 'E_ROWND_CONFIG')
    assert.include(error!.message, 'ROWND_EMULATOR=true refused: NODE_ENV is production')

    const emulator = await app.ace(['rownd:emulator'], {
      NODE_ENV: 'production',
      ROWND_EMULATOR: 'false',
    })
    assert.equal(emulator.code, 1)
    assert.include(emulator.stdout + emulator.stderr, 'NODE_ENV is production')

    const token = await app.ace(['rownd:token', 'a@example.com'], { NODE_ENV: 'production' })
    assert.equal(token.code, 1)
    assert.include(token.stdout + token.stderr, 'ROWND_EMULATOR=true refused')
  })

  test('rownd:emulator: a standalone emulator on the same state, used through ROWND_EMULATOR_URL', async ({
    assert,
    cleanup,
  }) => {
    const port = await freePort()
    const standalone = await spawnAce(
      app,
      ['rownd:emulator', `--port=${port}`],
      // The env line is written after the "running at" one: wait for it
      /ROWND_EMULATOR_URL=(http:\/\/127\.0\.0\.1:\d+)/
    )
    cleanup(() => standalone.stop())
    const url = standalone.match[1]
    assert.equal(url, `http://127.0.0.1:${port}`)
    assert.include(standalone.output(), `Rownd emulator running at ${url}`)

    // A second one on the same state is refused
    const second = await app.ace(['rownd:emulator', `--port=${await freePort()}`])
    assert.equal(second.code, 1)
    assert.include(second.stdout + second.stderr, `already runs at ${url}`)

    await app.start({ ROWND_EMULATOR_URL: url })
    const email = uniqueEmail('standalone')
    const browser = new DevBrowser(app.baseUrl)
    const signIn = await browser.signIn(email)
    assert.equal(signIn.status, 200, app.logs())
    assert.equal(signIn.hub.setBaseUrl, url)

    const check = await doctor(app, { ROWND_EMULATOR_URL: url })
    assert.equal(check.run.code, 0, JSON.stringify(check.report, null, 2))
    assert.include(check.check('dev_mode').detail, `${url} (connected)`)

    // Without ROWND_EMULATOR_URL, ace commands find it through its advertisement
    const token = await app.ace(['rownd:token', email])
    assert.equal(token.code, 0, token.stdout + token.stderr)
    assert.include(token.stdout, `Existing Rownd user ${email}`)

    await app.stop()
    await standalone.stop()
    // Its users are in the state the in-process emulator reads next
    const state = JSON.parse(await app.readFile(STATE))
    assert.isTrue(state.users.some((user: any) => user.data.email === email))
  })

  test('ROWND_EMULATOR_URL pointing at nothing: a clear error at boot', async ({ assert }) => {
    const url = `http://127.0.0.1:${await freePort()}`
    const error = await app.start({ ROWND_EMULATOR_URL: url }).then(
      () => undefined,
      (thrown: Error) => thrown
    )
    assert.include(error?.message, `No Rownd emulator for this app answers at ${url}`)
  })
})
