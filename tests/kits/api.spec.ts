/**
 * The api kit fixture (api/apps/backend) behaves as the kit does, before
 * rownd-adonis is configured: JSON everywhere, opaque access tokens on the
 * default `api` guard, 401 JSON for anonymous requests.
 */
import { test } from '@japa/runner'
import { Scrypt } from '@adonisjs/core/hash/drivers/scrypt'
import { ApiClient, createKitApp, type KitApp, type RunResult } from '../helpers/kit_app.ts'
import { assertUsersTable, uniqueEmail } from './helpers.ts'

const PASSWORD = 'correct-horse-battery'

/** The kit's config/hash.ts */
const scrypt = new Scrypt({ cost: 16384, blockSize: 8, parallelization: 1, maxMemory: 33554432 })

test.group('kits | api', (group) => {
  let app: KitApp
  let migrate: RunResult
  let committedSchema: string

  group.setup(async () => {
    app = await createKitApp('api')
    committedSchema = await app.readFile('database/schema.ts')
    await app.writeFile('database/schema.ts', `// stale\n${committedSchema}`)
    migrate = await app.ace(['migration:run'])
    if (migrate.code === 0) await app.start()
    return () => app.destroy()
  })

  /**
   * A users row as the kit's signup would write it (the shipped signup
   * route fails, see below)
   */
  async function createUser(fields: { fullName?: string; email: string }) {
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ')
    await app
      .db()('users')
      .insert({
        full_name: fields.fullName ?? null,
        email: fields.email,
        password: await scrypt.make(PASSWORD),
        created_at: now,
        updated_at: now,
      })
  }

  test('migration:run creates users and auth_access_tokens, regenerates database/schema.ts', async ({
    assert,
  }) => {
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
    assert.include(migrate.stdout, 'migrated database/migrations/1761885935168_create_users_table')
    assert.include(
      migrate.stdout,
      'migrated database/migrations/1768620764696_create_access_tokens_table'
    )
    assert.include(migrate.stdout, 'Schema classes generated')
    const schema = await app.readFile('database/schema.ts')
    assert.equal(schema, committedSchema)
    assert.include(schema, 'export class UserSchema extends BaseModel')
    assert.include(schema, 'export class AuthAccessTokenSchema extends BaseModel')
    await assertUsersTable(assert, app)
    assert.isTrue(await app.db().schema.hasTable('auth_access_tokens'))
  })

  test('GET / answers JSON; an anonymous profile request is refused with 401 JSON', async ({
    assert,
  }) => {
    const client = new ApiClient(app.baseUrl)
    const root = await client.get('/')
    assert.equal(root.status, 200, app.logs())
    assert.deepEqual(root.body, { hello: 'world' })

    const profile = await client.get('/api/v1/account/profile')
    assert.equal(profile.status, 401)
    assert.deepEqual(profile.body, { errors: [{ message: 'Unauthorized access' }] })

    // JSON even when the client asks for HTML (force_json_response_middleware)
    const html = await fetch(`${app.baseUrl}/api/v1/account/profile`, {
      headers: { accept: 'text/html' },
    })
    assert.equal(html.status, 401)
    assert.deepEqual(await html.json(), { errors: [{ message: 'Unauthorized access' }] })
  })

  test('signup as shipped fails with 500: the validated payload keeps passwordConfirmation', async ({
    assert,
  }) => {
    // Upstream behaviour with Lucid 22.4 / VineJS 4.4: signupValidator has a
    // passwordConfirmation field (sameAs), and User.create({ ...payload })
    // refuses a property that is not a column. Recorded, not fixed.
    const email = uniqueEmail('ada')
    const client = new ApiClient(app.baseUrl)
    const signup = await client.post('/api/v1/auth/signup', {
      fullName: 'Ada Lovelace',
      email,
      password: PASSWORD,
      passwordConfirmation: PASSWORD,
    })
    assert.equal(signup.status, 500)
    assert.include(signup.body.message, 'Cannot define "passwordConfirmation" on "User" model')
    assert.isUndefined(await app.db()('users').where({ email }).first())

    // Validation still runs first: a bad payload is a 422 with the field errors
    const invalid = await client.post('/api/v1/auth/signup', { email: 'nope', password: 'short' })
    assert.equal(invalid.status, 422)
    assert.includeMembers(
      invalid.body.errors.map((error: { field: string }) => error.field),
      ['email', 'password', 'passwordConfirmation']
    )
  })

  test('login issues a bearer token; profile shows the user; logout revokes the token', async ({
    assert,
  }) => {
    const email = uniqueEmail('ada')
    await createUser({ fullName: 'Ada Lovelace', email })

    const client = new ApiClient(app.baseUrl)
    const login = await client.post('/api/v1/auth/login', { email, password: PASSWORD })
    assert.equal(login.status, 200, app.logs())
    assert.containsSubset(login.body.data.user, { email, fullName: 'Ada Lovelace', initials: 'AL' })
    assert.notProperty(login.body.data.user, 'password')
    assert.match(login.body.data.token, /^oat_/)

    client.token = login.body.data.token
    const profile = await client.get('/api/v1/account/profile')
    assert.equal(profile.status, 200, app.logs())
    assert.containsSubset(profile.body, {
      data: { email, fullName: 'Ada Lovelace', initials: 'AL' },
    })
    assert.sameMembers(Object.keys(profile.body.data), [
      'id',
      'fullName',
      'email',
      'createdAt',
      'updatedAt',
      'initials',
    ])

    const logout = await client.post('/api/v1/auth/logout')
    assert.equal(logout.status, 200, app.logs())
    assert.deepEqual(logout.body, { message: 'Logged out successfully' })
    assert.equal((await client.get('/api/v1/account/profile')).status, 401)
    assert.lengthOf(await app.db()('auth_access_tokens'), 0)
  })

  test('a wrong password gets 400 invalid credentials; a bad token gets 401', async ({
    assert,
  }) => {
    const email = uniqueEmail('grace.hopper')
    await createUser({ email })

    const client = new ApiClient(app.baseUrl)
    const login = await client.post('/api/v1/auth/login', { email, password: 'not-it-at-all' })
    assert.equal(login.status, 400, app.logs())
    assert.deepEqual(login.body, { errors: [{ message: 'Invalid user credentials' }] })

    const forged = new ApiClient(app.baseUrl, 'oat_bm90LWEtdG9rZW4.c2lnbmF0dXJl')
    const profile = await forged.get('/api/v1/account/profile')
    assert.equal(profile.status, 401)
    assert.deepEqual(profile.body, { errors: [{ message: 'Unauthorized access' }] })

    // Initials from the email when there is no full name
    const good = await client.post('/api/v1/auth/login', { email, password: PASSWORD })
    assert.equal(good.body.data.user.initials, 'GE')
  })
})
