import type { HttpContext } from '@adonisjs/core/http'
import { RuntimeException } from '@adonisjs/core/exceptions'
import debug from '../debug.ts'
import {
  E_ROWND_CROSS_SITE_REQUEST,
  E_ROWND_TOKEN_MALFORMED,
  E_ROWND_TOKEN_MISSING,
  E_ROWND_UNSUPPORTED_MEDIA_TYPE,
} from '../errors.ts'
import { readBearer, RowndGuard } from '../guard/guard.ts'
import type { RowndUserProviderContract } from '../guard/types.ts'

type AnyRowndGuard = RowndGuard<RowndUserProviderContract<unknown>>

function guardOf(ctx: HttpContext, guardName: string): AnyRowndGuard {
  const auth = (ctx as HttpContext & { auth?: { use(name: string): unknown } }).auth
  if (!auth)
    throw new RuntimeException('rownd-adonis: register the @adonisjs/auth initialize middleware')
  const guard = auth.use(guardName)
  if (!(guard instanceof RowndGuard)) {
    throw new RuntimeException(`rownd-adonis: guard "${guardName}" is not a rowndGuard`)
  }
  return guard as AnyRowndGuard
}

/**
 * Browsers label every request with where it came from. A bodiless
 * `fetch(..., { mode: 'no-cors' })` or `sendBeacon` from another site (or a
 * sibling subdomain) carries no content type to refuse, so the origin is
 * checked too. Non-browser clients send neither header and pass.
 */
function assertSameOrigin(ctx: HttpContext) {
  const site = ctx.request.header('sec-fetch-site')
  if (site === 'cross-site' || site === 'same-site') throw new E_ROWND_CROSS_SITE_REQUEST()
  const origin = ctx.request.header('origin')
  if (origin === undefined) return
  let host: string | undefined
  try {
    host = new URL(origin).host
  } catch {
    host = undefined
  }
  if (host !== ctx.request.header('host')) throw new E_ROWND_CROSS_SITE_REQUEST()
}

/**
 * Only JSON (or no body) reaches the session routes: every body type a
 * cross-site page can post without a CORS preflight (forms, text/plain)
 * gets 415, with or without shield.
 */
function assertJsonOrEmpty(ctx: HttpContext) {
  assertSameOrigin(ctx)
  const contentType = ctx.request.header('content-type')
  const hasBody =
    Number(ctx.request.header('content-length') ?? 0) > 0 || ctx.request.header('transfer-encoding')
  if (contentType || hasBody) {
    if (!contentType || ctx.request.is(['json']) !== 'json') {
      throw new E_ROWND_UNSUPPORTED_MEDIA_TYPE()
    }
  }
}

/**
 * The token of a session-authenticate call: `Authorization: Bearer` or a
 * JSON body `{ access_token }`. Any other body type is refused (415), so a
 * cross-site HTML form can never sign anyone in.
 */
function readSignInToken(ctx: HttpContext): string {
  assertJsonOrEmpty(ctx)
  const header = readBearer(ctx)
  const body = ctx.request.body() as unknown
  let fromBody: string | undefined
  if (body && typeof body === 'object' && !Array.isArray(body) && 'access_token' in body) {
    const value = (body as { access_token: unknown }).access_token
    if (typeof value !== 'string' || value.length === 0) {
      throw new E_ROWND_TOKEN_MALFORMED('access_token must be a non-empty string')
    }
    fromBody = value
  }
  if (header && fromBody && header !== fromBody) {
    throw new E_ROWND_TOKEN_MALFORMED('The header and body tokens differ', { invalidRequest: true })
  }
  const token = header ?? fromBody
  if (!token) throw new E_ROWND_TOKEN_MISSING()
  return token
}

export interface SessionControllerOptions {
  /** Guard to use. Default `'rownd'` */
  guard?: string
}

/**
 * The Hub's post-authentication and post-sign-out APIs (traditional apps).
 */
export class RowndSessionController {
  #guardName: string

  constructor(options: SessionControllerOptions = {}) {
    this.#guardName = options.guard ?? 'rownd'
  }

  /**
   * `POST /rownd/session_authenticate`. Signs the token's user into the
   * session; answers `should_refresh_page: false` when the session already
   * holds that user, so the Hub (which calls this on every page load) does
   * not reload forever.
   */
  async authenticate(ctx: HttpContext) {
    const guard = guardOf(ctx, this.#guardName)
    const raw = readSignInToken(ctx)
    const client = guard.client
    const { token, user, created } = await guard.attemptToken(raw)
    const profile = () => guard.profile()
    const changed = await guard.login(token, user)
    if (!changed) {
      return ctx.response.send({ message: 'Already authenticated', should_refresh_page: false })
    }
    // Sign-in or user switch: bring mapped profile fields up to date
    if (!created && guard.userProvider.syncProfile) {
      try {
        await guard.userProvider.syncProfile(user, await profile(), token)
      } catch (error) {
        debug('profile sync failed: %s', (error as Error).name)
      }
    }
    const returnTo = client.config.session.returnTo
    return ctx.response.send({
      message: 'Successfully authenticated',
      should_refresh_page: true,
      ...(returnTo ? { return_to: returnTo } : {}),
    })
  }

  /**
   * `POST /rownd/session_sign_out`. Ends the session and revokes the
   * user's earlier tokens and sessions on every instance; optionally signs
   * the user out of Rownd as well (`session.signOutFromRownd`).
   */
  async signOut(ctx: HttpContext) {
    // A cross-site form must not be able to sign users out either
    assertJsonOrEmpty(ctx)
    const guard = guardOf(ctx, this.#guardName)
    const client = guard.client
    const payload = await guard.logout()
    if (payload?.rid) {
      await client.revokeUser(payload.rid)
      if (client.config.session.signOutFromRownd) {
        try {
          await client.users.signOut(payload.rid, { all: true })
        } catch (error) {
          debug('Rownd sign-out call failed: %s', (error as Error).name)
        }
      }
    }
    const returnTo = client.config.session.signOutReturnTo
    return ctx.response.send({
      message: 'Successfully signed out',
      should_refresh_page: true,
      ...(returnTo ? { return_to: returnTo } : {}),
    })
  }
}
