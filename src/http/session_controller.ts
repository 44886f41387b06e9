import type { HttpContext } from '@adonisjs/core/http'
import { RuntimeException } from '@adonisjs/core/exceptions'
import debug from '../debug.ts'
import {
  E_ROWND_CROSS_SITE_REQUEST,
  E_ROWND_SIGNED_OUT,
  E_ROWND_TOKEN_MALFORMED,
  E_ROWND_TOKEN_MISSING,
  E_ROWND_UNSUPPORTED_MEDIA_TYPE,
} from '../errors.ts'
import { readBearer, RowndGuard } from '../guard/guard.ts'
import type { RowndSessionPayload, RowndUserProviderContract } from '../guard/types.ts'
import { HUB_SIGN_OUT_KEY, isRowndPayload, pendingHubSignOut, sessionOf } from './app_session.ts'

type AnyRowndGuard = RowndGuard<RowndUserProviderContract<unknown>>

export function guardOf(ctx: HttpContext, guardName: string): AnyRowndGuard {
  const auth = (ctx as HttpContext & { auth?: { use(name: string): unknown } }).auth
  if (!auth)
    throw new RuntimeException('rownd-adonis: register the @adonisjs/auth initialize middleware')
  const guard = auth.use(guardName)
  if (!(guard instanceof RowndGuard)) {
    throw new RuntimeException(`rownd-adonis: guard "${guardName}" is not a rowndGuard`)
  }
  return guard as AnyRowndGuard
}

/** Host (with port) of a URL, lowercased; undefined when it does not parse */
function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    return new URL(url).host.toLowerCase()
  } catch {
    return undefined
  }
}

/**
 * Browsers label every request with where it came from. A bodiless
 * `fetch(..., { mode: 'no-cors' })` or `sendBeacon` from another site (or a
 * sibling subdomain) carries no content type to refuse, so the origin is
 * checked too. Non-browser clients send neither header and pass.
 *
 * The Origin may name the app as the browser saw it: the `Host` header, the
 * host AdonisJS reports (`X-Forwarded-Host` when `trustProxy` trusts the
 * proxy) or the configured `appUrl` (APP_URL), so a proxy that rewrites
 * `Host` does not turn every Hub call into a 403.
 */
function assertSameOrigin(ctx: HttpContext, appUrl: string | undefined) {
  const site = ctx.request.header('sec-fetch-site')
  if (site === 'cross-site' || site === 'same-site') throw new E_ROWND_CROSS_SITE_REQUEST()
  const origin = ctx.request.header('origin')
  if (origin === undefined) return
  const host = hostOf(origin)
  if (host === undefined) throw new E_ROWND_CROSS_SITE_REQUEST()
  const allowed = [ctx.request.header('host')?.toLowerCase(), hostOf(appUrl), ...proxiedHosts(ctx)]
  if (!allowed.includes(host)) throw new E_ROWND_CROSS_SITE_REQUEST()
}

/**
 * The host AdonisJS derives from trusted proxy headers (`request.host()`
 * honours `trustProxy`), alone and with a forwarded port
 */
function proxiedHosts(ctx: HttpContext): string[] {
  let host: string | null | undefined
  try {
    host = ctx.request.host()
  } catch {
    return []
  }
  if (!host) return []
  const hosts = [host.toLowerCase()]
  const port = ctx.request.header('x-forwarded-port')
  if (port && /^\d{1,5}$/.test(port) && !host.includes(':')) hosts.push(`${hosts[0]}:${port}`)
  return hosts
}

/**
 * Only JSON (or no body) reaches the session routes: every body type a
 * cross-site page can post without a CORS preflight (forms, text/plain)
 * gets 415, with or without shield.
 */
