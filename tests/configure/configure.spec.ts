import { test } from '@japa/runner'
import {
  createFixtureApp,
  listFiles,
  runConfigure,
  snapshot,
  SESSION_AUTH_CONFIG,
} from './helpers.ts'

/** Every option of defineConfig, each of which config/rownd.ts shows */
const CONFIG_OPTIONS = [
  'appKey',
  'appSecret',
  'apiUrl',
  'appId',
  'issuer',
  'clockTolerance',
  'timeout',
  'maxTokenLength',
  'jwks',
  'loginPath',
  'hub',
  'scriptUrl',
  'baseUrl',
  'cache',
  'keysRefreshInterval',
  'keysMaxStale',
  'unknownKidCooldown',
  'appConfigTtl',
  'profileTtl',
  'profileMaxEntries',
  'verifiedTokenMaxEntries',
  'revocationMaxEntries',
  'retryBase',
  'retryMax',
  'store',
  'session',
  'routePrefix',
  'returnTo',
  'signOutReturnTo',
  'signOutFromRownd',
  'appGuard',
  'maxAge',
  'appUrl',
  'accept',
  'anonymous',
  'guest',
  'instant',
  'unverified',
  'revocations',
  'table',
  'recheckInterval',
  'webhooks',
  'secret',
  'auth',
  'header',
  'maxBodySize',
  'onUserDeleted',
]

const ALTER_MIGRATION = /^\d{13}_add_rownd_user_id_to_users_table\.ts$/
const REVOCATIONS_MIGRATION = /^\d{13}_create_rownd_revocations_table\.ts$/

