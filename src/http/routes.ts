import app from '@adonisjs/core/services/app'
import type { HttpRouterService } from '@adonisjs/core/types'
import type { ResolvedRowndConfig } from '../types.ts'
import { rowndRoutePaths } from './route_paths.ts'
import { RowndSessionController } from './session_controller.ts'
import { RowndUserDataController } from './user_data_controller.ts'
import { RowndWebhookController } from './webhook_controller.ts'

export interface RowndRoutesOptions {
  /** Path prefix. Default: `session.routePrefix` of config/rownd.ts (`'/rownd'`) */
  prefix?: string
  /** Guard name. Default `'rownd'` */
  guard?: string
  /** Route name prefix. Default `'rownd'` (routes `rownd.session_authenticate`, `rownd.session_sign_out`, ...) */
  as?: string
  /**
   * Register the routes the Hub calls (sign-in, sign-out, user data
   * update). Default true; false in API-only apps (no sessions)
   */
  session?: boolean
  /**
   * Register the webhook route. Default: when `webhooks.secret` (or
   * `ROWND_WEBHOOK_SECRET`) is set
   */
  webhooks?: boolean
}

/**
 * Registers the routes the Rownd Hub calls (`POST <prefix>/session_authenticate`,
 * `POST <prefix>/session_sign_out`, `POST <prefix>/user_data_update`) and,
 * when a webhook secret is configured, the webhook route Rownd's connector
 * calls (`<prefix>/webhooks/<secret>`, POST, PUT or PATCH).
 */
export function registerRowndRoutes(router: HttpRouterService, options: RowndRoutesOptions = {}) {
  // Same default as the Hub snippet, so routes and Hub never disagree
  const config = app?.config?.get('rownd', undefined) as ResolvedRowndConfig | undefined
  const prefix = (options.prefix ?? config?.session?.routePrefix ?? '/rownd').replace(/\/+$/, '')
  const webhooks = options.webhooks ?? Boolean(config?.webhooks?.secret)
  const group = router.group(() => {
    if (options.session !== false) {
      const controller = new RowndSessionController({ guard: options.guard })
      const userData = new RowndUserDataController({ guard: options.guard })
      router
        .post('session_authenticate', (ctx) => controller.authenticate(ctx))
        .as('session_authenticate')
      router.post('session_sign_out', (ctx) => controller.signOut(ctx)).as('session_sign_out')
      router.post('user_data_update', (ctx) => userData.update(ctx)).as('user_data_update')
    }
    if (webhooks) {
      const controller = new RowndWebhookController(app, { guard: options.guard })
      // Every method: a GET of the URL gets a 405 from here, instead of a
      // route-not-found error whose logged message would hold the secret
      router.any('webhooks/:secret?', (ctx) => controller.handle(ctx)).as('webhook')
    }
  })
  return group.prefix(prefix).as(options.as ?? 'rownd')
}

export { rowndRoutePaths }
