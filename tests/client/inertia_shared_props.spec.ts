import { test } from '@japa/runner'
import { AppFactory } from '@adonisjs/core/factories/app'
import { HttpContextFactory } from '@adonisjs/core/factories/http'
import { setApp } from '@adonisjs/core/services/app'
import type { ApplicationService } from '@adonisjs/core/types'
import type { JSONDataTypes } from '@adonisjs/core/types/transformers'
import { defineConfig } from '../../src/define_config.ts'
import { HUB_SIGN_OUT_WINDOW, markHubSignOut } from '../../src/http/app_session.ts'
import { rowndSharedProps } from '../../src/inertia/shared_props.ts'
import type { RowndConfigInput } from '../../src/types.ts'

/** The app service with this `config/rownd.ts` */
async function useRowndConfig(input: RowndConfigInput) {
  const app = new AppFactory()
    .create(new URL('../../tmp/fs/', import.meta.url))
    .useConfig({ rownd: defineConfig(input) })
  await app.init()
  await app.boot()
  setApp(app as unknown as ApplicationService)
}

/** An in-memory session store, as the session middleware puts on ctx */
function memorySession(values: Record<string, unknown> = {}) {
  return {
    get: (key: string) => values[key],
    put: (key: string, value: unknown) => void (values[key] = value),
    forget: (key: string) => void delete values[key],
    all: () => values,
  }
}

/** A request context after (or, without options, before) session and shield ran */
function context(options: { csrfToken?: string; session?: ReturnType<typeof memorySession> }) {
  const ctx = new HttpContextFactory().create()
  if (options.csrfToken) (ctx.request as { csrfToken?: string }).csrfToken = options.csrfToken
  if (options.session) Object.assign(ctx, { session: options.session })
  return ctx
}

test.group('Inertia | rowndSharedProps', () => {
  test('RowndProvider props wired to the session routes with the CSRF header', async ({
    assert,
  }) => {
    await useRowndConfig({ appKey: 'key_abc', appSecret: 's' })
    const props = rowndSharedProps(context({ csrfToken: 'csrf-123', session: memorySession() }))
    const api = (url: string) => ({
      method: 'post',
      url,
      extra_headers: { 'X-CSRF-TOKEN': 'csrf-123' },
    })
    // Rownd's own Hub and API: no hubUrlOverride, no apiUrl
    assert.deepEqual(props, {
      provider: {
        appKey: 'key_abc',
        postAuthenticationApi: api('/rownd/session_authenticate'),
        postSignOutApi: api('/rownd/session_sign_out'),
      },
      signOut: false,
    })
    // JSON all the way down: what reaches the page is what the server built
    assert.deepEqual(JSON.parse(JSON.stringify(props)), props)
    // Inertia's shared props take JSON data only (a compile-time check)
    const shared: { [key: string]: JSONDataTypes } = props
    assert.isObject(shared)
  })

  test('follows session.routePrefix, hub.baseUrl (hubUrlOverride) and hub.apiUrl', async ({
    assert,
  }) => {
    await useRowndConfig({
      appKey: 'key_abc',
      appSecret: 's',
      session: { routePrefix: '/auth/rownd/' },
      hub: { baseUrl: 'http://127.0.0.1:4010/', apiUrl: 'http://127.0.0.1:4010' },
    })
    const { provider } = rowndSharedProps(context({ csrfToken: 't', session: memorySession() }))
    assert.equal(provider.hubUrlOverride, 'http://127.0.0.1:4010')
    assert.equal(provider.apiUrl, 'http://127.0.0.1:4010')
    assert.equal(provider.postAuthenticationApi.url, '/auth/rownd/session_authenticate')
    assert.equal(provider.postSignOutApi.url, '/auth/rownd/session_sign_out')

    // Rownd's own Hub, spelled with a trailing slash: still no override
    await useRowndConfig({ appKey: 'k', appSecret: 's', hub: { baseUrl: 'https://hub.rownd.io/' } })
    assert.notProperty(rowndSharedProps(context({})).provider, 'hubUrlOverride')
  })

  test('a page rendered before session and shield ran (a 404): no CSRF header, no sign-out', async ({
    assert,
  }) => {
    await useRowndConfig({ appKey: 'key_abc', appSecret: 's' })
    const props = rowndSharedProps(context({}))
    assert.deepEqual(props.provider.postAuthenticationApi.extra_headers, {})
    assert.deepEqual(props.provider.postSignOutApi.extra_headers, {})
    assert.isFalse(props.signOut)
  })

  test("signOut: true while the app's own logout waits for the Hub, false once the window passed", async ({
    assert,
  }) => {
    await useRowndConfig({ appKey: 'key_abc', appSecret: 's' })
    const session = memorySession()
    markHubSignOut(session, 'user_1')
    assert.isTrue(rowndSharedProps(context({ csrfToken: 't', session })).signOut)
    // Asked on every page until the Hub reports its sign-out (which clears it)
    assert.isTrue(rowndSharedProps(context({ csrfToken: 't', session })).signOut)

    const stale = memorySession()
    markHubSignOut(stale, 'user_1')
    const mark = stale.all().rownd_hub_sign_out as { at: number }
    mark.at -= HUB_SIGN_OUT_WINDOW + 1
    assert.isFalse(rowndSharedProps(context({ csrfToken: 't', session: stale })).signOut)
  })
})
