import app from '@adonisjs/core/services/app'
import type { HttpRouterService } from '@adonisjs/core/types'
import type { ResolvedRowndConfig } from '../types.ts'
import { RowndSessionController } from './session_controller.ts'

export interface RowndRoutesOptions {
  /** Path prefix. Default: `session.routePrefix` of config/rownd.ts (`'/rownd'`) */
  prefix?: string
  /** Guard name. Default `'rownd'` */
  guard?: string
  /** Route name prefix. Default `'rownd'` (routes `rownd.session_authenticate`, `rownd.session_sign_out`) */
  as?: string
}

/**
 * Registers the session routes the Rownd Hub calls:
 * `POST <prefix>/session_authenticate` and `POST <prefix>/session_sign_out`.
 */
export function registerRowndRoutes(router: HttpRouterService, options: RowndRoutesOptions = {}) {
  const controller = new RowndSessionController({ guard: options.guard })
  // Same default as the Hub snippet, so routes and Hub never disagree
  const configured = (app?.config?.get('rownd', undefined) as ResolvedRowndConfig | undefined)
    ?.session
  const prefix = (options.prefix ?? configured?.routePrefix ?? '/rownd').replace(/\/+$/, '')
  return router
    .group(() => {
      router
        .post('session_authenticate', (ctx) => controller.authenticate(ctx))
        .as('session_authenticate')
      router.post('session_sign_out', (ctx) => controller.signOut(ctx)).as('session_sign_out')
    })
    .prefix(prefix)
    .as(options.as ?? 'rownd')
}
