import { test } from '@japa/runner'
import { createServer } from 'node:net'
import knex from 'knex'
import type { Browser, BrowserContext, Page, Response } from 'playwright-core'
import { RowndEmulator } from '../../src/testing/index.ts'
import {
  launchBrowser,
  REAL_HUB_BASE,
  REAL_HUB_MODULE,
  REAL_HUB_SCRIPT,
  runDemoToExit,
  screenshotPath,
  startDemo,
  type Demo,
} from './helpers.ts'

/** Local users rows, read straight from the demo's SQLite file */
async function usersIn(sqliteFile: string) {
  const db = knex({
    client: 'better-sqlite3',
    connection: { filename: sqliteFile, readonly: true } as any,
    useNullAsDefault: true,
  })
  try {
    return await db('users').select('id', 'email', 'rownd_user_id').orderBy('id')
  } finally {
    await db.destroy()
  }
}

/** Signs in through the stand-in Hub's email form, waiting for the dashboard */
async function signInThroughHub(page: Page, email: string) {
  const form = page.getByTestId('rownd-sign-in')
  await form.waitFor({ state: 'visible' })
  await form.locator('input[name="email"]').fill(email)
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/dashboard'),
    form.locator('button[type="submit"]').click(),
  ])
}

/** The stand-in Hub's own session in localStorage */
function storedSession(page: Page) {
  return page.evaluate(() => (globalThis as any).localStorage.getItem('rownd_stand_in_hub'))
}

/** Polls until a condition holds */
async function eventually(condition: () => boolean, timeout = 10_000) {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeout) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Waits for the dashboard's `fetch('/api/me')` and returns its response */
function apiMeResponse(page: Page) {
  return page.waitForResponse((response) => new URL(response.url()).pathname === '/api/me')
}

