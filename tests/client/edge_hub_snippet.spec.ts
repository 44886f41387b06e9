import { test } from '@japa/runner'
import { runInNewContext } from 'node:vm'
import { Edge } from 'edge.js'
import { defineConfig } from '../../src/define_config.ts'
import { edgePluginRownd } from '../../src/edge/plugin.ts'
import { renderHubSnippet, scriptJson } from '../../src/edge/hub_snippet.ts'

const HOSTILE = '</script><script>alert(1)</script><!-- & \u2028\u2029 "quoted" \'single\''

/** The inline config script of a rendered snippet */
function inlineScript(html: string) {
  const match = html.match(/^<script(?: nonce="[^"]*")?>\n([\s\S]*?)\n<\/script>\n/)
  if (!match) throw new Error(`no inline script in:\n${html}`)
  return match[1]
}

/** Runs the inline script the way a browser would and returns the `_rphConfig` queue */
function runInline(html: string): unknown[] {
  const window: Record<string, unknown> = {}
  runInNewContext(inlineScript(html), { window })
  return window._rphConfig as unknown[]
}

/** The src of the Hub loader tag */
function loaderSrc(html: string) {
  const match = html.match(/<script[^>]* async src="([^"]*)" data-rownd-hub><\/script>$/)
  return match?.[1]
}

test.group('Edge Hub snippet | renderHubSnippet', () => {
  test('pushes the app key and both session APIs with the CSRF header', ({ assert }) => {
    const config = defineConfig({ appKey: 'key_abc', appSecret: 's' })
    const html = renderHubSnippet(config, { csrfToken: 'csrf-123' })
    const headers = { 'X-CSRF-TOKEN': 'csrf-123' }
    assert.deepEqual(runInline(html), [
      ['setAppKey', 'key_abc'],
      [
        'setPostAuthenticationApi',
        { method: 'post', url: '/rownd/session_authenticate', extra_headers: headers },
      ],
      [
        'setPostSignOutApi',
        { method: 'post', url: '/rownd/session_sign_out', extra_headers: headers },
      ],
    ])
    assert.equal(loaderSrc(html), 'https://hub.rownd.io/static/scripts/rph.js')
    // The config block comes before the loader, so the Hub reads it on load
    assert.isBelow(html.indexOf('_rphConfig.push'), html.indexOf(' async src='))
  })

  test('adds setApiUrl, honours the route prefix and the script URL', ({ assert }) => {
    const config = defineConfig({
      appKey: 'k',
      hub: { scriptUrl: '/stand_in_hub.js', apiUrl: 'http://127.0.0.1:4000' },
      session: { routePrefix: '/auth/rownd/' },
    })
    const commands = runInline(renderHubSnippet(config, { csrfToken: 't' })) as any[]
    assert.deepEqual(
      commands.map((c) => c[0]),
      ['setAppKey', 'setApiUrl', 'setPostAuthenticationApi', 'setPostSignOutApi']
    )
    assert.equal(commands[1][1], 'http://127.0.0.1:4000')
    assert.equal(commands[2][1].url, '/auth/rownd/session_authenticate')
    assert.equal(commands[3][1].url, '/auth/rownd/session_sign_out')
    assert.equal(loaderSrc(renderHubSnippet(config)), '/stand_in_hub.js')
  })

  test('sends no CSRF header when there is no token', ({ assert }) => {
    const commands = runInline(renderHubSnippet(defineConfig({ appKey: 'k' }))) as any[]
    assert.deepEqual(commands[1][1].extra_headers, {})
    assert.deepEqual(commands[2][1].extra_headers, {})
  })

  test('hostile values cannot leave the inline script', ({ assert }) => {
    const config = defineConfig({
      appKey: HOSTILE,
      hub: { apiUrl: HOSTILE, scriptUrl: `/hub.js?a=1&b="><script>alert(2)</script>` },
    })
    const html = renderHubSnippet(config, { csrfToken: HOSTILE, nonce: '"><x' })

    // Exactly the two closing tags the snippet writes itself
    assert.equal(html.match(/<\/script/gi)!.length, 2)
    assert.notInclude(html, '<!--')
    assert.notInclude(html, '\u2028')
    assert.notInclude(html, '\u2029')
    assert.notInclude(inlineScript(html), '&')
    assert.notInclude(html, '<script>alert')
    assert.include(html, 'nonce="&#34;&#62;&#60;x"')

    // And the values still arrive intact
    const commands = runInline(html) as any[]
    assert.equal(commands[0][1], HOSTILE)
    assert.equal(commands[1][1], HOSTILE)
    assert.equal(commands[2][1].extra_headers['X-CSRF-TOKEN'], HOSTILE)
    assert.equal(
      loaderSrc(html),
      '/hub.js?a=1&#38;b=&#34;&#62;&#60;script&#62;alert(2)&#60;/script&#62;'
    )
  })

  test('signOut: the Hub signs out once loaded and no post-authentication API is set', ({
    assert,
  }) => {
    const config = defineConfig({ appKey: 'k' })
    const html = renderHubSnippet(config, { csrfToken: 't', signOut: true })
    const commands = runInline(html) as any[]
    assert.deepEqual(
      commands.map((c) => c[0]),
      ['setAppKey', 'setPostSignOutApi', 'onLoaded']
    )
    // The documented onLoaded form: a function the Hub calls once it is ready
    const signOuts: string[] = []
    const window: Record<string, unknown> = {}
    runInNewContext(inlineScript(html), { window })
    const onLoaded = (window._rphConfig as any[]).find((c) => c[0] === 'onLoaded')[1]
    assert.isFunction(onLoaded)
    window.rownd = { signOut: () => signOuts.push('signOut') }
    onLoaded()
    assert.deepEqual(signOuts, ['signOut'])
    // Without a loaded Hub the callback does nothing
    window.rownd = undefined
    assert.doesNotThrow(() => onLoaded())

    // Off by default, and only `true` turns it on
    assert.notInclude(renderHubSnippet(config), 'onLoaded')
    assert.include(renderHubSnippet(config, { signOut: false }), 'setPostAuthenticationApi')
  })

  test('scriptJson escapes every unsafe character and round-trips', ({ assert }) => {
    const encoded = scriptJson({ value: HOSTILE })
    assert.notMatch(encoded, /[<>&\u2028\u2029]/)
    assert.deepEqual(JSON.parse(encoded), { value: HOSTILE })
    assert.equal(scriptJson(undefined), 'null')
  })
})

