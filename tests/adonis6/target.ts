/**
 * The AdonisJS 6 app as the target of the hostile HTTP corpus
 * (tests/security/hostile_http.spec.ts, through `startTarget()` when
 * ROWND_TEST_TARGET=adonis6): the v6 web kit on Node 20, configured with
 * `node ace configure rownd-adonis`, given the routes the corpus attacks
 * (the same surface tests/fixtures/test_app offers), migrated and started.
 *
 * Like the test app, CSRF is checked only under /csrf/ (where the session
 * routes are mounted a second time), so one app serves the cases with and
 * without shield in front of the session routes, and no proxy is trusted.
 */
import type { RowndEmulator } from '../../src/testing/index.ts'
import { adonis6Base, createAdonis6App } from '../helpers/adonis6_app.ts'
import { setEnvLines } from '../helpers/kit_app.ts'
import type { TestApp } from '../helpers/test_app.ts'

/** Routes the corpus calls, added to start/routes.ts after configure */
export const HOSTILE_ROUTES = `
import { registerRowndRoutes } from 'rownd-adonis'
import { middleware } from '#start/kernel'

router.get('/login', () => 'login page')

// The session routes once more, behind shield's CSRF check
registerRowndRoutes(router, { prefix: '/csrf/rownd', as: 'csrf_rownd' })
router.get('/csrf/token', ({ request }) => ({ token: request.csrfToken }))

router
  .get('/api/me', ({ auth }) => {
    const guard = auth.use('rownd')
    const user = guard.getUserOrFail()
    return { id: user.id, email: user.email, rowndUserId: user.rowndUserId, via: guard.via }
  })
  .use(middleware.rownd())

router
  .get('/dashboard', ({ auth }) => \`dashboard of \${auth.use('rownd').getUserOrFail().email}\`)
  .use(middleware.rownd())
`

export async function startAdonis6Target(options: {
  emulator: RowndEmulator
  env: Record<string, string | undefined>
}): Promise<TestApp> {
  const app = await createAdonis6App(await adonis6Base())
  try {
    // The corpus' users have no email (the emulator's defaults): the kit's
    // NOT NULL email is relaxed with configure's --nullable-email
    const configure = await app.ace(['configure', 'rownd-adonis', '--nullable-email'])
    if (configure.code !== 0) throw new Error(`configure failed:\n${configure.stdout}`)
    /** Replaces one exact piece of an app file (and fails if it is not there) */
    const edit = async (path: string, from: string, to: string) => {
      const text = await app.readFile(path)
      if (!text.includes(from)) throw new Error(`${path} has no ${JSON.stringify(from)}`)
      await app.writeFile(path, text.replace(from, to))
    }
    await edit(
      'app/models/user.ts',
      '  declare email: string\n',
      '  declare email: string\n\n  @column()\n  declare rowndUserId: string | null\n'
    )
    await app.writeFile(
      'start/routes.ts',
      `${await app.readFile('start/routes.ts')}\n${HOSTILE_ROUTES}`
    )
    await edit(
      'config/shield.ts',
      'exceptRoutes: [],',
      `exceptRoutes: (ctx) => !ctx.request.url().startsWith('/csrf/'),`
    )
    // As in the test app, no proxy is trusted: the corpus' X-Forwarded-Host
    // is a client's word. (AdonisJS trusts loopback proxies by default, and
    // these requests come from loopback.)
    await edit(
      'config/app.ts',
      'export const http = defineConfig({\n',
      'export const http = defineConfig({\n  trustProxy: () => false,\n'
    )
    const { emulator } = options
    await app.writeFile(
      '.env',
      setEnvLines(await app.readFile('.env'), {
        ROWND_APP_KEY: emulator.appKey,
        ROWND_APP_SECRET: emulator.appSecret,
        ROWND_API_URL: emulator.url,
      })
    )
    const migrate = await app.ace(['migration:run'])
    if (migrate.code !== 0) throw new Error(`migration:run failed:\n${migrate.stdout}`)

    const env: Record<string, string> = {}
    for (const [key, value] of Object.entries(options.env))
      if (value !== undefined) env[key] = value
    const url = await app.start(env)
    const child = app.process!
    return {
      url,
      process: child,
      output: app.output,
      db: app.knex(),
      sqliteFile: `${app.root}/tmp/db.sqlite3`,
      stop: () => app.destroy(),
    }
  } catch (error) {
    await app.destroy()
    throw error
  }
}