test.group('configure | web app with session and Edge', () => {
  test('writes and edits every file', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ session: true, edge: true })
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)

    // adonisrc.ts: provider and the session routes preload
    const rc = await fs.contents('adonisrc.ts')
    assert.include(rc, `() => import('rownd-adonis/rownd_provider')`)
    assert.include(rc, `() => import('#start/rownd')`)
    assert.include(rc, `() => import('@adonisjs/auth/auth_provider')`)
    assert.include(rc, `() => import('rownd-adonis/commands')`)

    // config/rownd.ts: env-driven, every option present or commented
    const config = await fs.contents('config/rownd.ts')
    assert.include(config, `import env from '#start/env'`)
    assert.include(config, `import { defineConfig } from 'rownd-adonis'`)
    assert.include(config, `appKey: env.get('ROWND_APP_KEY'),`)
    assert.include(config, `appSecret: env.get('ROWND_APP_SECRET'),`)
    assert.include(config, `apiUrl: env.get('ROWND_API_URL', 'https://api.rownd.io'),`)
    assert.match(config, /export default rowndConfig\s*$/)
    for (const option of CONFIG_OPTIONS) {
      assert.match(config, new RegExp(`^\\s*(// )?${option}:`, 'm'), `option ${option}`)
    }
    assert.notInclude(config, '{{')
    // the app's session guard: Rownd sign-ins log in there too
    assert.match(config, /^\s*appGuard: 'web',$/m)

    // .env and .env.example
    const env = await fs.contents('.env')
    assert.include(env, 'APP_KEY=fixture-app-key-0123456789abcdef')
    assert.match(env, /^ROWND_APP_KEY=$/m)
    assert.match(env, /^ROWND_APP_SECRET=$/m)
    assert.match(env, /^ROWND_API_URL=https:\/\/api\.rownd\.io$/m)
    const example = await fs.contents('.env.example')
    assert.match(example, /^ROWND_APP_KEY=$/m)
    assert.match(example, /^ROWND_APP_SECRET=$/m)
    assert.match(example, /^ROWND_API_URL=https:\/\/api\.rownd\.io$/m)

    // start/env.ts validations
    const envTs = await fs.contents('start/env.ts')
    assert.include(envTs, 'ROWND_APP_KEY: Env.schema.string.optional()')
    assert.include(envTs, 'ROWND_APP_SECRET: Env.schema.string.optional()')
    assert.include(
      envTs,
      `ROWND_API_URL: Env.schema.string.optional({ format: 'url', tld: false })`
    )
    assert.include(envTs, 'APP_KEY: Env.schema.string()')

    // start/kernel.ts named middleware, existing ones kept
    const kernel = await fs.contents('start/kernel.ts')
    assert.include(kernel, `rownd: () => import('rownd-adonis/rownd_middleware')`)
    assert.include(kernel, `auth: () => import('#middleware/auth_middleware')`)
    // the session sync middleware right after auth's initialize middleware
    assert.include(
      kernel,
      [
        `  () => import('@adonisjs/auth/initialize_auth_middleware'),`,
        `  () => import('rownd-adonis/session_sync_middleware'),`,
      ].join('\n')
    )

    // start/rownd.ts session routes
    const routes = await fs.contents('start/rownd.ts')
    assert.include(routes, `import router from '@adonisjs/core/services/router'`)
    assert.include(routes, `import { registerRowndRoutes } from 'rownd-adonis'`)
    assert.match(routes, /^registerRowndRoutes\(router\)$/m)

    // migration: alter the existing users table
    const migrations = await listFiles(fs, 'database/migrations')
    assert.lengthOf(migrations, 3)
    const revocations = migrations.find((name) => REVOCATIONS_MIGRATION.test(name))
    assert.exists(revocations, migrations.join(', '))
    const revocationsSource = await fs.contents(`database/migrations/${revocations}`)
    assert.include(revocationsSource, `protected tableName = 'rownd_revocations'`)
    assert.include(revocationsSource, `table.primary(['rownd_user_id', 'token_hash'])`)
    const migration = migrations.find((name) => ALTER_MIGRATION.test(name))
    assert.exists(migration, migrations.join(', '))
    const source = await fs.contents(`database/migrations/${migration}`)
    assert.include(source, `import { BaseSchema } from '@adonisjs/lucid/schema'`)
    assert.include(source, `protected tableName = 'users'`)
    assert.include(source, 'this.schema.alterTable(this.tableName')
    assert.include(source, `table.string('rownd_user_id', 255).nullable().unique()`)
    assert.include(source, `table.dropUnique(['rownd_user_id'])`)
    assert.include(source, `table.dropColumn('rownd_user_id')`)
    assert.notInclude(source, 'createTable')

    // config/auth.ts: guard and import added, the rest intact
    const auth = await fs.contents('config/auth.ts')
    assert.include(auth, `import { rowndGuard, rowndUserProvider } from 'rownd-adonis'`)
    assert.include(
      auth,
      [
        '    rownd: rowndGuard({',
        '      provider: rowndUserProvider({',
        `        model: () => import('#models/user'),`,
        '      }),',
        '    }),',
        '  },',
      ].join('\n')
    )
    assert.notInclude(auth, 'useSession')
    assert.include(auth, `default: 'web'`)
    assert.include(auth, SESSION_AUTH_CONFIG.split('\n').slice(5, 13).join('\n'))
    assert.include(auth, 'extends InferAuthenticators<typeof authConfig> {}')

    // what is left, Edge included
    assert.include(output, 'node ace migration:run')
    assert.include(output, 'Set ROWND_APP_KEY and ROWND_APP_SECRET')
    assert.include(output, '@rowndHub()')
    assert.include(output, 'rowndUserId')
  })

  test('running it again changes nothing', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ session: true, edge: true })
    cleanup(() => fs.cleanup())
    await runConfigure(fs)
    // The user fills in the credentials between the two runs
    const env = await fs.contents('.env')
    await fs.create(
      '.env',
      env
        .replace(/^ROWND_APP_KEY=$/m, 'ROWND_APP_KEY=key_live')
        .replace(/^ROWND_APP_SECRET=$/m, 'ROWND_APP_SECRET=secret_live')
    )
    const before = await snapshot(fs)

    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)
    assert.deepEqual(await snapshot(fs), before)
    assert.lengthOf(await listFiles(fs, 'database/migrations'), 3)
    assert.equal((await fs.contents('config/auth.ts')).match(/rowndGuard\(/g)?.length, 1)
    assert.equal((await fs.contents('adonisrc.ts')).match(/rownd_provider/g)?.length, 1)
    assert.equal((await fs.contents('adonisrc.ts')).match(/#start\/rownd/g)?.length, 1)
    assert.equal((await fs.contents('start/kernel.ts')).match(/rownd_middleware/g)?.length, 1)
    assert.equal((await fs.contents('start/env.ts')).match(/ROWND_APP_KEY/g)?.length, 1)
    assert.include(output, 'File already exists')
    assert.include(output, 'a migration already adds rownd_user_id')
    assert.include(output, 'a migration already creates "rownd_revocations"')
    assert.equal(
      (await fs.contents('start/kernel.ts')).match(/session_sync_middleware/g)?.length,
      1
    )
    assert.notInclude(output, 'migration:run')
    assert.include(output, 'the rownd guard is already there')
    assert.notInclude(output, 'Set ROWND_APP_KEY and ROWND_APP_SECRET')
  })

  test('--force overwrites the files it writes, keeps credentials and migration name', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    await runConfigure(fs)
    const pristine = await snapshot(fs)
    const [migration] = (await listFiles(fs, 'database/migrations')).filter((name) =>
      ALTER_MIGRATION.test(name)
    )
    await fs.create('config/rownd.ts', '// edited')
    await fs.create('start/rownd.ts', '// edited')
    await fs.create(`database/migrations/${migration}`, "// edited: rownd_user_id on 'users'")
    const env = (await fs.contents('.env')).replace(/^ROWND_APP_KEY=$/m, 'ROWND_APP_KEY=kept')
    await fs.create('.env', env)

    const { command, output } = await runConfigure(fs, ['--force'])
    assert.notEqual(command.exitCode, 1, output)
    assert.equal(await fs.contents('config/rownd.ts'), pristine['config/rownd.ts'])
    assert.equal(await fs.contents('start/rownd.ts'), pristine['start/rownd.ts'])
    assert.equal(
      await fs.contents(`database/migrations/${migration}`),
      pristine[`database/migrations/${migration}`]
    )
    assert.lengthOf(await listFiles(fs, 'database/migrations'), 3)
    assert.match(await fs.contents('.env'), /^ROWND_APP_KEY=kept$/m)
    assert.equal((await fs.contents('config/auth.ts')).match(/rowndGuard\(/g)?.length, 1)
  })

  test('--api-only skips the session routes and the preload', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ session: true, edge: true })
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs, ['--api-only'])
    assert.notEqual(command.exitCode, 1, output)
    assert.isFalse(await fs.exists('start/rownd.ts'))
    const rc = await fs.contents('adonisrc.ts')
    assert.include(rc, 'rownd-adonis/rownd_provider')
    assert.notInclude(rc, '#start/rownd')
    assert.include(await fs.contents('config/auth.ts'), 'useSession: false,')
    assert.include(output, 'API-only')
    assert.notInclude(output, '@rowndHub()')
  })

  test('values given as flags land in .env, the secret never in .env.example', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs, [
      '--app-key=key_123',
      '--app-secret=secret_456',
      '--api-url=http://127.0.0.1:4010',
    ])
    assert.notEqual(command.exitCode, 1, output)
    const env = await fs.contents('.env')
    assert.match(env, /^ROWND_APP_KEY=key_123$/m)
    assert.match(env, /^ROWND_APP_SECRET=secret_456$/m)
    assert.match(env, /^ROWND_API_URL=http:\/\/127\.0\.0\.1:4010$/m)
    const example = await fs.contents('.env.example')
    assert.match(example, /^ROWND_APP_SECRET=$/m)
    assert.notInclude(example, 'secret_456')
    assert.notInclude(output, 'secret_456')
    assert.notInclude(output, 'Set ROWND_APP_KEY and ROWND_APP_SECRET')
  })
})

