/*
 * examples/inertia-react in Chromium: the inertia-react starter kit with
 * rownd-adonis from its tarball, configured, the example's files applied
 * (built by examples/inertia-react/bin/build.ts, as `npm run demo:inertia`
 * does), and Rownd's own React SDK (@rownd/react from npm) loading the
 * emulator's stand-in Hub.
 */
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { test } from '@japa/runner'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { RowndEmulator } from '../../src/testing/index.ts'
import { KITS_ROOT, type KitApp } from '../helpers/kit_app.ts'
import { getJson } from '../kits/rownd_helpers.ts'
import {
  buildExampleApp,
  EXAMPLE_ROOT,
  OVERLAY,
  typecheckExampleApp,
} from '../../examples/inertia-react/bin/build.ts'
import { launchBrowser, screenshotPath } from './helpers.ts'

interface SessionCall {
  path: '/rownd/session_authenticate' | '/rownd/session_sign_out'
  status: number
  body: any
  /** Headers the Hub sent */
  headers: Record<string, string>
}

/**
 * A tab on the example app, recording what the Hub does: its calls to the
 * session routes, its script fetches, full page loads, page errors
 */
async function openTab(browser: Browser, baseUrl: string) {
  const context: BrowserContext = await browser.newContext()
  const page: Page = await context.newPage()
  const tab = {
    context,
    page,
    loads: 0,
    calls: [] as SessionCall[],
    /** Hub scripts the browser fetched (rph.mjs, rph.js) */
    hubFetches: [] as string[],
    apiRequests: [] as Array<Record<string, string>>,
    errors: [] as string[],
    callsTo(path: SessionCall['path']) {
      return tab.calls.filter((call) => call.path === path)
    },
    /** `<script>` tags of the Hub's loader in the page: [rph.mjs, rph.js] */
    hubTags() {
      return page.evaluate(() => {
        const count = (file: string) =>
          (globalThis as any).document.querySelectorAll(`script[src$="/static/scripts/${file}"]`)
            .length
        return [count('rph.mjs'), count('rph.js')]
      })
    },
    text(testId: string) {
      return page.getByTestId(testId).textContent()
    },
    /** Waits until an element with this test id shows exactly this text */
    async waitForText(testId: string, text: string) {
      await page
        .getByTestId(testId)
        .and(page.getByText(text, { exact: true }))
        .waitFor()
    },
  }
  page.on('load', () => tab.loads++)
  page.on('pageerror', (error) => tab.errors.push(error.message))
  page.on('request', async (request) => {
    const url = new URL(request.url())
    const file = /\/static\/scripts\/(rph\.m?js)$/.exec(url.pathname)?.[1]
    if (file) tab.hubFetches.push(file)
    if (url.origin === baseUrl && url.pathname === '/api/me') {
      tab.apiRequests.push(await request.allHeaders())
    }
  })
  page.on('response', async (response) => {
    const url = new URL(response.url())
    if (url.origin !== baseUrl || !url.pathname.startsWith('/rownd/session_')) return
    tab.calls.push({
      path: url.pathname as SessionCall['path'],
      status: response.status(),
      // Gone when the Hub navigated away at once (should_refresh_page)
      body: await response.json().catch(() => undefined),
      headers: await response.request().allHeaders(),
    })
  })
  return tab
}

type Tab = Awaited<ReturnType<typeof openTab>>

/** Polls until a condition holds (for calls the page makes after what it shows) */
async function eventually(condition: () => boolean, timeout = 10_000) {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeout) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/**
 * Lines of `inner` (trimmed, blank ones left out) appear in `outer` in the
 * same order: `outer` only adds to `inner`
 */
function onlyAdds(inner: string, outer: string) {
  const lines = (text: string) =>
    text
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
  const remaining = lines(outer)
  return lines(inner).filter((line) => {
    const at = remaining.indexOf(line)
    if (at === -1) return true
    remaining.splice(0, at + 1)
    return false
  })
}

