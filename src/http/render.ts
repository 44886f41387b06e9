import app from '@adonisjs/core/services/app'
import type { HttpContext } from '@adonisjs/core/http'
import type { ResolvedRowndConfig } from '../types.ts'

interface RenderableError {
  message: string
  code?: string
  status: number
  retryAfter?: number
  bearerError?: string
  redirectTo?: string
}

/** Safe for a quoted-string in a header: our messages are ASCII already */
function quoted(value: string) {
  return value.replace(/["\\\r\n]/g, '')
}

function loginPath(): string {
  try {
    return (app.config.get('rownd', {}) as Partial<ResolvedRowndConfig>).loginPath ?? '/login'
  } catch {
    return '/login'
  }
}

/**
 * A browser navigation wants a redirect; everything else (fetch, XHR, API
 * clients, anything that sent a bearer token) wants JSON.
 */
export function wantsHtml(ctx: HttpContext): boolean {
  // A bearer token means an API client; another scheme (Basic auth added by
  // a staging proxy) says nothing about who is asking
  if (/^\s*bearer/i.test(ctx.request.header('authorization') ?? '')) return false
  if (ctx.request.ajax()) return false
  const accept = ctx.request.header('accept') ?? ''
  return accept.includes('text/html') && ctx.request.accepts(['json', 'html']) === 'html'
}

/**
 * The one renderer of every rownd-adonis error:
 * - 401 to JSON clients: `{ errors: [{ message, code }] }` with an RFC 6750
 *   `WWW-Authenticate: Bearer` challenge;
 * - 401 to HTML navigations: redirect to the login path, intended URL kept;
 * - 401 to Inertia visits: 409 with `X-Inertia-Location` (a full visit to
 *   the login path), as Inertia expects;
 * - 503: `Retry-After`, whatever the client;
 * - other statuses: the JSON error body.
 */
export function renderRowndError(error: RenderableError, ctx: HttpContext) {
  const { response } = ctx
  const code = error.code ?? 'E_ROWND_ERROR'
  const body = { errors: [{ message: error.message, code }] }

  if (error.status === 503) {
    response.header('Retry-After', String(error.retryAfter ?? 5))
    return response.status(503).send(body)
  }

  if (error.status === 401) {
    // Inertia visits are XHRs that want a full-page visit to the login page
    const inertia = ctx.request.header('x-inertia') !== undefined
    if (inertia || wantsHtml(ctx)) {
      const intended = ctx.request.url(true)
      const isGet = ctx.request.method() === 'GET'
      const session = (ctx as HttpContext & { session?: { setIntendedUrl?(url: string): void } })
        .session
      if (isGet) session?.setIntendedUrl?.(intended)
      const target = error.redirectTo ?? loginPath()
      const separator = target.includes('?') ? '&' : '?'
      const returnTo = isGet ? `${separator}return_to=${encodeURIComponent(intended)}` : ''
      if (inertia) {
        response.header('X-Inertia-Location', `${target}${returnTo}`)
        return response.status(409).send('')
      }
      return response.redirect().toPath(`${target}${returnTo}`)
    }
    const challenge = error.bearerError
      ? `Bearer realm="rownd", error="${error.bearerError}", error_description="${quoted(error.message)}"`
      : 'Bearer realm="rownd"'
    response.header('WWW-Authenticate', challenge)
    return response.status(401).send(body)
  }

  return response.status(error.status).send(body)
}
