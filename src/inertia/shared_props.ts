/*
 * rownd-adonis/inertia: what an Inertia app shares with its pages so that
 * Rownd's React SDK (`<RowndProvider>` from @rownd/react) talks to the
 * session routes, and signs out when the app's own logout asked it to.
 */
import type { HttpContext } from '@adonisjs/core/http'
import app from '@adonisjs/core/services/app'
import { defineConfig, ROWND_HUB_BASE_URL } from '../define_config.ts'
import { hubSignOutPending } from '../http/app_session.ts'
import type { ResolvedRowndConfig } from '../types.ts'

/*
 * Type aliases, not interfaces: Inertia's shared props must be JSON data
 * (`ctx.inertia.always(rowndSharedProps(ctx))` checks that), and only type
 * aliases carry the implicit index signature that check needs.
 */

/** One of the Hub's API settings (`setPostAuthenticationApi` and friends) */
export type RowndHubApi = {
  method: 'post'
  url: string
  extra_headers: Record<string, string>
}

/** Props for `<RowndProvider>`, as @rownd/react turns them into Hub commands */
export type RowndProviderProps = {
  appKey: string
  /** Rownd's API URL for the Hub (`hub.apiUrl`), when not Rownd's own */
  apiUrl?: string
  /** Where the Hub's scripts load from (`hub.baseUrl`), when not Rownd's Hub: the emulator's stand-in offline */
  hubUrlOverride?: string
  postAuthenticationApi: RowndHubApi
  postSignOutApi: RowndHubApi
}

export type RowndSharedProps = {
  provider: RowndProviderProps
  /**
   * The app's own logout just ended a Rownd session: call the SDK's
   * `signOut()` once, or the Hub signs the user straight back in
   */
  signOut: boolean
}

function config(): ResolvedRowndConfig {
  return (app.config.get('rownd', undefined) as ResolvedRowndConfig | undefined) ?? defineConfig()
}

/**
 * The shared prop for Inertia pages (`share()` of the app's Inertia
 * middleware): `rownd: rowndSharedProps(ctx)`. The CSRF token shield
 * issued for this session rides along as `X-CSRF-TOKEN`, so the session
 * routes keep their CSRF protection.
 */
export function rowndSharedProps(ctx: HttpContext): RowndSharedProps {
  const resolved = config()
  const prefix = resolved.session.routePrefix.replace(/\/+$/, '')
  const csrfToken = (ctx.request as { csrfToken?: unknown }).csrfToken
  const extraHeaders: Record<string, string> =
    typeof csrfToken === 'string' && csrfToken ? { 'X-CSRF-TOKEN': csrfToken } : {}
  const hub = resolved.hub
  const base = hub.baseUrl.replace(/\/+$/, '')
  return {
    provider: {
      appKey: resolved.appKey,
      ...(hub.apiUrl ? { apiUrl: hub.apiUrl } : {}),
      ...(base !== ROWND_HUB_BASE_URL ? { hubUrlOverride: base } : {}),
      postAuthenticationApi: {
        method: 'post',
        url: `${prefix}/session_authenticate`,
        extra_headers: extraHeaders,
      },
      postSignOutApi: {
        method: 'post',
        url: `${prefix}/session_sign_out`,
        extra_headers: extraHeaders,
      },
    },
    signOut: hubSignOutPending(ctx),
  }
}
