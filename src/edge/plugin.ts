import type { Edge } from 'edge.js'
import type { HttpContext } from '@adonisjs/core/http'
import debug from '../debug.ts'
import { hubSignOutPending } from '../http/app_session.ts'
import { renderHubSnippet, type HubSnippetConfig } from './hub_snippet.ts'

/** Global through which the compiled `@rowndHub()` tag reaches the renderer */
const GLOBAL_NAME = '__rowndHubSnippet'

/**
 * Edge plugin registering the `@rowndHub()` tag. Put it once inside the
 * layout's `<head>`: it renders the Hub snippet wired to the session routes,
 * with the request's CSRF token and CSP nonce when shield shares them, and
 * the Hub sign-out instruction when the view state holds
 * `rowndHubSignOut: true` (shared by the middleware that ended the session).
 *
 * The config is read on every render (a function), so it always matches
 * `config/rownd.ts` as loaded by the app.
 */
export function edgePluginRownd(config: HubSnippetConfig | (() => HubSnippetConfig)) {
  const resolve = typeof config === 'function' ? config : () => config
  return (edge: Edge) => {
    debug('registering the @rowndHub() Edge tag')
    edge.global(GLOBAL_NAME, (state: Record<string, unknown>) => {
      const csrfToken = typeof state.csrfToken === 'string' ? state.csrfToken : undefined
      const nonce = typeof state.cspNonce === 'string' ? state.cspNonce : undefined
      // Shared by the session sync middleware, or read from the session itself
      // (AdonisJS shares `request`, which knows its HttpContext)
      const ctx = (state.request as { ctx?: HttpContext } | undefined)?.ctx
      const signOut = state.rowndHubSignOut === true || (ctx ? hubSignOutPending(ctx) : false)
      if (signOut) debug('@rowndHub(): telling the Hub to sign out')
      return renderHubSnippet(resolve(), { csrfToken, nonce, signOut })
    })
    edge.registerTag({
      tagName: 'rowndHub',
      block: false,
      seekable: true,
      compile(_parser, buffer, token) {
        // Written raw: the snippet is built from escaped parts
        buffer.outputExpression(
          `state.${GLOBAL_NAME}(state)`,
          token.filename,
          token.loc.start.line,
          false
        )
      },
    })
  }
}
