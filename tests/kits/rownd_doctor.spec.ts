/**
 * Issue 17, `node ace rownd:doctor` on the hypermedia kit installed from
 * the tarball and configured as a user would, against the emulator: it
 * passes on the correct app, and names each seeded misconfiguration with
 * a fix, exit code 1 on failures (0 on warnings alone), never printing the
 * app secret.
 */
import { test } from '@japa/runner'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RowndEmulator } from '../../src/testing/index.ts'
import { createKitApp, KITS_ROOT, type KitApp, type RunResult } from '../helpers/kit_app.ts'
import { API_ME_ROUTE, doctor, setEnv, withFile, type DoctorRun } from './tooling_helpers.ts'

const LAYOUT = 'resources/views/components/layout.edge'
const WRONG_SECRET = 'ras_not_this_apps_secret_0123456789'

test.group('kits | rownd:doctor', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let beforeMigration: DoctorRun
  let migrate: RunResult
  /** Every output of the doctor in this group, to look for the secret */
  const outputs: string[] = []
  const run = async (env?: Record<string, string>) => {
    const result = await doctor(app, env)
    outputs.push(result.run.stdout + result.run.stderr)
    return result
  }

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('hypermedia')
    const configure = await app.ace(['configure', 'rownd-adonis'])
    if (configure.code !== 0) throw new Error(configure.stdout + configure.stderr)
    await setEnv(app, {
      ROWND_APP_KEY: emulator.appKey,
      ROWND_APP_SECRET: emulator.appSecret,
      ROWND_API_URL: emulator.url,
    })
    await app.writeFile(
      'start/routes.ts',
      `${await app.readFile('start/routes.ts')}\n${API_ME_ROUTE}`
    )
    // The first hour: configured, credentials set, migration forgotten
    beforeMigration = await run()
    migrate = await app.ace(['migration:run'])
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  test('listed by "node ace list", with --help', async ({ assert }) => {
    const list = await app.ace(['list'])
    for (const name of ['rownd:doctor', 'rownd:emulator', 'rownd:token', 'rownd:revoke']) {
      assert.include(list.stdout, name)
    }
    const help = await app.ace(['rownd:doctor', '--help'])
    assert.equal(help.code, 0)
    assert.include(help.stdout, '--json')
    assert.include(help.stdout, 'Exit code 1 when something fails')
    const token = await app.ace(['rownd:token', '--help'])
    for (const flag of ['--expires-in', '--auth-level', '--unverified', '--path', '--json']) {
      assert.include(token.stdout, flag)
    }
    assert.include((await app.ace(['rownd:emulator', '--help'])).stdout, '--port')
  })

  test('before migration:run: it names the missing migration and exits 1', async ({ assert }) => {
    assert.equal(beforeMigration.run.code, 1)
    assert.deepEqual(beforeMigration.failed, ['database.migration'])
    const check = beforeMigration.check('database.migration')
    assert.include(check.detail, 'table "users" does not exist on connection "sqlite"')
    assert.include(check.fix, 'node ace migration:run')
  })

  test('a correct app passes: every check, exit 0, a table with the four columns', async ({
    assert,
  }) => {
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
    const result = await run()
    assert.equal(result.run.code, 0, JSON.stringify(result.report, null, 2))
    assert.isTrue(result.report.ok)
    assert.deepEqual(result.failed, [])
    assert.deepEqual(result.warned, [])
    assert.isAtLeast(result.report.checks.length, 16)
    assert.include(result.check('database.migration').detail, 'users.rownd_user_id (unique)')
    assert.include(result.check('rownd.app_key').detail, emulator.appId)
    assert.include(result.check('http.csrf').detail, `@rowndHub() in ${LAYOUT}`)
    assert.include(result.check('http.csrf').detail, 'X-CSRF-TOKEN')

    const table = await app.ace(['rownd:doctor'])
    outputs.push(table.stdout + table.stderr)
    assert.equal(table.code, 0)
    assert.match(table.stdout, /Check\s+│\s+Status\s+│\s+Detail\s+│\s+Fix/)
    assert.include(table.stdout, '✔ pass')
    assert.include(table.stdout + table.stderr, '16 passed, 0 warning(s), 0 failed')
  })

  test('wrong app key: Rownd refused it', async ({ assert }) => {
    const result = await run({ ROWND_APP_KEY: 'key_not_this_app' })
    assert.equal(result.run.code, 1)
    assert.include(result.failed, 'rownd.app_key')
    assert.include(result.check('rownd.app_key').detail, 'refused the app key (401')
    assert.include(result.check('rownd.app_key').fix, 'ROWND_APP_KEY')
  })

  test('wrong app secret: Rownd refused it, and neither secret is printed', async ({ assert }) => {
    const result = await run({ ROWND_APP_SECRET: WRONG_SECRET })
    assert.equal(result.run.code, 1)
    assert.deepEqual(result.failed, ['rownd.app_secret'])
    assert.include(result.check('rownd.app_secret').fix, 'ROWND_APP_SECRET')
    assert.notInclude(result.run.stdout + result.run.stderr, WRONG_SECRET)
  })

  test('empty credentials', async ({ assert }) => {
    const result = await run({ ROWND_APP_KEY: '' })
    assert.equal(result.run.code, 1)
    assert.include(result.check('credentials').detail, 'ROWND_APP_KEY is empty')
  })

  test('guard missing from config/auth.ts', async ({ assert }) => {
    const kitAuth = await readFile(join(KITS_ROOT, 'hypermedia/config/auth.ts'), 'utf8')
    const result = await withFile(
      app,
      'config/auth.ts',
      () => kitAuth,
      () => run()
    )
    assert.equal(result.run.code, 1)
    assert.include(result.failed, 'auth.guard')
    assert.include(
      result.check('auth.guard').detail,
      'No guard uses rowndGuard; guards: web (session)'
    )
    assert.include(result.check('auth.guard').fix, 'rowndGuard({')
  })

  test('session routes missing (preload removed from adonisrc.ts)', async ({ assert }) => {
    const result = await withFile(
      app,
      'adonisrc.ts',
      (rc) => rc.replace(", () => import('#start/rownd')", ''),
      () => run()
    )
    assert.equal(result.run.code, 1)
    assert.deepEqual(result.failed, ['http.routes'])
    assert.include(
      result.check('http.routes').detail,
      "'#start/rownd' is not in adonisrc.ts preloads"
    )
    assert.include(result.check('http.routes').fix, 'registerRowndRoutes(router)')
  })

  test('Rownd down', async ({ assert, cleanup }) => {
    await emulator.stop()
    cleanup(() => emulator.restart())
    const result = await run()
    assert.equal(result.run.code, 1)
    assert.include(result.failed, 'rownd.app_key')
    assert.include(result.failed, 'rownd.jwks')
    assert.include(result.check('rownd.app_key').detail, 'ECONNREFUSED')
    assert.include(result.check('rownd.app_key').detail, '503 E_ROWND_UNAVAILABLE')
  })

  test('JWKS unusable', async ({ assert, cleanup }) => {
    emulator.setFault('jwks', { kind: 'malformed_jwks' })
    cleanup(() => emulator.setFault('jwks', null))
    const result = await run()
    assert.deepEqual(result.failed, ['rownd.jwks'])
    assert.include(result.check('rownd.jwks').detail, 'none a usable Ed25519')
  })

  test("skewed clock, read off the emulator's Date header", async ({ assert, cleanup }) => {
    emulator.setClockSkew(10 * 60_000)
    cleanup(() => emulator.setClockSkew(0))
    const result = await run()
    assert.equal(result.run.code, 1)
    assert.deepEqual(result.failed, ['clock'])
    const check = result.check('clock')
    assert.match(check.detail, /about 600 s behind Rownd's/)
    assert.include(check.detail, 'E_ROWND_TOKEN_NOT_YET_VALID')
    assert.include(check.fix, 'NTP')

    emulator.setClockSkew(-10 * 60_000)
    const ahead = await run()
    assert.match(ahead.check('clock').detail, /about 600 s ahead of Rownd's/)
  })

  test('cookie store without persisted sign-outs, and a proxy trusted by nobody: warnings, exit 0', async ({
    assert,
  }) => {
    const result = await withFile(
      app,
      'config/rownd.ts',
      (config) => config.replace(/revocations: \{[\s\S]*?\n {2}\},/, 'revocations: false,'),
      () =>
        withFile(
          app,
          'config/app.ts',
          (config) =>
            config.replace(
              'generateRequestId: true,',
              'generateRequestId: true,\n  trustProxy: () => false,'
            ),
          () => run({ APP_URL: 'https://app.example.com' })
        )
    )
    assert.equal(result.run.code, 0, JSON.stringify(result.report, null, 2))
    assert.deepEqual(result.failed, [])
    assert.sameMembers(result.warned, ['http.session_store', 'http.proxy'])
    assert.include(
      result.check('http.session_store').detail,
      'cookie store with revocations: false'
    )
    assert.include(result.check('http.proxy').detail, 'trustProxy trusts no proxy')
    assert.include(result.check('http.proxy').detail, 'app.example.com')
  })

  test('memory session store and a Secure cookie over http', async ({ assert }) => {
    const result = await withFile(
      app,
      'config/session.ts',
      (config) => config.replace('secure: app.inProduction,', 'secure: true,'),
      () => run({ SESSION_DRIVER: 'memory', APP_URL: 'http://app.example.com' })
    )
    assert.equal(result.run.code, 1)
    assert.deepEqual(result.failed, ['http.proxy'])
    assert.include(
      result.check('http.proxy').detail,
      'the session cookie is Secure but APP_URL is http://app.example.com'
    )
    assert.deepEqual(result.warned, ['http.session_store'])
    assert.include(result.check('http.session_store').detail, 'memory store')
  })

  test('CSRF blocking: nothing sends the token; then exempt through exceptRoutes (it says which)', async ({
    assert,
  }) => {
    const noTag = (layout: string) => layout.replace(/\n\s*@rowndHub\(\)/, '')
    const blocked = await withFile(app, LAYOUT, noTag, () => run())
    assert.equal(blocked.run.code, 1)
    assert.deepEqual(blocked.failed, ['http.csrf'])
    assert.include(blocked.check('http.csrf').detail, 'every sign-in gets 403')
    assert.include(blocked.check('http.csrf').fix, 'csrf.exceptRoutes')
    // And the page loads no Hub at all
    assert.include(blocked.warned, 'hub')

    const exempt = await withFile(app, LAYOUT, noTag, () =>
      withFile(
        app,
        'config/shield.ts',
        (shield) =>
          shield.replace(
            'exceptRoutes: [],',
            "exceptRoutes: ['/rownd/session_authenticate', '/rownd/session_sign_out'],"
          ),
        () => run()
      )
    )
    assert.notInclude(exempt.failed, 'http.csrf')
    assert.include(exempt.check('http.csrf').detail, 'exempt: both routes are in csrf.exceptRoutes')
  })

  test('a Content-Security-Policy that blocks the Hub', async ({ assert }) => {
    const result = await withFile(
      app,
      'config/shield.ts',
      (shield) =>
        shield.replace(
          /csp: \{\s*enabled: false,\s*directives: \{\},/,
          `csp: { enabled: true, directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'", '@nonce'] },`
        ),
      () => run()
    )
    assert.equal(result.run.code, 1)
    assert.deepEqual(result.failed, ['hub.csp'])
    assert.include(result.check('hub.csp').detail, 'script-src does not allow https://hub.rownd.io')
    assert.include(
      result.check('hub.csp').detail,
      `connect-src does not allow https://api.rownd.io`
    )
  })

  test('an app that does not boot is reported, not a crash', async ({ assert }) => {
    const result = await withFile(
      app,
      'config/rownd.ts',
      (config) =>
        config.replace("loginPath: '/login',", "loginPath: '/login',\n  timeout: 'soon',"),
      () => run()
    )
    assert.equal(result.run.code, 1)
    assert.include(result.failed, 'app.boot')
    assert.match(result.check('app.boot').detail, /invalid duration.*soon/i)
    assert.include(result.check('app.boot').fix, 'Fix the error above')
  })

  test('the app secret appears in no output of this group', async ({ assert }) => {
    assert.isAtLeast(outputs.length, 10)
    for (const output of outputs) {
      assert.notInclude(output, emulator.appSecret)
      assert.notInclude(output, WRONG_SECRET)
    }
  })
})
