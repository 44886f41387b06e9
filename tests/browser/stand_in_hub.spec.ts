/**
 * The stand-in Hub the emulator serves, driven by Rownd's own loaders: the
 * dashboard snippet (with its `rph_base_url_override`), a module/nomodule
 * pair, and @rownd/react 2.2.0 as installed (bundled here with esbuild).
 * Pages come from a small app server on loopback, so the Hub talks to it
 * cross-origin exactly as it talks to a real app.
 */
import { test } from '@japa/runner'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { RowndEmulator } from '../../src/testing/index.ts'
import { launchBrowser, REPO_ROOT } from './helpers.ts'

interface AppCall {
  path: string
  headers: IncomingHttpHeaders
  body: any
}

/** An app origin: serves registered pages and scripts, answers every other path with JSON */
async function startApp() {
  const pages = new Map<string, { type: string; body: string }>()
  const calls: AppCall[] = []
  const answers = new Map<string, { status: number; body: unknown; delay?: number }>()
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://app').pathname
    const page = pages.get(path)
    if (page) {
      res.writeHead(200, { 'content-type': page.type })
      return res.end(page.body)
    }
    let raw = ''
    req.on('data', (chunk) => (raw += chunk))
    req.on('end', () => {
      let body: any = raw
      try {
        body = raw ? JSON.parse(raw) : undefined
      } catch {}
      calls.push({ path, headers: req.headers, body })
      const answer = answers.get(path) ?? { status: 200, body: { message: 'ok' } }
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(answer.body))
      }, answer.delay ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return {
    url,
    calls,
    answers,
    page(path: string, body: string, type = 'text/html; charset=utf-8') {
      pages.set(path, { type, body })
    },
    callsTo(path: string) {
      return calls.filter((call) => call.path === path)
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** Polls until a condition holds (for calls the page makes after what it shows) */
async function eventually(condition: () => boolean, timeout = 5000) {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeout) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The Hub's own session in localStorage */
function storedSession(page: Page) {
  return page.evaluate(() => (globalThis as any).localStorage.getItem('rownd_stand_in_hub'))
}

test.group('Stand-in Hub | official loaders', (group) => {
  let emulator: RowndEmulator
  let app: Awaited<ReturnType<typeof startApp>>
  let browser: Browser

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startApp()
    browser = await launchBrowser()
    return async () => {
      await browser.close()
      await app.close()
      await emulator.close()
    }
  })

  test('the dashboard snippet plus a module/nomodule pair initialise it once', async ({
    assert,
    cleanup,
  }) => {
    // Rownd's dashboard snippet (as documented), steered by rph_base_url_override
    app.page(
      '/loaders',
      `<!doctype html><html><head>
<script type="text/javascript">
!function(){var e=window._rphConfig=window._rphConfig||[];var t=window.localStorage.getItem("rph_base_url_override")||"https://hub.rownd.io";e.push(["setBaseUrl",t]);var r=document,s=r.createElement("script"),a=r.getElementsByTagName("script")[0];s.type="text/javascript",s.async=!0,s.src=t+"/static/scripts/rph.js",a&&a.parentNode?a.parentNode.insertBefore(s,a):r.body.appendChild(s)}();
_rphConfig.push(["setAppKey", ${JSON.stringify(emulator.appKey)}]);
_rphConfig.push(["onLoaded", function () { window.loadedCalls = (window.loadedCalls || 0) + 1 }]);
_rphConfig.push(["setStateListener", function (e) { window.listenerCalls = (window.listenerCalls || 0) + 1; window.lastState = e.state }]);
_rphConfig.push(["setSomethingNew", { ignored: true }]);
</script>
<script type="module" src="${emulator.url}/static/scripts/rph.mjs"></script>
<script nomodule src="${emulator.url}/static/scripts/rph.js"></script>
</head><body><p>loaders</p></body></html>`
    )
    const page = await browser.newPage()
    cleanup(() => page.close())
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.addInitScript(
      (url) => (globalThis as any).localStorage.setItem('rph_base_url_override', url),
      emulator.url
    )
    const hubLoads: string[] = []
    page.on('response', (response) => {
      if (response.url().includes('/static/scripts/rph.'))
        hubLoads.push(new URL(response.url()).pathname)
    })
    await page.goto(`${app.url}/loaders`)
    await page.waitForFunction(() => (globalThis as any).loadedCalls === 1)
    await page.waitForTimeout(300)

    // The classic snippet script and the module both ran; the Hub started once
    assert.sameMembers(hubLoads, ['/static/scripts/rph.js', '/static/scripts/rph.mjs'])
    const seen = await page.evaluate(() => {
      const w = globalThis as any
      return {
        loaded: w.loadedCalls,
        listener: w.listenerCalls,
        initializing: w.lastState.is_initializing,
        auth: w.lastState.auth,
        standIn: w.rownd.standIn,
        pushIsArray: Array.isArray(w._rphConfig),
      }
    })
    assert.deepEqual(seen, {
      loaded: 1,
      listener: seen.listener,
      initializing: false,
      auth: { access_token: null, is_authenticated: false },
      standIn: true,
      pushIsArray: false,
    })
    assert.isAtMost(seen.listener, 2)
    assert.deepEqual(errors, [])

    // Commands pushed after loading run at once
    const late = await page.evaluate(
      () =>
        new Promise((resolve) =>
          (globalThis as any)._rphConfig.push(['onLoaded', () => resolve('ran')])
        )
    )
    assert.equal(late, 'ran')
    assert.isNull(await page.evaluate(() => (globalThis as any).rownd.getAccessToken()))
  })

  test('a session about to expire is refreshed before anybody reads it', async ({
    assert,
    cleanup,
  }) => {
    app.page(
      '/refresh',
      `<!doctype html><html><head><script>
var _rphConfig = (window._rphConfig = window._rphConfig || []);
_rphConfig.push(['setBaseUrl', ${JSON.stringify(emulator.url)}]);
_rphConfig.push(['setAppKey', ${JSON.stringify(emulator.appKey)}]);
</script>
<script type="module" src="${emulator.url}/static/scripts/rph.mjs"></script>
<script nomodule src="${emulator.url}/static/scripts/rph.js"></script>
</head><body></body></html>`
    )
    const session = await emulator.createSession({ email: 'soon@example.com' })
    // Ten seconds of life left
    const now = Math.floor(Date.now() / 1000)
    const expiring = await emulator.mintToken({ userId: session.userId, issuedAt: now - 3590 })
    const page = await browser.newPage()
    cleanup(() => page.close())
    await page.addInitScript(
      (stored) => {
        const storage = (globalThis as any).localStorage
        if (!storage.getItem('seeded')) {
          storage.setItem('seeded', '1')
          storage.setItem('rownd_stand_in_hub', stored)
        }
      },
      JSON.stringify({ access_token: expiring, refresh_token: session.refreshToken })
    )
    emulator.resetCounts()
    await page.goto(`${app.url}/refresh`)
    const token = await page.evaluate(() => (globalThis as any).rownd.getAccessToken())
    assert.notEqual(token, expiring)
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
    assert.isAbove(payload.exp - Date.now() / 1000, 3500)
    // Once: a fresh token is not refreshed again when read
    assert.equal(await page.evaluate(() => (globalThis as any).rownd.getAccessToken()), token)
    assert.equal(emulator.requestCount('token_refresh'), 1)
    const stored = JSON.parse((await storedSession(page))!)
    assert.equal(stored.access_token, token)
    assert.notEqual(stored.refresh_token, session.refreshToken)
  })

  /**
   * A page carrying the sign-out instruction (the onLoaded form @rowndHub()
   * renders) for a Hub whose own post-authentication call is still running
   */
  function signOutPage(path: string, authPath: string, pushLater: number) {
    app.page(
      path,
      `<!doctype html><html><head><script>
var _rphConfig = (window._rphConfig = window._rphConfig || []);
_rphConfig.push(['setBaseUrl', ${JSON.stringify(emulator.url)}]);
_rphConfig.push(['setAppKey', ${JSON.stringify(emulator.appKey)}]);
_rphConfig.push(['setPostAuthenticationApi', { method: 'post', url: '${authPath}' }]);
_rphConfig.push(['setPostSignOutApi', { method: 'post', url: '/sign_out' }]);
setTimeout(function () {
  _rphConfig.push(["onLoaded", function () { if (window.rownd) window.rownd.signOut(); }]);
}, ${pushLater});
</script>
<script type="module" src="${emulator.url}/static/scripts/rph.mjs"></script>
<script nomodule src="${emulator.url}/static/scripts/rph.js"></script>
</head><body></body></html>`
    )
    app.page('/signed_out', '<!doctype html><p>signed out</p>')
    app.answers.set('/sign_out', { status: 200, body: { return_to: '/signed_out' } })
  }

  async function seededPage(email: string) {
    const session = await emulator.createSession({ email })
    const page = await browser.newPage()
    await page.addInitScript(
      (stored) => {
        const storage = (globalThis as any).localStorage
        if (!storage.getItem('seeded')) {
          storage.setItem('seeded', '1')
          storage.setItem('rownd_stand_in_hub', stored)
        }
      },
      JSON.stringify({ access_token: session.accessToken, refresh_token: session.refreshToken })
    )
    return { page, session }
  }

  test('the sign-out instruction wins over a post-authentication call in flight', async ({
    assert,
    cleanup,
  }) => {
    // The app answers slowly, and would reload the page
    app.answers.set('/slow_auth', { status: 200, body: { should_refresh_page: true }, delay: 1500 })
    signOutPage('/instruction_in_flight', '/slow_auth', 0)
    const { page, session } = await seededPage('flight@example.com')
    cleanup(() => page.close())
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/signed_out'),
      page.goto(`${app.url}/instruction_in_flight`),
    ])
    await page.waitForTimeout(2000)
    // Still where the sign-out sent it: the late answer reloaded nothing
    assert.equal(new URL(page.url()).pathname, '/signed_out')
    assert.isNull(await storedSession(page))
    assert.lengthOf(app.callsTo('/sign_out'), 1)
    assert.equal(emulator.activeSessions(session.userId), 0)
  })

  test('the sign-out instruction wins over the refresh that follows a refused call', async ({
    assert,
    cleanup,
  }) => {
    app.answers.set('/refusing_auth', { status: 401, body: { errors: [{ code: 'E_NOPE' }] } })
    // The refresh the refusal starts is slow; the instruction arrives meanwhile
    emulator.setFault('token_refresh', { kind: 'latency', ms: 1500 }, { times: 1 })
    signOutPage('/instruction_refused', '/refusing_auth', 500)
    const { page, session } = await seededPage('refused@example.com')
    cleanup(() => page.close())
    emulator.resetCounts()
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/signed_out'),
      page.goto(`${app.url}/instruction_refused`),
    ])
    await page.waitForTimeout(2000)
    assert.isNull(await storedSession(page))
    assert.equal(emulator.requestCount('token_refresh'), 1)
    assert.lengthOf(app.callsTo('/refusing_auth'), 1)
    assert.equal(emulator.activeSessions(session.userId), 0)
    emulator.clearFaults()
  })
})

