import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import debug from '../debug.ts'
import { RowndGuard } from '../guard/guard.ts'
import type { RowndUserProviderContract } from '../guard/types.ts'
import {
  endRowndSessionsOf,
  isRowndPayload,
  markHubSignOut,
  pendingHubSignOut,
  sessionOf,
} from './app_session.ts'

type AnyRowndGuard = RowndGuard<RowndUserProviderContract<unknown>>

/**
 * Router middleware (after `initialize_auth_middleware`, before the app's
 * silent auth) that keeps the app's session guard and the Rownd session in
 * step, on every request of a browser with a Rownd session:
 *
 * - the Rownd session was signed out elsewhere, revoked, or outlived
 *   `session.maxAge` (checked from memory, or the persisted sign-outs after
 *   a restart): the app guard's login it opened ends too, so a copied
 *   cookie is refused by `middleware.auth()` as well;
 * - the app logged out through its own guard: a Rownd sign-out (when the
 *   logout event could not handle it already);
 * - the app logged another user in through its own guard: the Rownd
 *   session ends (no sign-out of the other user) and the Hub is told to
 *   sign out;
 * - a Rownd session opened before `session.appGuard` was configured is
 *   logged into the app guard.
 *
 * It also shares `rowndHubSignOut` with the views while the Hub must sign
 * out (read by `@rowndHub()`).
 */
export default class RowndSessionSyncMiddleware {
  async handle(ctx: HttpContext, next: NextFn, options: { guard?: string } = {}) {
    const session = sessionOf(ctx)
    if (session) {
      const key = `auth_${options.guard ?? 'rownd'}`
      const payload = session.get(key)
      if (payload !== undefined) await this.#sync(ctx, options.guard ?? 'rownd', key, payload)
      if (pendingHubSignOut(session)) {
        ;(ctx as HttpContext & { view?: { share(data: object): void } }).view?.share({
          rowndHubSignOut: true,
        })
      }
    }
    return next()
  }

  async #sync(ctx: HttpContext, guardName: string, key: string, payload: unknown) {
    const session = sessionOf(ctx)!
    const auth = (ctx as HttpContext & { auth?: { use(name: string): unknown } }).auth
    const guard = auth?.use(guardName)
    if (!(guard instanceof RowndGuard)) {
      debug(
        'session sync: no rownd guard "%s" (is initialize_auth_middleware before it?)',
        guardName
      )
      return
    }
    const rownd = guard as AnyRowndGuard
    if (!isRowndPayload(payload)) {
      session.forget(key)
      return
    }

    const appGuard = payload.ag ?? rownd.client.config.session.appGuard
    if (!appGuard) return
    const appKey = `auth_${appGuard}`
    const appUserId = session.get(appKey)

    if (!payload.ag) {
      // Opened before the app guard was configured: log it in there too,
      // unless the app guard already holds someone (a password login)
      if (appUserId === undefined && (await rownd.sessionStillValid(payload))) {
        session.put(appKey, payload.id)
        session.put(key, { ...payload, ag: appGuard })
      }
      return
    }

    if (appUserId === undefined) {
      // The app logged out through its own guard and the logout event did
      // not get to it: a sign-out, as if through the Hub
      await Promise.all(
        endRowndSessionsOf(ctx, appGuard, (id, tokenHashes) =>
          rownd.client.revokeUser(id, { tokenHashes })
        )
      )
      return
    }
    if (String(appUserId) !== String(payload.id)) {
      // Another user logged in through the app's own login
      session.forget(key)
      markHubSignOut(session, payload.rid)
      return
    }
    if (!(await rownd.sessionStillValid(payload))) {
      // Signed out, revoked or too old: the app guard's login it opened goes too
      session.forget(key)
      session.forget(appKey)
    }
  }
}
