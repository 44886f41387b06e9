import { test } from '@japa/runner'
import { createFixtureApp, runConfigure, snapshot } from './helpers.ts'

const PATTERN = '/rownd/webhooks/:secret?'

/** config/shield.ts as `node ace add @adonisjs/shield` writes it (trimmed) */
const SHIELD_CONFIG = `import { defineConfig } from '@adonisjs/shield'

const shieldConfig = defineConfig({
  csp: {
    enabled: false,
    directives: {},
    reportOnly: false,
  },

  /**
   * Configure CSRF protection options. Refer documentation
   * to learn more
   */
  csrf: {
    enabled: true,
    exceptRoutes: [],
    enableXsrfCookie: false,
    methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  },
})

export default shieldConfig
`

test.group('configure | --webhooks', () => {
  test('a secret in .env (never in .env.example or the output), its validation, the CSRF exception', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    await fs.create('config/shield.ts', SHIELD_CONFIG)
    const { command, output } = await runConfigure(fs, ['--webhooks'])
    assert.notEqual(command.exitCode, 1, output)

    const env = await fs.contents('.env')
    const secret = /^ROWND_WEBHOOK_SECRET=([A-Za-z0-9_-]+)$/m.exec(env)?.[1]
    assert.isString(secret)
    assert.lengthOf(secret!, 43)
    assert.match(await fs.contents('.env.example'), /^ROWND_WEBHOOK_SECRET=$/m)
    assert.notInclude(output, secret!)
    assert.include(
      await fs.contents('start/env.ts'),
      'ROWND_WEBHOOK_SECRET: Env.schema.string.optional()'
    )

    const shield = await fs.contents('config/shield.ts')
    assert.include(shield, `    exceptRoutes: ['${PATTERN}'],`)
    // The rest of the file is as it was
    assert.equal(shield.replace(`'${PATTERN}'`, ''), SHIELD_CONFIG)

    // The session routes preload registers the webhook route with them
    assert.match(await fs.contents('start/rownd.ts'), /^registerRowndRoutes\(router\)$/m)
    assert.include(output, 'Generic webhook')
    assert.include(output, '/rownd/webhooks/<the ROWND_WEBHOOK_SECRET value of .env>')
  })

  test('running it again changes nothing (the secret is kept)', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    await fs.create('config/shield.ts', SHIELD_CONFIG)
    await runConfigure(fs, ['--webhooks'])
    const first = { ...(await snapshot(fs)), shield: await fs.contents('config/shield.ts') }
    const { command, output } = await runConfigure(fs, ['--webhooks'])
    assert.notEqual(command.exitCode, 1, output)
    const second = { ...(await snapshot(fs)), shield: await fs.contents('config/shield.ts') }
    assert.deepEqual(second, first)
  })

  test('an API-only app gets the routes preload with the webhook route only', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp({ session: false })
    cleanup(() => fs.cleanup())
    const { command, output } = await runConfigure(fs, ['--webhooks'])
    assert.notEqual(command.exitCode, 1, output)
    assert.include(await fs.contents('adonisrc.ts'), `() => import('#start/rownd')`)
    const routes = await fs.contents('start/rownd.ts')
    assert.match(routes, /^registerRowndRoutes\(router, \{ session: false \}\)$/m)
    assert.notInclude(routes, '{{')
    // No shield in this app: nothing to exempt
    assert.isFalse(await fs.exists('config/shield.ts'))
    assert.notInclude(output, 'csrf.exceptRoutes')
  })

  test('appends to a non-empty exceptRoutes, keeping its layout', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    const multiline = SHIELD_CONFIG.replace(
      'exceptRoutes: [],',
      `exceptRoutes: [\n      '/stripe/webhook',\n      '/github/hook',\n    ],`
    )
    await fs.create('config/shield.ts', multiline)
    await runConfigure(fs, ['--webhooks'])
    assert.include(
      await fs.contents('config/shield.ts'),
      `exceptRoutes: [\n      '/stripe/webhook',\n      '/github/hook',\n      '${PATTERN}',\n    ],`
    )

    const inline = await createFixtureApp()
    cleanup(() => inline.cleanup())
    await inline.create(
      'config/shield.ts',
      SHIELD_CONFIG.replace('exceptRoutes: [],', `exceptRoutes: ['/stripe/webhook'],`)
    )
    await runConfigure(inline, ['--webhooks'])
    assert.include(
      await inline.contents('config/shield.ts'),
      `exceptRoutes: ['/stripe/webhook', '${PATTERN}'],`
    )
  })

  test('adds exceptRoutes when csrf has none', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    await fs.create('config/shield.ts', SHIELD_CONFIG.replace('    exceptRoutes: [],\n', ''))
    await runConfigure(fs, ['--webhooks'])
    assert.include(
      await fs.contents('config/shield.ts'),
      `  csrf: {\n    exceptRoutes: ['${PATTERN}'],\n    enabled: true,`
    )
  })

  test('an exceptRoutes function is left alone and the line to add is printed', async ({
    assert,
    cleanup,
  }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    const custom = SHIELD_CONFIG.replace(
      'exceptRoutes: [],',
      `exceptRoutes: (ctx) => ctx.request.url().startsWith('/api/'),`
    )
    await fs.create('config/shield.ts', custom)
    const { output } = await runConfigure(fs, ['--webhooks'])
    assert.equal(await fs.contents('config/shield.ts'), custom)
    assert.include(output, `add '${PATTERN}' to csrf.exceptRoutes`)
  })

  test('follows a routePrefix set in config/rownd.ts', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp()
    cleanup(() => fs.cleanup())
    await fs.create('config/shield.ts', SHIELD_CONFIG)
    await fs.create(
      'config/rownd.ts',
      `import { defineConfig } from 'rownd-adonis'\n\nexport default defineConfig({\n  session: {\n    routePrefix: '/auth/rownd',\n  },\n})\n`
    )
    const { output } = await runConfigure(fs, ['--webhooks'])
    assert.include(
      await fs.contents('config/shield.ts'),
      `exceptRoutes: ['/auth/rownd/webhooks/:secret?'],`
    )
    assert.include(output, '/auth/rownd/webhooks/<the ROWND_WEBHOOK_SECRET value of .env>')
  })

  test('without --webhooks nothing about webhooks is written', async ({ assert, cleanup }) => {
    const fs = await createFixtureApp({ session: true })
    cleanup(() => fs.cleanup())
    await fs.create('config/shield.ts', SHIELD_CONFIG)
    await runConfigure(fs)
    assert.notInclude(await fs.contents('.env'), 'ROWND_WEBHOOK_SECRET')
    assert.notInclude(await fs.contents('start/env.ts'), 'ROWND_WEBHOOK_SECRET')
    assert.equal(await fs.contents('config/shield.ts'), SHIELD_CONFIG)
  })
})