test.group('configure | API-only app (no session)', () => {
  test('adds the bearer-only setup', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ session: false })
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)

    const rc = await fs.contents('adonisrc.ts')
    assert.include(rc, `() => import('rownd-adonis/rownd_provider')`)
    assert.notInclude(rc, '#start/rownd')
    assert.isFalse(await fs.exists('start/rownd.ts'))
    assert.isTrue(await fs.exists('config/rownd.ts'))
    assert.include(
      await fs.contents('start/kernel.ts'),
      `rownd: () => import('rownd-adonis/rownd_middleware')`
    )
    assert.include(
      await fs.contents('start/env.ts'),
      'ROWND_APP_SECRET: Env.schema.string.optional()'
    )
    const auth = await fs.contents('config/auth.ts')
    assert.include(auth, 'rownd: rowndGuard({\n      useSession: false,')
    assert.include(auth, `import { rowndGuard, rowndUserProvider } from 'rownd-adonis'`)
    const migrations = await listFiles(fs, 'database/migrations')
    assert.isTrue(migrations.some((name) => ALTER_MIGRATION.test(name)))
    assert.include(output, 'No @adonisjs/session provider found')
    assert.notInclude(output, '@rowndHub()')
  })

  test('prints the guard to paste when config/auth.ts has an unusual shape', async ({
    assert,
    cleanup,
  }) => {
    const custom = `import { defineConfig } from '@adonisjs/auth'
import { guards } from '#config/guards'

export default defineConfig({ default: 'api', guards })
`
    const fs = await createFixtureApp({ session: false, authConfig: custom })
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)
    assert.equal(await fs.contents('config/auth.ts'), custom)
    assert.include(output, 'Cannot add the rownd guard to config/auth.ts automatically')
    assert.include(output, `import { rowndGuard, rowndUserProvider } from 'rownd-adonis'`)
    assert.include(
      output,
      `rownd: rowndGuard({ provider: rowndUserProvider({ model: () => import('#models/user') }), useSession: false }),`
    )
  })

  test('prints the guard to paste when config/auth.ts is missing', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ authConfig: null })
    cleanup(() => fs.cleanup())
    const { output } = await runConfigure(fs)
    assert.isFalse(await fs.exists('config/auth.ts'))
    assert.include(
      output,
      `rownd: rowndGuard({ provider: rowndUserProvider({ model: () => import('#models/user') }) }),`
    )
  })
})

