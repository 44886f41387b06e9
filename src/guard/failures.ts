import type { HttpContext } from '@adonisjs/core/http'

/**
 * The last authentication failure of a `rownd` guard per request, so a
 * generic E_UNAUTHORIZED_ACCESS raised later by `authenticateUsing()` can
 * still render our precise code.
 */
const failures = new WeakMap<HttpContext, Error & { code?: string }>()

export function recordRowndFailure(ctx: HttpContext, error: Error & { code?: string }) {
  failures.set(ctx, error)
}

export function lastRowndFailure(ctx: HttpContext) {
  return failures.get(ctx)
}
