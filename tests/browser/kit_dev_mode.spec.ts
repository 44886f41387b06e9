/*
 * Dev mode (ROWND_EMULATOR=true) in the hypermedia starter kit, driven in
 * Chromium: the emulator's stand-in Hub signs in from the kit's page, and
 * after a restart the same email signs back in to the same row.
 */
import { test } from '@japa/runner'
import type { Browser } from 'playwright-core'
import { createKitApp, type KitApp } from '../helpers/kit_app.ts'
import { uniqueEmail } from '../kits/helpers.ts'
import { addHomeSignInButton, setEnv } from '../kits/tooling_helpers.ts'
import { launchBrowser } from './helpers.ts'

test.group('browser | hypermedia kit in dev mode', (group) => {
  let app: KitApp
  let browser: Browser

  group.setup(async () => {
    app = await createKitApp('hypermedia')
    const configure = await app.ace(['configure', 'rownd-adonis'])
    if (configure.code !== 0) throw new Error(configure.stdout + configure.stderr)
    await setEnv(app, { ROWND_EMULATOR: 'true' })
    await addHomeSignInButton(app)
    const migrate = await app.ace(['migration:run'])
    if (migrate.code !== 0) throw new Error(migrate.stdout + migrate.stderr)
    browser = await launchBrowser()
    return async () => {
      await browser.close()
      await app.destroy()
    }
  })

  test('the stand-in Hub signs in from the page; after a restart, the same email is the same row', async ({
    assert,
    cleanup,
  }) => {
    const email = uniqueEmail('chromium')
    const signIn = async () => {
      const context = await browser.newContext()
      cleanup(() => context.close())
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      await page.goto(`${app.baseUrl}/`)
      await page.locator('[data-rownd-sign-in-trigger]').click()
      const form = page.getByTestId('rownd-sign-in')
      await form.locator('input[name="email"]').fill(email)
      await form.locator('button[type="submit"]').click()
      // should_refresh_page: the page reloads with the kit's signed-in header
      await page.locator('header form[action="/logout"]').waitFor({ timeout: 15_000 })
      assert.deepEqual(errors, [])
      return page
    }

    await app.start()
    const page = await signIn()
    const [first] = await app.db()('users').where({ email })
    assert.isString(first?.rownd_user_id, app.logs())

    await app.stop()
    await app.start()
    // The browser that signed in is still signed in after the restart
    await page.reload()
    await page.locator('header form[action="/logout"]').waitFor({ timeout: 15_000 })

    // A fresh browser signs in with the same email: same row
    await signIn()
    const rows = await app.db()('users').where({ email })
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].id, first.id)
    assert.equal(rows[0].rownd_user_id, first.rownd_user_id)
    await app.stop()
  }).timeout(120_000)
})
