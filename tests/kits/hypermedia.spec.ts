/**
 * The hypermedia (Edge) kit fixture behaves as the kit does, before
 * rownd-adonis is configured: password signup/login/logout on the `web`
 * session guard, CSRF-protected forms, the header from `auth.user`.
 */
import { test } from '@japa/runner'
import {
  createKitApp,
  HypermediaClient,
  redirectPath,
  type KitApp,
  type RunResult,
} from '../helpers/kit_app.ts'
import { assertUsersTable, uniqueEmail } from './helpers.ts'

const PASSWORD = 'correct-horse-battery'

test.group('kits | hypermedia', (group) => {
  let app: KitApp
  let migrate: RunResult
  let committedSchema: string

  group.setup(async () => {
    app = await createKitApp('hypermedia')
    // A stale line proves migration:run rewrites the file
    committedSchema = await app.readFile('database/schema.ts')
    await app.writeFile('database/schema.ts', `// stale\n${committedSchema}`)
    migrate = await app.ace(['migration:run'])
    if (migrate.code === 0) await app.start()
    return () => app.destroy()
  })

  /** Signs a new user up through the form; returns the signed-in client */
  async function signup(fields: { fullName?: string; email: string }) {
    const client = new HypermediaClient(app.baseUrl)
    const response = await client.submit('/signup', '/signup', {
      fullName: fields.fullName ?? '',
      email: fields.email,
      password: PASSWORD,
      passwordConfirmation: PASSWORD,
    })
    return { client, response }
  }

  test('migration:run creates the users table and regenerates database/schema.ts', async ({
    assert,
  }) => {
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
    assert.include(migrate.stdout, 'migrated database/migrations/1758943358073_create_users_table')
    assert.include(migrate.stdout, 'Schema classes generated')
    assert.equal(await app.readFile('database/schema.ts'), committedSchema)
    await assertUsersTable(assert, app)
  })

  test('anonymous home: Signup and Login links, assets from the committed Vite manifest', async ({
    assert,
  }) => {
    const client = new HypermediaClient(app.baseUrl)
    const { response, html } = await client.get('/')
    assert.equal(response.status, 200, app.logs())
    const header = HypermediaClient.header(html)
    assert.include(header, 'href="/signup"')
    assert.include(header, 'href="/login"')
    assert.notInclude(header, 'action="/logout"')

    const stylesheet = /<link rel="stylesheet" href="(\/assets\/app-[\w-]+\.css)"/.exec(html)
    const script = /<script type="module" defer src="(\/assets\/app-[\w-]+\.js)"/.exec(html)
    assert.exists(stylesheet, html)
    assert.exists(script, html)
    assert.equal((await fetch(`${app.baseUrl}${stylesheet![1]}`)).status, 200)
    assert.equal((await fetch(`${app.baseUrl}${script![1]}`)).status, 200)
  })

  test('signup signs the user in: the header shows the initials and a logout form', async ({
    assert,
  }) => {
    const email = uniqueEmail('ada')
    const { client, response } = await signup({ fullName: 'Ada Lovelace', email })
    assert.equal(response.status, 302, app.logs())
    assert.equal(redirectPath(response), '/')

    const { html } = await client.visit('/')
    const header = HypermediaClient.header(html)
    assert.match(header, /<span class="avatar">AL<\/span>/)
    assert.include(header, 'action="/logout"')
    assert.notInclude(header, 'href="/signup"')

    // Guest-only pages send a signed-in user home
    const login = await client.get('/login')
    assert.equal(login.response.status, 302)
    assert.equal(redirectPath(login.response), '/')

    const row = await app.db()('users').where({ email }).first()
    assert.equal(row.full_name, 'Ada Lovelace')
    assert.match(row.password, /^\$scrypt\$/)
  })

  test('logout, then login with the password; initials fall back to the email', async ({
    assert,
  }) => {
    const email = uniqueEmail('grace.hopper')
    const { client } = await signup({ email })

    const logout = await client.submit('/', '/logout', {})
    assert.equal(logout.status, 302, app.logs())
    assert.equal(redirectPath(logout), '/login')
    const anonymous = HypermediaClient.header((await client.visit('/')).html)
    assert.include(anonymous, 'href="/login"')
    assert.notInclude(anonymous, 'action="/logout"')

    const login = await client.submit('/login', '/login', { email, password: PASSWORD })
    assert.equal(login.status, 302, app.logs())
    assert.equal(redirectPath(login), '/')
    // No full name: "grace.hopper" @ "example..." gives GE
    const header = HypermediaClient.header((await client.visit('/')).html)
    assert.match(header, /<span class="avatar">GE<\/span>/)
  })

  test('a wrong password goes back to the login page with the error flashed', async ({
    assert,
  }) => {
    const email = uniqueEmail('wrong')
    const { client } = await signup({ email })
    await client.submit('/', '/logout', {})

    const response = await client.submit('/login', '/login', { email, password: 'not-it-at-all' })
    assert.equal(response.status, 302, app.logs())
    assert.equal(redirectPath(response), '/login')

    const { html } = await client.visit('/login')
    assert.match(html, /role="alert"[^>]*>[\s\S]*Invalid user credentials/)
    // The email is refilled, the password is not
    assert.match(html, new RegExp(`name="email"[^>]*value="${email}"`))
    assert.include(HypermediaClient.header(html), 'href="/login"')
  })

  test('anonymous POST /logout (the auth-only route) is redirected to /login', async ({
    assert,
  }) => {
    const client = new HypermediaClient(app.baseUrl)
    const response = await client.submit('/login', '/logout', {})
    assert.equal(response.status, 302, app.logs())
    assert.equal(redirectPath(response), '/login')
    const { html } = await client.visit('/login')
    assert.include(html, 'Unauthorized access')
  })

  test('a form posted without its _csrf token is refused by shield', async ({ assert }) => {
    const client = new HypermediaClient(app.baseUrl)
    await client.visit('/login')
    const response = await client.post(
      '/login',
      { email: 'x@example.test', password: 'y' },
      '/login'
    )
    // E_BAD_CSRF_TOKEN for an HTML request: flashed, redirected back
    assert.equal(response.status, 302, app.logs())
    assert.equal(redirectPath(response), '/login')
    const { html } = await client.visit('/login')
    assert.match(html, /role="alert"[^>]*>[\s\S]*Invalid or expired CSRF token/)
  })
})