test.group('browser | examples/inertia-react with @rownd/react', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let browser: Browser

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await buildExampleApp({ emulator })
    await app.start()
    browser = await launchBrowser()
    return async () => {
      await browser.close()
      await app.destroy()
      await emulator.close()
    }
  })

  /** Home page → requestSignIn() → the stand-in Hub's form → the reload it asks for */
  async function signIn(tab: Tab, email: string) {
    const { page } = tab
    await page.goto(`${app.baseUrl}/`)
    await tab.waitForText('hub-user', 'signed out')
    await page.getByRole('button', { name: 'Sign in with Rownd' }).click()
    const form = page.locator('[data-testid="rownd-sign-in"] form')
    await form.locator('input[name="email"]').fill(email)
    const loadsBefore = tab.loads
    await form.locator('button[type="submit"]').click()
    // The session route answers should_refresh_page: true, the Hub reloads
    await eventually(() => tab.loads > loadsBefore)
    await tab.waitForText('server-user', email)
    await tab.waitForText('hub-user', email)
  }

  test('the example only adds to the kit files it replaces, and typechecks in the built app', async ({
    assert,
  }) => {
    // Every file of the example's app/, inertia/ and start/ is applied
    const files = await readdir(EXAMPLE_ROOT, { recursive: true, withFileTypes: true })
    const overlay = files
      .filter((file) => file.isFile())
      .map((file) => relative(EXAMPLE_ROOT, join(file.parentPath, file.name)))
      .filter((path) => /^(app|inertia|start)\//.test(path))
    assert.sameMembers(overlay, OVERLAY)

    for (const path of OVERLAY) {
      const kitFile = join(KITS_ROOT, 'inertia_react', path)
      if (!existsSync(kitFile)) continue
      const missing = onlyAdds(
        await readFile(kitFile, 'utf-8'),
        await readFile(join(EXAMPLE_ROOT, path), 'utf-8')
      )
      assert.deepEqual(missing, [], `${path} drops or reorders these kit lines`)
    }
    assert.deepEqual(await typecheckExampleApp(app), [])
  }).timeout(240_000)

  test('sign in with requestSignIn(), shared user, bearer fetch, reload without a loop, sign out on both sides', async ({
    assert,
  }) => {
    const tab = await openTab(browser, app.baseUrl)
    const { page } = tab
    const email = 'inertia.react@example.com'

    await signIn(tab, email)
    const user = emulator.findUserByEmail(email)!
    const [row] = await app.db()('users').where({ rownd_user_id: user.userId })
    assert.equal(row.email, email)

    // Sign-in: one call from the first page (new session: the Hub reloads),
    // one from the reloaded page (same session: no reload)
    await eventually(() => tab.callsTo('/rownd/session_authenticate').length >= 2)
    await page.waitForTimeout(1000)
    const signIns = tab.callsTo('/rownd/session_authenticate')
    assert.deepEqual(
      signIns.map((call) => call.status),
      [200, 200]
    )
    assert.isFalse(signIns[1].body.should_refresh_page)
    // With the CSRF token rowndSharedProps put in extra_headers
    for (const call of signIns) {
      assert.match(call.headers['x-csrf-token'], /\S{20,}/)
      assert.include(call.headers['content-type'], 'application/json')
    }
    assert.equal(tab.loads, 2)
    // The kit's header (the shared `user` through UserTransformer) sees the Rownd user
    assert.equal(await page.locator('header .avatar').textContent(), 'IE')
    await page.screenshot({ path: screenshotPath('inertia-react-signed-in') })

    // The Hub's access token on an API route behind middleware.rownd(), without cookies
    await page.getByRole('button', { name: 'Call /api/me with the access token' }).click()
    await page.getByTestId('api-answer').waitFor()
    const answer = (await tab.text('api-answer'))!
    assert.match(answer, /^200 /)
    assert.deepEqual(JSON.parse(answer.slice(4)), {
      id: row.id,
      email,
      rowndUserId: user.userId,
    })
    assert.lengthOf(tab.apiRequests, 1)
    assert.match(tab.apiRequests[0].authorization, /^Bearer ey/)
    assert.notProperty(tab.apiRequests[0], 'cookie')

    // Reload: exactly one post-authentication call, answered without a reload
    const callsBefore = tab.calls.length
    const loadsBefore = tab.loads
    tab.hubFetches.length = 0
    await page.reload()
    await tab.waitForText('server-user', email)
    await tab.waitForText('hub-user', email)
    await eventually(() => tab.calls.length > callsBefore)
    await page.waitForTimeout(1500)
    assert.equal(tab.loads, loadsBefore + 1)
    assert.deepEqual(
      tab.calls.slice(callsBefore).map(({ path, body }) => [path, body?.should_refresh_page]),
      [['/rownd/session_authenticate', false]]
    )

    // One Hub loader in the page, and the Hub fetched once per page load
    assert.deepEqual(await tab.hubTags(), [1, 1])
    assert.deepEqual(tab.hubFetches, ['rph.mjs'])

    // Sign-out through the SDK: the Hub's session and the server's both end
    // A token of this user from a minute ago (a fresher one stays valid within config's clockTolerance)
    const earlier = await emulator.mintToken({
      userId: user.userId,
      issuedAt: Math.floor(Date.now() / 1000) - 60,
    })
    assert.equal((await getJson(app.baseUrl, '/api/me', { token: earlier })).status, 200)
    const beforeSignOut = tab.loads
    await page.getByRole('button', { name: 'Sign out' }).click()
    await eventually(() => tab.loads > beforeSignOut)
    await tab.waitForText('hub-user', 'signed out')
    await tab.waitForText('server-user', 'nobody')
    const signOuts = tab.callsTo('/rownd/session_sign_out')
    assert.lengthOf(signOuts, 1)
    assert.equal(signOuts[0].status, 200)
    assert.isNull(await page.evaluate(() => (globalThis as any).rownd.getAccessToken()))
    assert.equal(emulator.activeSessions(user.userId), 0)
    assert.equal(await page.locator('header .avatar').count(), 0)

    // The server agrees: the session cookie is refused, so are the user's earlier tokens
    const bySession = await tab.context.request.get(`${app.baseUrl}/api/me`, {
      headers: { accept: 'application/json' },
    })
    assert.equal(bySession.status(), 401)
    const byToken = await getJson(app.baseUrl, '/api/me', { token: earlier })
    assert.equal(byToken.status, 401)
    assert.equal(byToken.body.errors[0].code, 'E_ROWND_TOKEN_REVOKED')

    // Signed out, the page makes no session call and holds one loader
    await page.waitForTimeout(1000)
    assert.lengthOf(tab.callsTo('/rownd/session_sign_out'), 1)
    assert.equal(tab.calls.at(-1)!.path, '/rownd/session_sign_out')
    assert.deepEqual(await tab.hubTags(), [1, 1])
    assert.deepEqual(tab.errors, [])
    await page.screenshot({ path: screenshotPath('inertia-react-signed-out') })
    await tab.context.close()
  }).timeout(120_000)

  test("the kit's own Logout button: the next page signs the Hub out once, and it stays out", async ({
    assert,
  }) => {
    const tab = await openTab(browser, app.baseUrl)
    const { page } = tab
    const email = 'inertia.logout@example.com'
    await signIn(tab, email)
    const user = emulator.findUserByEmail(email)!
    await eventually(() => tab.callsTo('/rownd/session_authenticate').length >= 2)

    // The kit's logout form: an Inertia visit to /login
    const loadsBefore = tab.loads
    await page.locator('header form button[type="submit"]').click()
    await page.waitForURL(`${app.baseUrl}/login`)
    // The `rownd.signOut` prop made the layout call the SDK's signOut(); the
    // Hub reports to the session route, then reloads (as Rownd's Hub does)
    await eventually(() => tab.callsTo('/rownd/session_sign_out').length === 1)
    await eventually(() => tab.loads === loadsBefore + 1)
    await page.getByRole('heading', { name: 'Login' }).waitFor()
    await page.waitForTimeout(1500)
    assert.isNull(await page.evaluate(() => (globalThis as any).rownd.getAccessToken()))
    assert.equal(tab.loads, loadsBefore + 1)
    assert.deepEqual(
      tab.callsTo('/rownd/session_sign_out').map((call) => call.status),
      [200]
    )
    assert.equal(emulator.activeSessions(user.userId), 0)
    assert.equal(await page.locator('header .avatar').count(), 0)

    // A new page: still signed out, no sign-in call, no second sign-out
    const callsBefore = tab.calls.length
    await page.goto(`${app.baseUrl}/`)
    await tab.waitForText('hub-user', 'signed out')
    await page.waitForTimeout(1000)
    await tab.waitForText('server-user', 'nobody')
    assert.deepEqual(tab.calls.slice(callsBefore), [])
    assert.deepEqual(await tab.hubTags(), [1, 1])
    assert.deepEqual(tab.errors, [])
    await tab.context.close()
  }).timeout(120_000)
})