test.group('Stand-in Hub | @rownd/react 2.2.0', (group) => {
  let emulator: RowndEmulator
  let app: Awaited<ReturnType<typeof startApp>>
  let browser: Browser

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await startApp()
    const bundle = await build({
      stdin: {
        resolveDir: REPO_ROOT,
        loader: 'tsx',
        contents: `
import React from 'react'
import { createRoot } from 'react-dom/client'
import { RowndProvider, useRownd } from '@rownd/react'

function Status() {
  const rownd = useRownd()
  const [token, setToken] = React.useState('')
  return (
    <div>
      <p data-testid="initializing">{String(rownd.is_initializing)}</p>
      <p data-testid="authenticated">{String(rownd.is_authenticated)}</p>
      <p data-testid="email">{rownd.user.data.email ?? ''}</p>
      <p data-testid="first-name">{rownd.user.data.first_name ?? ''}</p>
      <p data-testid="auth-level">{rownd.auth.auth_level ?? ''}</p>
      <p data-testid="verified">{String(rownd.auth.is_verified_user)}</p>
      <p data-testid="app-id">{rownd.auth.app_id ?? ''}</p>
      <p data-testid="token">{token}</p>
      <button data-testid="sign-in" onClick={() => rownd.requestSignIn()}>Sign in</button>
      <button data-testid="get-token" onClick={async () => setToken(String(await rownd.getAccessToken()))}>Token</button>
      <button data-testid="set-name" onClick={() => rownd.setUserValue('first_name', 'Reacty')}>Name</button>
      <button data-testid="sign-out" onClick={() => rownd.signOut()}>Sign out</button>
    </div>
  )
}

const config = (window as any).__TEST__
createRoot(document.getElementById('root')!).render(
  <RowndProvider
    appKey={config.appKey}
    hubUrlOverride={config.hubUrl}
    postAuthenticationApi={{ method: 'post', url: '/auth', extra_headers: { 'X-Test': '1' } }}
    postSignOutApi={{ method: 'post', url: '/out' }}
    postUserDataUpdateApi={{ method: 'post', url: '/user_data' }}
  >
    <Status />
  </RowndProvider>
)
`,
      },
      bundle: true,
      format: 'iife',
      jsx: 'automatic',
      define: { 'process.env.NODE_ENV': '"production"' },
      write: false,
      logLevel: 'silent',
    })
    app.page('/react.js', bundle.outputFiles[0].text, 'text/javascript; charset=utf-8')
    app.page(
      '/react',
      `<!doctype html><html><head><script>window.__TEST__ = ${JSON.stringify({
        appKey: emulator.appKey,
        hubUrl: emulator.url,
      })}</script></head><body><div id="root"></div><script src="/react.js"></script></body></html>`
    )
    browser = await launchBrowser()
    return async () => {
      await browser.close()
      await app.close()
      await emulator.close()
    }
  })

  test('signs in, feeds the provider state and calls the app APIs', async ({ assert }) => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(`${app.url}/react`)
    await page.getByTestId('initializing').and(page.locator(':text("false")')).waitFor()
    assert.equal(await page.getByTestId('authenticated').textContent(), 'false')

    await page.getByTestId('sign-in').click()
    const form = page.getByTestId('rownd-sign-in')
    await form.locator('input[name="email"]').fill('react@example.com')
    await form.locator('button[type="submit"]').click()
    await page.getByTestId('email').and(page.locator(':text("react@example.com")')).waitFor()
    await form.waitFor({ state: 'detached' })

    const user = emulator.findUserByEmail('react@example.com')!
    assert.equal(await page.getByTestId('authenticated').textContent(), 'true')
    assert.equal(await page.getByTestId('auth-level').textContent(), 'verified')
    assert.equal(await page.getByTestId('verified').textContent(), 'true')
    assert.equal(await page.getByTestId('app-id').textContent(), emulator.appId)

    // The provider's getAccessToken reaches the Hub's
    await page.getByTestId('get-token').click()
    await page.getByTestId('token').and(page.locator(':text-matches("^ey")')).waitFor()
    const token = await page.getByTestId('token').textContent()

    // setPostAuthenticationApi came from the prop: JSON body, extra headers
    const auth = app.callsTo('/auth')
    assert.lengthOf(auth, 1)
    assert.deepEqual(auth[0].body, { access_token: token })
    assert.equal(auth[0].headers['x-test'], '1')

    // setUserValue saves through Rownd, then the user data update API hears of it
    await page.getByTestId('set-name').click()
    await page.getByTestId('first-name').and(page.locator(':text("Reacty")')).waitFor()
    assert.equal(user.data.first_name, 'Reacty')
    await eventually(() => app.callsTo('/user_data').length > 0)
    const updates = app.callsTo('/user_data')
    assert.lengthOf(updates, 1)
    assert.equal(updates[0].body.user_data.first_name, 'Reacty')
    assert.equal(updates[0].body.user_data.email, 'react@example.com')

    // However often the provider re-injects its loader tags, one Hub runs
    const injected = await page.locator('script[src$="/static/scripts/rph.mjs"]').count()
    assert.isAtLeast(injected, 1)
    assert.equal(await page.evaluate(() => (globalThis as any).__rowndStandInHub.version), 1)

    // Sign-out: the Rownd session is revoked, the app told, the page reloaded
    await Promise.all([page.waitForEvent('load'), page.getByTestId('sign-out').click()])
    await page.getByTestId('initializing').and(page.locator(':text("false")')).waitFor()
    assert.equal(await page.getByTestId('authenticated').textContent(), 'false')
    assert.isNull(await storedSession(page))
    assert.lengthOf(app.callsTo('/out'), 1)
    assert.equal(emulator.activeSessions(user.userId), 0)
    assert.deepEqual(errors, [])
    await page.close()
  })
})