test.group('Demo app | emulator mode in a browser', (group) => {
  let demo: Demo
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const hubCalls: Array<{ status: number; body: any }> = []
  let aliceRowndId: string

  group.setup(async () => {
    demo = await startDemo()
    browser = await launchBrowser()
    context = await browser.newContext({ baseURL: demo.url })
    page = await context.newPage()
    page.on('response', async (response: Response) => {
      if (new URL(response.url()).pathname !== '/rownd/session_authenticate') return
      hubCalls.push({ status: response.status(), body: await response.json().catch(() => null) })
    })
    return async () => {
      await browser.close()
      await demo.stop()
    }
  })

  test('prints its URL and mode, and serves the public page with the stand-in Hub', async ({
    assert,
  }) => {
    assert.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match(demo.mode, /^emulator \(Rownd emulator at http:\/\/127\.0\.0\.1:\d+/)
    const emulatorUrl = demo.mode.match(/at (http:\/\/\S+?),/)![1]
    const response = await fetch(`${demo.url}/`)
    assert.equal(response.status, 200)
    const html = await response.text()
    // Rownd's loader, pointed at the emulator, which serves the stand-in Hub
    assert.include(html, `_rphConfig.push(["setBaseUrl","${emulatorUrl}"]);`)
    assert.include(
      html,
      `<script type="module" async src="${emulatorUrl}/static/scripts/rph.mjs" data-rownd-hub></script>`
    )
    assert.include(
      html,
      `<script nomodule async src="${emulatorUrl}/static/scripts/rph.js" data-rownd-hub></script>`
    )
    assert.include(html, '_rphConfig.push(["setPostAuthenticationApi"')
    assert.notInclude(html, 'stand_in_hub')
    for (const file of ['rph.mjs', 'rph.js']) {
      const hub = await fetch(`${emulatorUrl}/static/scripts/${file}`)
      assert.equal(hub.status, 200)
      assert.match(hub.headers.get('content-type')!, /^text\/javascript/)
    }
    assert.equal((await fetch(`${demo.url}/stand_in_hub.js`)).status, 404)

    const guarded = await fetch(`${demo.url}/dashboard`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    })
    // The app's own middleware.auth() (session driver): to the login page, the
    // intended URL kept in the session
    assert.equal(guarded.status, 302)
    assert.equal(guarded.headers.get('location'), '/login')
  })

  test('signs in through the stand-in Hub and lands on the dashboard', async ({ assert }) => {
    await page.goto('/dashboard')
    assert.equal(new URL(page.url()).pathname, '/login')
    // The login page asks for sign-in (data-rownd-request-sign-in): the form opens by itself
    await page.getByTestId('rownd-sign-in').waitFor({ state: 'visible' })
    await page.screenshot({ path: screenshotPath('01_login') })

    const apiMe = apiMeResponse(page)
    await signInThroughHub(page, 'alice@example.com')
    assert.equal(await page.getByTestId('welcome').textContent(), 'Welcome, alice@example.com')

    const row = page.getByTestId('user-row')
    assert.equal(await row.locator('[data-column="email"]').textContent(), 'alice@example.com')
    aliceRowndId = (await row.locator('[data-column="rowndUserId"]').textContent())!
    assert.match(aliceRowndId, /\S{6,}/)

    const profile = JSON.parse((await page.getByTestId('profile').textContent())!)
    assert.equal(profile.data.email, 'alice@example.com')
    assert.equal(profile.data.user_id, aliceRowndId)

    // The dashboard's fetch('/api/me') carried the Hub's token as a Bearer header
    const response = await apiMe
    assert.equal(response.status(), 200)
    assert.match((await response.request().allHeaders()).authorization, /^Bearer ey/)
    const body = await response.json()
    assert.equal(body.via, 'bearer')
    assert.equal(body.user.email, 'alice@example.com')
    assert.equal(body.rowndUserId, aliceRowndId)
    await page.getByTestId('api-status').and(page.locator('[data-status="200"]')).waitFor()
    await page.screenshot({ path: screenshotPath('02_dashboard'), fullPage: true })

    // Two post-authentication calls: the sign-in (its return_to moved the page to
    // /dashboard, so its body is gone from the browser), then the dashboard's page
    // load, which the session already matches
    assert.deepEqual(
      hubCalls.map((call) => call.status),
      [200, 200]
    )
    assert.deepEqual(hubCalls[1].body, {
      message: 'Already authenticated',
      should_refresh_page: false,
    })
    const rows = await usersIn(demo.sqliteFile)
    assert.deepEqual(rows, [{ id: 1, email: 'alice@example.com', rownd_user_id: aliceRowndId }])
  })

  test('reloading calls the post-authentication API once and does not loop', async ({ assert }) => {
    hubCalls.length = 0
    let navigations = 0
    const onNavigate = (frame: { parentFrame(): unknown }) => {
      if (!frame.parentFrame()) navigations++
    }
    page.on('framenavigated', onNavigate)
    await page.reload()
    await page.getByTestId('api-status').and(page.locator('[data-status="200"]')).waitFor()
    await page.waitForTimeout(3000)
    page.off('framenavigated', onNavigate)

    assert.equal(navigations, 1)
    assert.deepEqual(hubCalls, [
      { status: 200, body: { message: 'Already authenticated', should_refresh_page: false } },
    ])
    assert.equal(new URL(page.url()).pathname, '/dashboard')
  })

  test('the JSON API is bearer only: the session cookie alone gets a 401', async ({ assert }) => {
    const response = await page.request.get('/api/me', { headers: { accept: 'application/json' } })
    assert.equal(response.status(), 401)
    assert.match(response.headers()['www-authenticate'], /^Bearer/)
    assert.equal((await response.json()).errors[0].code, 'E_ROWND_TOKEN_MISSING')
  })

  test('a second user signing in on the same browser switches the session', async ({ assert }) => {
    await page.goto('/')
    assert.include(await page.getByTestId('signed-in-as').textContent(), 'alice@example.com')
    await page.getByTestId('sign-in').click()
    const apiMe = apiMeResponse(page)
    await signInThroughHub(page, 'bob@example.com')

    assert.equal(await page.getByTestId('welcome').textContent(), 'Welcome, bob@example.com')
    const bobRowndId = await page
      .getByTestId('user-row')
      .locator('[data-column="rowndUserId"]')
      .textContent()
    assert.notEqual(bobRowndId, aliceRowndId)
    const response = await apiMe
    assert.equal(response.status(), 200)
    assert.equal((await response.json()).user.email, 'bob@example.com')

    const rows = await usersIn(demo.sqliteFile)
    assert.deepEqual(
      rows.map((r: any) => r.email),
      ['alice@example.com', 'bob@example.com']
    )
  })

  test('sign-out returns to the public page and the dashboard then asks to sign in', async ({
    assert,
  }) => {
    hubCalls.length = 0
    const signOut = page.waitForResponse(
      (response) => new URL(response.url()).pathname === '/rownd/session_sign_out'
    )
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/'),
      page.getByTestId('sign-out').click(),
    ])
    // Its body is gone once return_to ('/') navigated the page: the URL above shows it
    assert.equal((await signOut).status(), 200)
    await page.getByTestId('signed-out').waitFor()
    await page.screenshot({ path: screenshotPath('03_signed_out') })
    assert.isNull(
      await page.evaluate(() => (globalThis as any).localStorage.getItem('rownd_stand_in_hub'))
    )

    await page.goto('/dashboard')
    assert.equal(new URL(page.url()).pathname, '/login')
    // Signed out: the Hub makes no post-authentication call
    assert.lengthOf(hubCalls, 0)
  })

  test('the page holds exactly one rph.mjs and one rph.js script', async ({ assert }) => {
    await page.goto('/')
    await page.waitForFunction(() => (globalThis as any).rownd?.standIn === true)
    const modules = page.locator('script[src$="/static/scripts/rph.mjs"]')
    const classic = page.locator('script[src$="/static/scripts/rph.js"]')
    assert.equal(await modules.count(), 1)
    assert.equal(await classic.count(), 1)
    assert.equal(await modules.getAttribute('type'), 'module')
    assert.isNotNull(await classic.getAttribute('nomodule'))
    assert.equal(await page.evaluate(() => (globalThis as any).__rowndStandInHub.version), 1)
  })

  test("the app's own logout tells the Hub to sign out on the next page", async ({ assert }) => {
    await page.goto('/')
    await page.getByTestId('sign-in').click()
    hubCalls.length = 0
    await signInThroughHub(page, 'carol@example.com')
    assert.isNotNull(await storedSession(page))
    // The dashboard's own page-load call is done before the logout
    await eventually(() => hubCalls.some((call) => call.body?.message === 'Already authenticated'))

    hubCalls.length = 0
    const hubSignOut = page.waitForResponse(
      (response) => new URL(response.url()).pathname === '/rownd/session_sign_out'
    )
    // POST /logout ends the session, then the home page carries rowndHubSignOut
    const instructed = page.waitForResponse(
      (response) =>
        new URL(response.url()).pathname === '/' && response.request().method() === 'GET'
    )
    await page.getByTestId('server-logout').click()
    const html = await (await instructed).text()
    assert.include(html, 'window.rownd.signOut()')
    assert.notInclude(html, 'setPostAuthenticationApi')

    // The Hub signs out, tells the app, and follows its return_to
    assert.equal((await hubSignOut).status(), 200)
    await page.waitForURL((url) => url.pathname === '/')
    await page.getByTestId('signed-out').waitFor()
    assert.isNull(await storedSession(page))
    // It never tried to sign the session back in
    assert.lengthOf(hubCalls, 0)

    await page.reload()
    await page.waitForFunction(() => (globalThis as any).rownd?.standIn === true)
    assert.isNull(await page.evaluate(() => (globalThis as any).rownd.getAccessToken()))
    assert.notInclude(await page.content(), 'window.rownd.signOut()')
    assert.lengthOf(hubCalls, 0)
  })

  test('a refused post-authentication call triggers exactly one refresh then a clean sign-out', async ({
    assert,
  }) => {
    await page.goto('/')
    await page.getByTestId('sign-in').click()
    hubCalls.length = 0
    await signInThroughHub(page, 'dave@example.com')
    await eventually(() => hubCalls.some((call) => call.body?.message === 'Already authenticated'))
    const csrf = (await page.content()).match(/"X-CSRF-TOKEN":"([^"]+)"/)![1]

    // A sign-out spares tokens issued within the app's clock tolerance (5s) of
    // it, so that signing straight back in works: let the Hub's token age past it
    const stored = JSON.parse((await storedSession(page))!)
    const issuedAt = JSON.parse(
      Buffer.from(stored.access_token.split('.')[1], 'base64url').toString()
    ).iat
    await page.waitForTimeout(Math.max(0, (issuedAt + 7) * 1000 - Date.now()))

    // The session ends on the server behind the Hub's back (another tab, an
    // admin): the app revokes the user's tokens and their Rownd sessions
    const ended = await page.request.post('/rownd/session_sign_out', {
      headers: { 'X-CSRF-TOKEN': csrf, 'content-type': 'application/json' },
      data: {},
    })
    assert.equal(ended.status(), 200)

    hubCalls.length = 0
    const refreshes: string[] = []
    const onRequest = (request: { url(): string; method(): string }) => {
      if (new URL(request.url()).pathname === '/hub/auth/token') refreshes.push(request.method())
    }
    page.on('request', onRequest)
    const hubSignOut = page.waitForResponse(
      (response) => new URL(response.url()).pathname === '/rownd/session_sign_out'
    )
    // The Hub still holds its token: the page load calls the app, which refuses it
    await page.goto('/')
    assert.equal((await hubSignOut).status(), 200)
    await page.waitForURL((url) => url.pathname === '/')
    await page.getByTestId('signed-out').waitFor()
    await page.waitForTimeout(1000)
    page.off('request', onRequest)

    assert.deepEqual(
      hubCalls.map((call) => call.status),
      [401]
    )
    assert.deepEqual(refreshes, ['POST'])
    assert.isNull(await storedSession(page))
    assert.isNull(await page.evaluate(() => (globalThis as any).rownd.getAccessToken()))
    await page.screenshot({ path: screenshotPath('04_refused_then_signed_out') })
  })
})