test.group('Edge Hub snippet | @rowndHub() tag', () => {
  function edgeWith(config = defineConfig({ appKey: 'key_edge' })) {
    const edge = new Edge()
    edge.use(edgePluginRownd(config))
    return edge
  }

  test('renders the snippet with the csrfToken and cspNonce of the template state', async ({
    assert,
  }) => {
    const edge = edgeWith()
    const html = await edge
      .createRenderer()
      .share({ csrfToken: 'tok-1', cspNonce: 'n0nce' })
      .renderRaw('<head>\n@rowndHub()\n</head>')
    assert.isTrue(html.startsWith('<head><script nonce="n0nce">\n'))
    assert.isTrue(html.endsWith('data-rownd-hub></script>\n</head>'))
    const commands = runInline(html.slice('<head>'.length)) as any[]
    assert.equal(commands[0][1], 'key_edge')
    assert.deepEqual(commands[1][1].extra_headers, { 'X-CSRF-TOKEN': 'tok-1' })
  })

  test('is not HTML-escaped and keeps hostile values inert', async ({ assert }) => {
    const edge = edgeWith(defineConfig({ appKey: HOSTILE }))
    const html = await edge.renderRaw('@rowndHub()', { csrfToken: HOSTILE })
    assert.equal(html.match(/<\/script/gi)!.length, 2)
    assert.notInclude(html, '&lt;script')
    const commands = runInline(html) as any[]
    assert.equal(commands[0][1], HOSTILE)
    assert.equal(commands[1][1].extra_headers['X-CSRF-TOKEN'], HOSTILE)
  })

  test('rowndHubSignOut === true in the view state renders the sign-out instruction', async ({
    assert,
  }) => {
    const edge = edgeWith()
    const signedOut = await edge.renderRaw('@rowndHub()', { rowndHubSignOut: true })
    assert.include(signedOut, '_rphConfig.push(["onLoaded", function () {')
    assert.notInclude(signedOut, 'setPostAuthenticationApi')
    for (const value of [undefined, false, 'true', 1, {}]) {
      const html = await edge.renderRaw('@rowndHub()', { rowndHubSignOut: value })
      assert.notInclude(html, 'onLoaded', String(value))
      assert.include(html, 'setPostAuthenticationApi')
    }
    // Shared for the whole request, as a middleware shares it
    const shared = await edge
      .createRenderer()
      .share({ rowndHubSignOut: true })
      .renderRaw('@rowndHub()')
    assert.include(shared, 'window.rownd.signOut()')
  })

  test('works inside a layout component, reading the shared csrfToken', async ({ assert }) => {
    const edge = edgeWith()
    edge.registerTemplate('layouts/main', {
      template:
        '<html><head>\n  @rowndHub()\n</head><body>{{{ await $slots.main() }}}</body></html>',
    })
    edge.registerTemplate('page', {
      template: "@component('layouts/main')\n<p>hello</p>\n@end",
    })
    const html = await edge.createRenderer().share({ csrfToken: 'from-shield' }).render('page')
    assert.include(html, '<p>hello</p>')
    const head = html.slice(html.indexOf('<script'), html.indexOf('</head>')).trimEnd()
    const commands = runInline(head) as any[]
    assert.deepEqual(commands[1][1].extra_headers, { 'X-CSRF-TOKEN': 'from-shield' })
    assert.equal(loaderSrc(head), 'https://hub.rownd.io/static/scripts/rph.js')
  })
})
