/*
 * The hypermedia starter kit with rownd-adonis installed from its tarball
 * and configured as README says, driven in Chromium: sign in through the
 * stand-in Hub the emulator serves, the kit's own header shows the user,
 * the kit's own logout signs the browser out of the Hub too, for good.
 */
import { test } from '@japa/runner'
import type { Browser, Page } from 'playwright-core'
import { RowndEmulator } from '../../src/testing/index.ts'
import { createKitApp, setEnvLines, type KitApp } from '../helpers/kit_app.ts'
import { finishInstall, webKitRoutes } from '../kits/rownd_helpers.ts'
import { launchBrowser, screenshotPath } from './helpers.ts'

/** README's step: a sign-in button where users sign in */
const SIGN_IN_BUTTON =
  '<button type="button" data-rownd-sign-in-trigger>Sign in with Rownd</button>'

test.group('browser | hypermedia kit with rownd-adonis', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let browser: Browser

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('hypermedia')
    const configured = await app.ace(['configure', 'rownd-adonis'])
    if (configured.code !== 0) throw new Error(configured.stdout + configured.stderr)
    const login = 'resources/views/pages/auth/login.edge'
    await app.writeFile(
      login,
      (await app.readFile(login)).replace('</h1>', `</h1>\n      ${SIGN_IN_BUTTON}`)
    )
    const migrated = await finishInstall(
      app,
      emulator,
      webKitRoutes(`({ auth }) => \`dashboard of \${auth.user!.email}\``)
    )
    if (migrated.code !== 0) throw new Error(migrated.stdout + migrated.stderr)
    // Offline: @rowndHub() loads the emulator's stand-in Hub
    await app.writeFile(
      '.env',
      setEnvLines(await app.readFile('.env'), { ROWND_HUB_BASE_URL: emulator.url })
    )
    await app.start()
    browser = await launchBrowser()
    return async () => {
      await browser.close()
      await app.destroy()
      await emulator.close()
    }
  })

  /** The kit's header: initials and a logout form, or the Login link */
  async function headerState(page: Page) {
    return page.evaluate(() => {
      const header = (globalThis as any).document.querySelector('header')
      if (header?.querySelector('form[action="/logout"]')) return 'signed in'
      if (header?.querySelector('a[href="/login"]')) return 'signed out'
      return 'unknown'
    })
  }

  test('sign in through the Hub, the header shows the user; kit logout signs the Hub out for good', async ({
    assert,
  }) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const calls: Array<{ url: string; status: number }> = []
    page.on('response', (response) => {
      if (response.url().includes('/rownd/session_')) {
        calls.push({ url: new URL(response.url()).pathname, status: response.status() })
      }
    })

    await page.goto(`${app.baseUrl}/login`)
    assert.equal(await headerState(page), 'signed out')
    assert.equal(await page.locator('script[src$="/static/scripts/rph.mjs"]').count(), 1)
    assert.equal(await page.locator('script[src$="/static/scripts/rph.js"]').count(), 1)

    // The Hub's sign-in: any email, through the emulator
    await page.click('[data-rownd-sign-in-trigger]')
    const form = page.locator('[data-testid="rownd-sign-in"] form')
    await form.locator('input[name="email"]').fill('chromium.kit@example.com')
    await Promise.all([
      page.waitForURL(`${app.baseUrl}/`),
      form.locator('button[type="submit"]').click(),
    ])
    // The guest-only /login redirected home; the kit's header sees the Rownd user
    // (a locator waits through the Hub's reloads, where an evaluate would not)
    await page.locator('header form[action="/logout"]').waitFor()
    await page.waitForLoadState('networkidle')
    assert.equal(await headerState(page), 'signed in')
    assert.equal(
      await page
        .locator('header')
        .innerText()
        .then((text) => text.includes('CE')),
      true
    )
    await page.screenshot({ path: screenshotPath('kit-hypermedia-signed-in') })
    const rows = await app.db()('users').where({ email: 'chromium.kit@example.com' })
    assert.lengthOf(rows, 1)
    assert.isNotNull(rows[0].rownd_user_id)

    // The kit's own logout button
    await Promise.all([
      page.waitForURL(`${app.baseUrl}/login`),
      page.click('header form[action="/logout"] button'),
    ])
    // The page tells the Hub to sign out; it reports back to the session route
    await page.waitForFunction(
      async () => (await (globalThis as any).rownd?.getAccessToken()) === null
    )
    assert.equal(await headerState(page), 'signed out')

    const signInsBeforeReload = calls.filter(
      (call) => call.url === '/rownd/session_authenticate' && call.status === 200
    ).length
    await page.reload()
    await page.waitForFunction(() => Boolean((globalThis as any).rownd))
    await page.waitForTimeout(500)
    assert.equal(await headerState(page), 'signed out')
    assert.isNull(await page.evaluate(() => (globalThis as any).rownd.getAccessToken()))
    // No sign-in went through after the logout
    assert.equal(
      calls.filter((call) => call.url === '/rownd/session_authenticate' && call.status === 200)
        .length,
      signInsBeforeReload
    )
    const dashboard = await page.goto(`${app.baseUrl}/dashboard`)
    assert.equal(new URL(dashboard!.url()).pathname, '/login')
    await page.screenshot({ path: screenshotPath('kit-hypermedia-after-logout') })
    await context.close()
  }).timeout(90_000)
})
