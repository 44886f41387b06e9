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

/** The Hub loader tags after the inline script: their attributes (nonce aside) and src */
function loaders(html: string) {
  return [
    ...html.matchAll(
      /<script(?: nonce="[^"]*")? ([^>]*?) ?src="([^"]*)" data-rownd-hub><\/script>/g
    ),
  ].map((match) => ({ attributes: match[1], src: match[2] }))
}

/** DeprecationWarnings about hub.scriptUrl seen by this process */
const scriptUrlWarnings: Error[] = []
process.on('warning', (warning: Error & { code?: string }) => {
  if (warning.code === 'ROWND_HUB_SCRIPT_URL') scriptUrlWarnings.push(warning)
})

test.group('Edge Hub snippet | renderHubSnippet', () => {
  test('follows the official loader: setBaseUrl, then rph.mjs as a module and rph.js as nomodule', ({
    assert,
  }) => {
    const config = defineConfig({ appKey: 'key_abc', appSecret: 's' })
    const html = renderHubSnippet(config, { csrfToken: 'csrf-123' })
    const headers = { 'X-CSRF-TOKEN': 'csrf-123' }
    assert.deepEqual(runInline(html), [
      ['setBaseUrl', 'https://hub.rownd.io'],
      ['setAppKey', 'key_abc'],
      [
        'setPostAuthenticationApi',
        { method: 'post', url: '/rownd/session_authenticate', extra_headers: headers },
      ],
      [
        'setPostSignOutApi',
        { method: 'post', url: '/rownd/session_sign_out', extra_headers: headers },
      ],
      [
        'setPostUserDataUpdateApi',
        { method: 'post', url: '/rownd/user_data_update', extra_headers: headers },
      ],
    ])
    assert.deepEqual(loaders(html), [
      { attributes: 'type="module" async', src: 'https://hub.rownd.io/static/scripts/rph.mjs' },
      { attributes: 'nomodule async', src: 'https://hub.rownd.io/static/scripts/rph.js' },
    ])
    // The config block comes before the loaders, so the Hub reads it on load
    assert.isBelow(html.indexOf('_rphConfig.push'), html.indexOf(' src='))
    assert.equal(html.match(/<script/g)!.length, 3)
  })

  test('hub.baseUrl (or ROWND_HUB_BASE_URL) moves setBaseUrl and both scripts', ({ assert }) => {
    const config = defineConfig({ appKey: 'k', hub: { baseUrl: 'http://127.0.0.1:4000/' } })
    const html = renderHubSnippet(config)
    assert.deepEqual(runInline(html)[0], ['setBaseUrl', 'http://127.0.0.1:4000'])
    assert.deepEqual(
      loaders(html).map((tag) => tag.src),
      [
        'http://127.0.0.1:4000/static/scripts/rph.mjs',
        'http://127.0.0.1:4000/static/scripts/rph.js',
      ]
    )

    const previous = process.env.ROWND_HUB_BASE_URL
    process.env.ROWND_HUB_BASE_URL = 'http://127.0.0.1:5000'
    try {
      const fromEnv = defineConfig({ appKey: 'k' })
      assert.equal(fromEnv.hub.baseUrl, 'http://127.0.0.1:5000')
      // The config wins over the env var
      assert.equal(
        defineConfig({ hub: { baseUrl: 'https://hub.example' } }).hub.baseUrl,
        'https://hub.example'
      )
    } finally {
      if (previous === undefined) delete process.env.ROWND_HUB_BASE_URL
      else process.env.ROWND_HUB_BASE_URL = previous
    }
  })

  test('adds setApiUrl and honours the route prefix', ({ assert }) => {
    const config = defineConfig({
      appKey: 'k',
      hub: { apiUrl: 'http://127.0.0.1:4000' },
      session: { routePrefix: '/auth/rownd/' },
    })
    const commands = runInline(renderHubSnippet(config, { csrfToken: 't' })) as any[]
    assert.deepEqual(
      commands.map((c) => c[0]),
      [
        'setBaseUrl',
        'setAppKey',
        'setApiUrl',
        'setPostAuthenticationApi',
        'setPostSignOutApi',
        'setPostUserDataUpdateApi',
      ]
    )
    assert.equal(commands[2][1], 'http://127.0.0.1:4000')
    assert.equal(commands[3][1].url, '/auth/rownd/session_authenticate')
    assert.equal(commands[4][1].url, '/auth/rownd/session_sign_out')
    assert.equal(commands[5][1].url, '/auth/rownd/user_data_update')
  })

  test('the deprecated hub.scriptUrl loads that one classic script and warns once', async ({
    assert,
  }) => {
    const config = defineConfig({ appKey: 'k', hub: { scriptUrl: '/stand_in_hub.js' } })
    defineConfig({ appKey: 'k', hub: { scriptUrl: '/again.js' } })
    const html = renderHubSnippet(config)
    assert.deepEqual(loaders(html), [{ attributes: 'async', src: '/stand_in_hub.js' }])
    assert.deepEqual(runInline(html)[0], ['setBaseUrl', 'https://hub.rownd.io'])
    // Warnings are emitted on the next tick
    await new Promise((resolve) => setImmediate(resolve))
    assert.lengthOf(scriptUrlWarnings, 1)
    assert.equal(scriptUrlWarnings[0].name, 'DeprecationWarning')
    assert.include(scriptUrlWarnings[0].message, 'hub.baseUrl')
  })

  test('sends no CSRF header when there is no token', ({ assert }) => {
    const commands = runInline(renderHubSnippet(defineConfig({ appKey: 'k' }))) as any[]
    assert.deepEqual(commands[2][1].extra_headers, {})
    assert.deepEqual(commands[3][1].extra_headers, {})
  })

  test('hostile values cannot leave the inline script', ({ assert }) => {
    const config = defineConfig({
      appKey: HOSTILE,
      hub: { apiUrl: HOSTILE, baseUrl: `https://hub.example/?a=1&b="><script>alert(2)</script>` },
    })
    const html = renderHubSnippet(config, { csrfToken: HOSTILE, nonce: '"><x' })

    // Exactly the three closing tags the snippet writes itself
    assert.equal(html.match(/<\/script/gi)!.length, 3)
    assert.notInclude(html, '<!--')
    assert.notInclude(html, '\u2028')
    assert.notInclude(html, '\u2029')
    assert.notInclude(inlineScript(html), '&')
    assert.notInclude(html, '<script>alert')
    assert.equal(html.match(/nonce="&#34;&#62;&#60;x"/g)!.length, 3)

    // And the values still arrive intact
    const commands = runInline(html) as any[]
    assert.equal(commands[0][1], `https://hub.example/?a=1&b="><script>alert(2)</script>`)
    assert.equal(commands[1][1], HOSTILE)
    assert.equal(commands[2][1], HOSTILE)
    assert.equal(commands[3][1].extra_headers['X-CSRF-TOKEN'], HOSTILE)
    assert.equal(
      loaders(html)[0].src,
      'https://hub.example/?a=1&#38;b=&#34;&#62;&#60;script&#62;alert(2)&#60;/script&#62;/static/scripts/rph.mjs'
    )

    const legacy = renderHubSnippet(
      defineConfig({ appKey: 'k', hub: { scriptUrl: `/hub.js?a=1&b="><script>alert(2)</script>` } })
    )
    assert.equal(legacy.match(/<\/script/gi)!.length, 2)
    assert.equal(
      loaders(legacy)[0].src,
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
      ['setBaseUrl', 'setAppKey', 'setPostSignOutApi', 'onLoaded']
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
    assert.equal(commands[1][1], 'key_edge')
    assert.deepEqual(commands[2][1].extra_headers, { 'X-CSRF-TOKEN': 'tok-1' })
    // The CSP nonce is on every script tag
    assert.equal(html.match(/<script nonce="n0nce"/g)!.length, 3)
  })

  test('is not HTML-escaped and keeps hostile values inert', async ({ assert }) => {
    const edge = edgeWith(defineConfig({ appKey: HOSTILE }))
    const html = await edge.renderRaw('@rowndHub()', { csrfToken: HOSTILE })
    assert.equal(html.match(/<\/script/gi)!.length, 3)
    assert.notInclude(html, '&lt;script')
    const commands = runInline(html) as any[]
    assert.equal(commands[1][1], HOSTILE)
    assert.equal(commands[2][1].extra_headers['X-CSRF-TOKEN'], HOSTILE)
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
    assert.deepEqual(commands[2][1].extra_headers, { 'X-CSRF-TOKEN': 'from-shield' })
    assert.deepEqual(
      loaders(head).map((tag) => tag.src),
      ['https://hub.rownd.io/static/scripts/rph.mjs', 'https://hub.rownd.io/static/scripts/rph.js']
    )
  })
})