test.group('configure | migrations', () => {
  test('--table with no migration creating it writes a create-table migration', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs, ['--table=accounts'])
    assert.notEqual(command.exitCode, 1, output)
    const created = (await listFiles(fs, 'database/migrations')).find((name) =>
      /^\d{13}_create_accounts_table\.ts$/.test(name)
    )
    assert.exists(created)
    const source = await fs.contents(`database/migrations/${created}`)
    assert.include(source, `protected tableName = 'accounts'`)
    assert.include(source, 'this.schema.createTable(this.tableName')
    assert.include(source, `table.increments('id')`)
    assert.include(source, `table.string('email', 254).nullable().unique()`)
    assert.include(source, `table.string('full_name').nullable()`)
    assert.include(source, `table.string('rownd_user_id', 255).nullable().unique()`)
    assert.include(source, `table.timestamp('created_at')`)
    assert.include(source, `table.timestamp('updated_at')`)
    assert.include(source, 'this.schema.dropTable(this.tableName)')

    // a second run finds it and adds nothing
    await runConfigure(fs, ['--table=accounts'])
    assert.lengthOf(await listFiles(fs, 'database/migrations'), 3)
  })

  test('no users migration at all: creates the users table', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ usersMigration: false })
    cleanup(() => fs.cleanup())
    await runConfigure(fs)
    const files = await listFiles(fs, 'database/migrations')
    assert.lengthOf(files, 2)
    const created = files.find((name) => /^\d{13}_create_users_table\.ts$/.test(name))!
    assert.exists(created, files.join(', '))
    assert.include(await fs.contents(`database/migrations/${created}`), 'createTable')
    assert.isTrue(files.some((name) => REVOCATIONS_MIGRATION.test(name)))
  })

  test('--create-table writes the create-table variant even when one exists', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    await runConfigure(fs, ['--create-table', '--table=members'])
    const files = await listFiles(fs, 'database/migrations')
    assert.isTrue(files.some((name) => /^\d{13}_create_members_table\.ts$/.test(name)))
    const fs2 = await createFixtureApp()
    cleanup(() => fs2.cleanup())
    await runConfigure(fs2, ['--create-table'])
    const files2 = await listFiles(fs2, 'database/migrations')
    assert.lengthOf(files2, 3)
    const created = files2.find(
      (name) => name !== '1700000000000_create_users_table.ts' && !REVOCATIONS_MIGRATION.test(name)
    )!
    assert.match(created, /^\d{13}_create_users_table\.ts$/)
  })

  test('--force --create-table rewrites an existing migration in its own variant', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    await runConfigure(fs)
    const before = await listFiles(fs, 'database/migrations')
    await runConfigure(fs, ['--force', '--create-table'])
    const after = await listFiles(fs, 'database/migrations')
    assert.deepEqual(after, before)
    const migration = after.find((name) => ALTER_MIGRATION.test(name))!
    assert.include(await fs.contents(`database/migrations/${migration}`), 'alterTable')
  })

  test('an invalid --table fails before writing anything', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    const before = await snapshot(fs)
    const { command, output } = await runConfigure(fs, ['--table=users; drop table x'])
    assert.equal(command.exitCode, 1)
    assert.include(output, 'Invalid --table')
    assert.deepEqual(await snapshot(fs), before)
  })

  test('without Lucid no migration is written and the column is listed as left to do', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ lucid: false, usersMigration: false })
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)
    assert.lengthOf(await listFiles(fs, 'database/migrations'), 0)
    assert.include(output, '@adonisjs/lucid is not installed')
    assert.notInclude(output, 'node ace migration:run')
  })
})

