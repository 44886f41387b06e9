import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'

/**
 * Named middleware for route groups: `middleware.rownd()` (or
 * `middleware.rownd({ guard: 'other' })`). Failures render as JSON 401 with
 * a `WWW-Authenticate` challenge, a redirect to the login path for browser
 * navigations, or 503 with `Retry-After` during an outage.
 */
export default class RowndMiddleware {
  async handle(ctx: HttpContext, next: NextFn, options: { guard?: string } = {}) {
    await (ctx as any).auth.use(options.guard ?? 'rownd').authenticate()
    return next()
  }
}