test.group('Demo app | real Rownd mode and process behaviour', () => {
  test('with ROWND_APP_KEY set it uses the configured Rownd URL and the real Hub', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await RowndEmulator.start()
    cleanup(() => emulator.close())
    const demo = await startDemo({
      ROWND_APP_KEY: emulator.appKey,
      ROWND_APP_SECRET: emulator.appSecret,
      ROWND_API_URL: emulator.url,
    })
    cleanup(async () => {
      await demo.stop()
    })
    assert.equal(demo.mode, `Rownd (${emulator.url})`)
    assert.notInclude(demo.stdout.join(''), 'emulator')

    const browser = await launchBrowser()
    cleanup(() => browser.close())
    const page = await browser.newPage()
    // No network here: answer the real Hub's URL with nothing instead of waiting on it
    const hubRequests: string[] = []
    await page.route('https://hub.rownd.io/**', (route) => {
      hubRequests.push(route.request().url())
      return route.fulfill({
        status: 200,
        contentType: 'text/javascript',
        headers: { 'access-control-allow-origin': '*' },
        body: '',
      })
    })
    await page.goto(`${demo.url}/`)
    const loaders = page.locator('script[data-rownd-hub]')
    assert.equal(await loaders.count(), 2)
    assert.equal(await loaders.nth(0).getAttribute('src'), REAL_HUB_MODULE)
    assert.equal(await loaders.nth(0).getAttribute('type'), 'module')
    assert.equal(await loaders.nth(1).getAttribute('src'), REAL_HUB_SCRIPT)
    assert.isNotNull(await loaders.nth(1).getAttribute('nomodule'))
    // A module-capable browser fetches the module only
    assert.deepEqual(hubRequests, [REAL_HUB_MODULE])
    const commands = await page.evaluate(() => (globalThis as any)._rphConfig)
    assert.deepEqual(commands[0], ['setBaseUrl', REAL_HUB_BASE])
    assert.deepEqual(commands[1], ['setAppKey', emulator.appKey])
    assert.notInclude(
      commands.map((c: any[]) => c[0]),
      'setApiUrl'
    )

    // The app verifies tokens against the configured URL (the test's emulator)
    const token = await emulator.mintToken()
    const me = await fetch(`${demo.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(me.status, 200)
    assert.isAbove(emulator.requestCount('jwks'), 0)
  })

  test('ROWND_APP_KEY without ROWND_APP_SECRET exits with a message', async ({ assert }) => {
    const result = await runDemoToExit({ ROWND_APP_KEY: 'key_only' })
    assert.equal(result.code, 1)
    assert.include(result.stderr, 'ROWND_APP_SECRET is not')
  })

  test('a taken port gives a clear message and exit code 1', async ({ assert, cleanup }) => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    cleanup(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    const port = (blocker.address() as { port: number }).port

    const started = Date.now()
    const result = await runDemoToExit({ PORT: String(port) })
    assert.equal(result.code, 1)
    assert.include(result.stderr, `Port ${port} is already in use`)
    assert.notInclude(result.stdout, 'running at')
    assert.isBelow(Date.now() - started, 30_000)
  })

  test('Ctrl-C (SIGINT) and SIGTERM stop the app and the emulator cleanly', async ({ assert }) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const demo = await startDemo()
      const emulatorUrl = demo.mode.match(/at (http:\/\/\S+?),/)![1]
      assert.equal((await fetch(`${emulatorUrl}/__emulator/health`)).status, 200)
      const started = Date.now()
      assert.equal(await demo.stop(signal), 0, `exit code after ${signal}`)
      assert.isBelow(Date.now() - started, 5000)
      await assert.rejects(() => fetch(`${demo.url}/`))
      await assert.rejects(() => fetch(`${emulatorUrl}/__emulator/health`))
    }
  })
})