export function assertJsonOrEmpty(ctx: HttpContext, appUrl: string | undefined) {
  assertSameOrigin(ctx, appUrl)
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
function readSignInToken(ctx: HttpContext, appUrl: string | undefined): string {
  assertJsonOrEmpty(ctx, appUrl)
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
   * session (and into `session.appGuard`, the app's own session guard);
   * answers `should_refresh_page: false` when the session already holds
   * that user, so the Hub (which calls this on every page load) does not
   * reload forever.
   */
  async authenticate(ctx: HttpContext) {
    const guard = guardOf(ctx, this.#guardName)
    const client = guard.client
    const raw = readSignInToken(ctx, client.config.appUrl)
    const session = sessionOf(ctx)
    const signedOut = pendingHubSignOut(session)
    const { token, user, created } = await guard.attemptToken(raw, {
      // The app's own logout just signed this user out here: the Hub has not
      // caught up yet and is signing them straight back in with its token
      beforeLookup: (verified) => {
        if (signedOut && signedOut.rid === verified.userId) throw new E_ROWND_SIGNED_OUT()
      },
    })
    const appGuard = client.config.session.appGuard
    const changed = await guard.login(token, user, { appGuard })
    session?.forget(HUB_SIGN_OUT_KEY)
    const appChanged = appGuard ? await this.#loginAppGuard(ctx, appGuard, user, guard) : false
    if (!changed && !appChanged) {
      return ctx.response.send({ message: 'Already authenticated', should_refresh_page: false })
    }
    // Sign-in or user switch: bring mapped profile fields up to date
    if (changed && !created && guard.userProvider.syncProfile) {
      try {
        await guard.userProvider.syncProfile(user, await guard.profile(), token)
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

  /** Logs the user into the app's session guard unless it already holds them */
  async #loginAppGuard(ctx: HttpContext, appGuard: string, user: unknown, guard: AnyRowndGuard) {
    const session = sessionOf(ctx)
    const id = guard.userProvider.getId(user)
    if (session && String(session.get(`auth_${appGuard}`)) === String(id)) return false
    const auth = (ctx as HttpContext & { auth: { use(name: string): unknown } }).auth
    const appSessionGuard = auth.use(appGuard) as { login?(user: unknown): Promise<void> }
    if (typeof appSessionGuard.login !== 'function') {
      throw new RuntimeException(
        `rownd-adonis: session.appGuard "${appGuard}" is not a session guard (config/rownd.ts)`
      )
    }
    await appSessionGuard.login(user)
    return true
  }

  /**
   * `POST /rownd/session_sign_out`. For a session that still stands: ends
   * it (and the app guard's login it opened), signs the user out
   * everywhere (earlier tokens and sessions, on every instance, persisted)
   * and, with `session.signOutFromRownd`, out of Rownd too. A stale or
   * revoked session is only cleared: an old copied cookie can never sign
   * the user out of their current sessions.
   */
  async signOut(ctx: HttpContext) {
    const guard = guardOf(ctx, this.#guardName)
    const client = guard.client
    // A cross-site form must not be able to sign users out either
    assertJsonOrEmpty(ctx, client.config.appUrl)
    const session = sessionOf(ctx)
    const stored = session?.get(guard.sessionKeyName)
    const valid = isRowndPayload(stored) && (await guard.sessionStillValid(stored))
    await guard.logout()
    session?.forget(HUB_SIGN_OUT_KEY)
    const payload = stored as RowndSessionPayload | undefined
    if (
      payload?.ag &&
      session &&
      String(session.get(`auth_${payload.ag}`)) === String(payload.id)
    ) {
      const auth = (ctx as HttpContext & { auth: { use(name: string): unknown } }).auth
      await (auth.use(payload.ag) as { logout(): Promise<void> }).logout()
    }
    if (valid && payload) {
      // The token that opened this session goes too, however recent
      await client.revokeUser(payload.rid, { tokenHashes: payload.th ? [payload.th] : [] })
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
      message: valid ? 'Successfully signed out' : 'No session to sign out',
      // Nothing changed for a session that had already ended: no reload
      should_refresh_page: valid,
      ...(valid && returnTo ? { return_to: returnTo } : {}),
    })
  }
}
