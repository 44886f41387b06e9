/**
 * Webhooks and rownd:sync in the hypermedia kit as a user sets them up:
 * `node ace configure rownd-adonis --webhooks`, then Rownd's connector
 * calling through the kit's global session and shield middleware, and
 * `rownd:sync` on the kit's users table (email and password NOT NULL).
 */
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { createKitApp, HypermediaClient, type KitApp, type RunResult } from '../helpers/kit_app.ts'
import { uniqueEmail } from './helpers.ts'

const PASSWORD = 'correct-horse-battery'

/** The counts of rownd:sync's final table */
function tableCounts(output: string) {
  const counts: Record<string, number> = {}
  for (const line of output.split('\n')) {
    const match = /^\W*(created|linked|updated|unchanged|conflicts|skipped|total)\W+(\d+)\W*$/.exec(
      line
    )
    if (match) counts[match[1]] = Number(match[2])
  }
  return counts
}

test.group('kits | hypermedia with Rownd webhooks and rownd:sync', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let configure: RunResult
  let secret: string

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('hypermedia', {
      env: {
        ROWND_APP_KEY: emulator.appKey,
        ROWND_APP_SECRET: emulator.appSecret,
        ROWND_API_URL: emulator.url,
      },
    })
    configure = await app.ace(['configure', 'rownd-adonis', '--webhooks'])
    if (configure.code === 0) {
      secret = /^ROWND_WEBHOOK_SECRET=(\S+)$/m.exec(await app.readFile('.env'))![1]
      const migrate = await app.ace(['migration:run'])
      if (migrate.code !== 0) throw new Error(migrate.stdout + migrate.stderr)
      await app.start()
    }
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  test("configure --webhooks exempts the route in the kit's config/shield.ts", async ({
    assert,
  }) => {
    assert.equal(configure.code, 0, configure.stdout + configure.stderr)
    assert.include(
      await app.readFile('config/shield.ts'),
      `exceptRoutes: ['/rownd/webhooks/:secret?'],`
    )
    assert.notInclude(configure.stdout, secret)
  })

  test('rownd:sync: a dry run predicts exactly what the run does on NOT NULL columns', async ({
    assert,
  }) => {
    // An account of the kit's own password sign-up
    const ownerEmail = uniqueEmail('owner')
    const client = new HypermediaClient(app.baseUrl)
    const signup = await client.submit('/signup', '/signup', {
      fullName: 'Owner',
      email: ownerEmail,
      password: PASSWORD,
      passwordConfirmation: PASSWORD,
    })
    assert.equal(signup.status, 302, app.logs())
    emulator.createUser({ email: ownerEmail }) // verified: linked
    const fresh = emulator.createUser({ email: uniqueEmail('fresh'), firstName: 'Fresh' })
    emulator.createUser({ phone: '+15550199', phoneVerified: true }) // no email: NOT NULL
    emulator.createUser({ email: uniqueEmail('unverified'), emailVerified: false }) // never stored

    const expected = {
      created: 1,
      linked: 1,
      updated: 0,
      unchanged: 0,
      conflicts: 0,
      skipped: 2,
      total: 4,
    }
    const dry = await app.ace(['rownd:sync', '--dry-run'])
    assert.equal(dry.code, 0, dry.stdout + dry.stderr)
    assert.deepEqual(tableCounts(dry.stdout), expected, dry.stdout)
    const run = await app.ace(['rownd:sync'])
    assert.equal(run.code, 0, run.stdout + run.stderr)
    assert.deepEqual(tableCounts(run.stdout), expected, run.stdout)

    const [owner] = await app.db()('users').where({ email: ownerEmail })
    assert.equal(owner.rownd_user_id, emulator.findUserByEmail(ownerEmail)!.userId)
    const [created] = await app.db()('users').where({ rownd_user_id: fresh.userId })
    assert.equal(created.full_name, 'Fresh')
    assert.isString(created.password, 'an unusable password fills the NOT NULL column')
  })

  test("Rownd's deliveries pass the kit's session and shield middleware", async ({ assert }) => {
    const user = emulator.createUser({ email: uniqueEmail('hooked'), firstName: 'Hook' })
    assert.equal((await app.ace(['rownd:sync'])).code, 0)
    emulator.webhooks.configure({ url: `${app.baseUrl}/rownd/webhooks/${secret}` })

    emulator.updateUser(user.userId, { first_name: 'Hooked', last_name: 'Kit' })
    await emulator.webhooks.settled()
    const delivery = emulator.webhooks.of(user.userId).at(-1)!
    assert.equal(delivery.status, 200, `${delivery.response}\n${app.logs()}`)
    let [row] = await app.db()('users').where({ rownd_user_id: user.userId })
    assert.equal(row.full_name, 'Hooked Kit')

    const wrong = await fetch(`${app.baseUrl}/rownd/webhooks/${secret.slice(1)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(delivery.payload),
    })
    assert.equal(wrong.status, 404)

    emulator.deleteUser(user.userId)
    await emulator.webhooks.settled()
    assert.equal(emulator.webhooks.of(user.userId).at(-1)!.status, 200)
    ;[row] = await app.db()('users').where({ email: user.data.email })
    assert.isNull(row.rownd_user_id)
    assert.notInclude(app.logs(), secret)
  })
})