test.group('configure | app without auth', () => {
  test('fails with a precise message and writes nothing', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({
      authInstalled: false,
      authProvider: false,
      authConfig: null,
    })
    cleanup(() => fs.cleanup())
    const before = await snapshot(fs)
    const { command, output } = await runConfigure(fs)
    assert.equal(command.exitCode, 1)
    assert.include(output, 'rownd-adonis needs @adonisjs/auth, which is not installed')
    assert.include(output, 'node ace add @adonisjs/auth')
    assert.deepEqual(await snapshot(fs), before)
    assert.isFalse(await fs.exists('config/rownd.ts'))
    assert.lengthOf(await listFiles(fs, 'database/migrations'), 1)
  })

  test('fails when @adonisjs/auth is installed but not registered', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ authProvider: false })
    cleanup(() => fs.cleanup())
    const before = await snapshot(fs)
    const { command, output } = await runConfigure(fs)
    assert.equal(command.exitCode, 1)
    assert.include(output, 'whose provider is not registered in adonisrc.ts')
    assert.include(output, 'node ace configure @adonisjs/auth')
    assert.deepEqual(await snapshot(fs), before)
  })
})

/** config/auth.ts of an app whose default guard is access tokens (the api starter kit's shape) */
const TOKENS_AUTH_CONFIG = `import { defineConfig } from '@adonisjs/auth'
import { sessionGuard, sessionUserProvider } from '@adonisjs/auth/session'
import { tokensGuard, tokensUserProvider } from '@adonisjs/auth/access_tokens'

const authConfig = defineConfig({
  default: 'api',
  guards: {
    api: tokensGuard({
      provider: tokensUserProvider({ tokens: 'accessTokens', model: () => import('#models/user') }),
    }),
    web: sessionGuard({
      useRememberMeTokens: false,
      provider: sessionUserProvider({ model: () => import('#models/user') }),
    }),
  },
})

export default authConfig
`

const AUTH_MIDDLEWARE = `import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import type { Authenticators } from '@adonisjs/auth/types'

export default class AuthMiddleware {
  async handle(ctx: HttpContext, next: NextFn, options: { guards?: (keyof Authenticators)[] } = {}) {
    await ctx.auth.authenticateUsing(options.guards)
    return next()
  }
}
`

