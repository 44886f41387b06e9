import { ROWND_HUB_BASE_URL } from '../define_config.ts'
import type { ResolvedRowndConfig } from '../types.ts'
import { rowndRoutePaths } from '../http/route_paths.ts'

/** The parts of the resolved config the Hub snippet reads */
export type HubSnippetConfig = Pick<ResolvedRowndConfig, 'appKey'> & {
  hub: Partial<Pick<ResolvedRowndConfig['hub'], 'baseUrl' | 'scriptUrl' | 'apiUrl'>>
  session: Pick<ResolvedRowndConfig['session'], 'routePrefix'>
}

export interface HubSnippetOptions {
  /** CSRF token sent as `X-CSRF-TOKEN` to the session routes (shield shares it as `csrfToken`) */
  csrfToken?: string | null
  /** CSP nonce for the two script tags (shield shares it as `cspNonce`) */
  nonce?: string | null
  /**
   * Tells the Hub to sign out once loaded (`onLoaded` → `rownd.signOut()`),
   * e.g. on the page after the app's own logout ended the session. The
   * page then configures no post-authentication API, so no Hub can sign
   * the session back in with the token it still holds.
   */
  signOut?: boolean
}

/**
 * The sign-out instruction, in the `onLoaded` form Rownd documents. Fixed
 * text: nothing from the request or the config goes into it.
 */
const SIGN_OUT_COMMAND =
  '_rphConfig.push(["onLoaded", function () { if (window.rownd) window.rownd.signOut(); }]);'

/**
 * Characters that could end or confuse an inline `<script>` when they
 * appear in a JSON string: `</script>`, `<!--`, `&` entities, and the two
 * line terminators that old JavaScript parsers refused inside strings.
 */
const UNSAFE_IN_SCRIPT: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
}

/**
 * JSON-encodes a value for an inline `<script>` block: the result is a
 * JavaScript expression that can never close the script element.
 */
export function scriptJson(value: unknown): string {
  const json = JSON.stringify(value) ?? 'null'
  return json.replace(/[<>&\u2028\u2029]/g, (char) => UNSAFE_IN_SCRIPT[char])
}

/** Escapes a value for a double-quoted HTML attribute */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}

/**
 * Renders the Rownd Hub snippet for a page, as Rownd's own loaders do: the
 * `_rphConfig` commands (base URL, app key, API URL, post-authentication and
 * post-sign-out APIs pointing at the session routes, carrying the CSRF
 * token, and the sign-out instruction when asked for), then
 * `<base>/static/scripts/rph.mjs` as a module and `rph.js` as its nomodule
 * fallback (browsers run one of them). The config block comes first so the
 * Hub reads it when it loads.
 */
export function renderHubSnippet(config: HubSnippetConfig, options: HubSnippetOptions = {}) {
  const paths = rowndRoutePaths(config.session.routePrefix)
  const baseUrl = (config.hub.baseUrl || ROWND_HUB_BASE_URL).replace(/\/+$/, '')
  const extraHeaders: Record<string, string> = {}
  if (options.csrfToken) extraHeaders['X-CSRF-TOKEN'] = options.csrfToken

  const commands: Array<[string, unknown]> = [
    ['setBaseUrl', baseUrl],
    ['setAppKey', config.appKey],
  ]
  if (config.hub.apiUrl) commands.push(['setApiUrl', config.hub.apiUrl])
  if (!options.signOut) {
    commands.push([
      'setPostAuthenticationApi',
      { method: 'post', url: paths.sessionAuthenticate, extra_headers: extraHeaders },
    ])
  }
  commands.push([
    'setPostSignOutApi',
    { method: 'post', url: paths.sessionSignOut, extra_headers: extraHeaders },
  ])
  if (!options.signOut) {
    // After a profile change in the Hub: the server re-reads the user from Rownd
    commands.push([
      'setPostUserDataUpdateApi',
      { method: 'post', url: paths.userDataUpdate, extra_headers: extraHeaders },
    ])
  }

  const nonce = options.nonce ? ` nonce="${escapeAttribute(options.nonce)}"` : ''
  const pushes = commands.map((command) => `_rphConfig.push(${scriptJson(command)});`)
  if (options.signOut) pushes.push(SIGN_OUT_COMMAND)
  const loader = (attributes: string, src: string) =>
    `<script${nonce} ${attributes} src="${escapeAttribute(src)}" data-rownd-hub></script>`
  const loaders = config.hub.scriptUrl
    ? // Deprecated hub.scriptUrl: the single classic script it names
      [loader('async', config.hub.scriptUrl)]
    : [
        loader('type="module" async', `${baseUrl}/static/scripts/rph.mjs`),
        loader('nomodule async', `${baseUrl}/static/scripts/rph.js`),
      ]
  return [
    `<script${nonce}>`,
    'var _rphConfig = (window._rphConfig = window._rphConfig || []);',
    ...pushes,
    '</script>',
    ...loaders,
  ].join('\n')
}
