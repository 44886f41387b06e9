/**
 * The inertia-react kit fixture behaves as the kit does, before rownd-adonis
 * is configured: Inertia visits over the `web` session guard, the signed-in
 * user shared with every page through UserTransformer, XSRF cookie → header.
 */
import { createHash } from 'node:crypto'
import { test } from '@japa/runner'
import {
  createKitApp,
  InertiaClient,
  redirectPath,
  type KitApp,
  type RunResult,
} from '../helpers/kit_app.ts'
import { assertUsersTable, uniqueEmail } from './helpers.ts'

const PASSWORD = 'correct-horse-battery'

test.group('kits | inertia_react', (group) => {
  let app: KitApp
  let migrate: RunResult
  let committedSchema: string

  group.setup(async () => {
    app = await createKitApp('inertia_react')
    committedSchema = await app.readFile('database/schema.ts')
    await app.writeFile('database/schema.ts', `// stale\n${committedSchema}`)
    migrate = await app.ace(['migration:run'])
    if (migrate.code === 0) await app.start()
    return () => app.destroy()
  })

  /** Signs a new user up through an Inertia visit; returns the signed-in client */
  async function signup(fields: { fullName?: string; email: string }) {
    const client = new InertiaClient(app.baseUrl)
    await client.load('/signup')
    const visit = await client.visit('POST', '/signup', {
      fullName: fields.fullName ?? '',
      email: fields.email,
      password: PASSWORD,
      passwordConfirmation: PASSWORD,
    })
    return { client, ...visit }
  }

  test('migration:run creates the users table and regenerates database/schema.ts', async ({
    assert,
  }) => {
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
    assert.include(migrate.stdout, 'migrated database/migrations/1761885935168_create_users_table')
    assert.include(migrate.stdout, 'Schema classes generated')
    assert.equal(await app.readFile('database/schema.ts'), committedSchema)
    await assertUsersTable(assert, app)
  })

  test('first load: the root view with the page object, the built frontend, an XSRF cookie', async ({
    assert,
  }) => {
    const client = new InertiaClient(app.baseUrl)
    const { response, html, page } = await client.load('/')
    assert.equal(response.status, 200, app.logs())
    assert.equal(page!.component, 'home')
    assert.equal(page!.url, '/')
    assert.notProperty(page!.props, 'user')
    assert.deepEqual(page!.props.errors, {})
    assert.exists(client.jar.get('XSRF-TOKEN'))

    // The asset version is the md5 of the Vite manifest the page was built from
    const manifest = await app.readFile('public/assets/.vite/manifest.json')
    const expected = createHash('md5')
      .update(JSON.stringify(JSON.parse(manifest)))
      .digest('hex')
    assert.equal(page!.version, expected)

    const script = /<script type="module" defer src="(\/assets\/app-[\w-]+\.js)"/.exec(html)
    assert.exists(script, html)
    const bundle = await fetch(`${app.baseUrl}${script![1]}`)
    assert.equal(bundle.status, 200)
    assert.include(await bundle.text(), 'session.destroy')
  })

  test('signup signs the user in; the shared `user` reaches every page', async ({ assert }) => {
    const email = uniqueEmail('ada')
    const { client, response, page } = await signup({ fullName: 'Ada Lovelace', email })
    assert.equal(response.status, 200, app.logs())
    assert.equal(page!.component, 'home')
    assert.containsSubset(page!.props.user, { fullName: 'Ada Lovelace', email, initials: 'AL' })
    assert.notProperty(page!.props.user, 'password')
    assert.sameMembers(Object.keys(page!.props.user!), [
      'id',
      'fullName',
      'email',
      'createdAt',
      'updatedAt',
      'initials',
    ])

    // A full page load shares it too
    const { page: loaded } = await client.load('/')
    assert.equal(loaded!.props.user!.email, email)

    // Guest-only pages send a signed-in user home
    const login = await client.request('GET', '/login')
    assert.equal(login.status, 302)
    assert.equal(redirectPath(login), '/')
  })

  test('logout, then login with the password', async ({ assert }) => {
    const email = uniqueEmail('grace.hopper')
    const { client } = await signup({ email })

    const logout = await client.visit('POST', '/logout')
    assert.equal(logout.response.status, 200, app.logs())
    assert.equal(logout.page!.component, 'auth/login')
    assert.notProperty(logout.page!.props, 'user')

    const login = await client.visit('POST', '/login', { email, password: PASSWORD })
    assert.equal(login.page!.component, 'home', app.logs())
    assert.containsSubset(login.page!.props.user, { email, fullName: null, initials: 'GE' })
  })

  test('a wrong password comes back to the login page with flash.error', async ({ assert }) => {
    const email = uniqueEmail('wrong')
    const { client } = await signup({ email })
    await client.visit('POST', '/logout')

    const first = await client.request('POST', '/login', { email, password: 'not-it-at-all' })
    assert.equal(first.status, 302, app.logs())
    assert.equal(redirectPath(first), '/login')

    const { page } = await client.visit('GET', '/login')
    assert.equal(page!.component, 'auth/login')
    assert.equal(page!.props.flash!.error, 'Invalid user credentials')
    assert.notProperty(page!.props, 'user')
  })

  test('anonymous Inertia POST /logout (the auth-only route): 302 to /login, the login page', async ({
    assert,
  }) => {
    const client = new InertiaClient(app.baseUrl)
    await client.load('/login')

    const first = await client.request('POST', '/logout')
    // E_UNAUTHORIZED_ACCESS for a session guard and an HTML-accepting request;
    // the Inertia middleware only turns 302 into 303 for PUT/PATCH/DELETE
    assert.equal(first.status, 302, app.logs())
    assert.equal(redirectPath(first), '/login')

    const { page } = await client.visit('GET', '/login')
    assert.equal(page!.component, 'auth/login')
    assert.equal(page!.props.flash!.error, 'Unauthorized access')
  })

  test('the Inertia protocol: XSRF header required, stale asset version answered 409', async ({
    assert,
  }) => {
    const client = new InertiaClient(app.baseUrl)
    await client.load('/login')

    // No X-XSRF-TOKEN: E_BAD_CSRF_TOKEN, redirected back with the error flashed
    const noXsrf = await client.jar.fetch(`${app.baseUrl}/login`, {
      method: 'POST',
      headers: {
        ...client.inertiaHeaders({ referer: `${app.baseUrl}/login` }),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ email: 'x@example.test', password: 'y' }),
    })
    assert.equal(noXsrf.status, 302, app.logs())
    assert.equal(redirectPath(noXsrf), '/login')
    const { page } = await client.visit('GET', '/login')
    assert.equal(page!.props.flash!.error, 'Invalid or expired CSRF token')

    // A client built from other assets is told to reload the page
    const stale = await client.jar.fetch(`${app.baseUrl}/login`, {
      headers: client.inertiaHeaders({ 'x-inertia-version': 'stale' }),
    })
    assert.equal(stale.status, 409)
    assert.equal(stale.headers.get('x-inertia-location'), `/login`)
  })
})