test.group('configure | starter-kit shapes', () => {
  test('default tokens guard: middleware.auth() also accepts Rownd tokens, app guard is web', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true, authConfig: TOKENS_AUTH_CONFIG })
    cleanup(() => fs.cleanup())
    await fs.create('app/middleware/auth_middleware.ts', AUTH_MIDDLEWARE)
    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)
    const middleware = await fs.contents('app/middleware/auth_middleware.ts')
    assert.include(middleware, `ctx.auth.authenticateUsing(options.guards ?? ['rownd', 'api'])`)
    assert.match(await fs.contents('config/rownd.ts'), /^\s*appGuard: 'web',$/m)
    assert.include(output, `guards 'rownd', then 'api'`)
    // The steps left speak of the kit's own middleware.auth(), not of middleware.rownd()
    assert.include(
      output,
      'middleware.auth() now accepts Rownd bearer tokens and Rownd sessions, then your "api" guard'
    )
    assert.notInclude(output, 'use middleware.rownd()')

    // a second run leaves it alone
    await runConfigure(fs)
    assert.equal(await fs.contents('app/middleware/auth_middleware.ts'), middleware)
  })

  test('a default session guard leaves the auth middleware untouched', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    await fs.create('app/middleware/auth_middleware.ts', AUTH_MIDDLEWARE)
    await runConfigure(fs)
    assert.equal(await fs.contents('app/middleware/auth_middleware.ts'), AUTH_MIDDLEWARE)
  })

  test('@rowndHub() goes into the one Edge layout; a sign-in button is left to do', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true, edge: true })
    cleanup(() => fs.cleanup())
    const layout = [
      '<!DOCTYPE html>',
      '<html lang="en-us">',
      '  <head>',
      '    <meta charset="utf-8" />',
      `    @vite(['resources/css/app.css', 'resources/js/app.js'])`,
      '  </head>',
      '  <body>',
      '    {{{ await $slots.main() }}}',
      '  </body>',
      '</html>',
      '',
    ].join('\n')
    await fs.create('resources/views/components/layout.edge', layout)
    await fs.create('resources/views/pages/home.edge', '@layout()\n  <h1>Home</h1>\n@end\n')
    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)
    const updated = await fs.contents('resources/views/components/layout.edge')
    assert.include(updated, `    @rowndHub()\n  </head>`)
    assert.include(output, '@rowndHub() in the <head> of resources/views/components/layout.edge')
    assert.notInclude(output, 'Add @rowndHub() inside <head>')
    assert.include(output, 'data-rownd-sign-in-trigger')

    await runConfigure(fs)
    assert.equal(await fs.contents('resources/views/components/layout.edge'), updated)
  })

  test('a model extending the generated schema needs no hand-written column', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    await fs.create(
      'app/models/user.ts',
      `import { UserSchema } from '#database/schema'\nexport default class User extends UserSchema {}\n`
    )
    const { output } = await runConfigure(fs)
    assert.notInclude(output, 'rowndUserId')
    assert.include(output, 'node ace migration:run')
  })

  test('--nullable-email writes a migration whose down() refuses to lose data', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs, ['--nullable-email'])
    assert.notEqual(command.exitCode, 1, output)
    const files = await listFiles(fs, 'database/migrations')
    const nullable = files.find((name) => /^\d{13}_make_users_email_nullable\.ts$/.test(name))
    assert.exists(nullable, files.join(', '))
    const source = await fs.contents(`database/migrations/${nullable}`)
    assert.include(source, `table.string('email', 254).nullable().alter()`)
    assert.include(source, `table.string('email', 254).notNullable().alter()`)
    assert.include(source, `'Cannot make ' + this.tableName + '.email NOT NULL again: '`)
    await runConfigure(fs, ['--nullable-email'])
    assert.lengthOf(await listFiles(fs, 'database/migrations'), files.length)
  })
})

test.group('configure | upgrading an app set up by rownd-adonis 0.1.0', () => {
  test('writes only the revocations migration and points out appGuard', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    // What 0.1.0 left: its config (no appGuard), its migration, guard, provider
    await fs.create(
      'config/rownd.ts',
      `import env from '#start/env'\nimport { defineConfig } from 'rownd-adonis'\n\nexport default defineConfig({ appKey: env.get('ROWND_APP_KEY') })\n`
    )
    await fs.create(
      'database/migrations/1700000000001_add_rownd_user_id_to_users_table.ts',
      `export default class { tableName = 'users'; up() { /* rownd_user_id */ } }\n`
    )
    const before = await listFiles(fs, 'database/migrations')
    const { command, output } = await runConfigure(fs)
    assert.notEqual(command.exitCode, 1, output)
    const after = await listFiles(fs, 'database/migrations')
    const added = after.filter((name) => !before.includes(name))
    assert.lengthOf(added, 1)
    assert.match(added[0], REVOCATIONS_MIGRATION)
    assert.include(output, 'node ace migration:run')
    assert.include(output, `session: { appGuard: 'web' }`)
    assert.notInclude(await fs.contents('config/rownd.ts'), 'appGuard')
  })
})
