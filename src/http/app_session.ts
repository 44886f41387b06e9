/*
 * Keeps the app's own session guard (e.g. `web`) and a Rownd session in
 * step: a Rownd sign-in also logs the user into the app guard (so the
 * app's silent auth, `middleware.auth()`, views and Inertia props see
 * them), and the app's own logout is a Rownd sign-out.
 */
import type { HttpContext } from '@adonisjs/core/http'
import debug from '../debug.ts'
import type { RowndSessionPayload } from '../guard/types.ts'

/** Session key marking "the Hub in this browser must sign out" */
export const HUB_SIGN_OUT_KEY = 'rownd_hub_sign_out'

/**
 * How long after the app's own logout the Hub's automatic sign-in of that
 * same user is refused, unless the Hub reports its sign-out first. Long
 * enough for the next page to tell the Hub; short enough that a page
 * without the Hub snippet cannot lock the user out for long.
 */
export const HUB_SIGN_OUT_WINDOW = 2 * 60 * 1000

interface HubSignOut {
  /** Rownd user id signed out */
  rid: string
  /** When (unix ms) */
  at: number
}

export type SessionStore = {
  get(key: string): unknown
  put(key: string, value: unknown): void
  forget(key: string): void
  all(): Record<string, unknown>
}

export function sessionOf(ctx: HttpContext): SessionStore | undefined {
  return (ctx as HttpContext & { session?: SessionStore }).session
}

export function isRowndPayload(value: unknown): value is RowndSessionPayload {
  if (!value || typeof value !== 'object') return false
  const { rid, at } = value as Record<string, unknown>
  return typeof rid === 'string' && typeof at === 'number'
}

/** Asks the next page to sign the Hub out (see `@rowndHub()`, `rowndSharedProps`) */
export function markHubSignOut(session: SessionStore, rowndUserId: string) {
  session.put(HUB_SIGN_OUT_KEY, { rid: rowndUserId, at: Date.now() } satisfies HubSignOut)
}

/** The pending Hub sign-out of this session, if one is still within its window */
export function pendingHubSignOut(session: SessionStore | undefined): HubSignOut | undefined {
  const value = session?.get(HUB_SIGN_OUT_KEY) as Partial<HubSignOut> | undefined
  if (!value || typeof value.rid !== 'string' || typeof value.at !== 'number') return undefined
  if (Date.now() - value.at > HUB_SIGN_OUT_WINDOW) {
    session!.forget(HUB_SIGN_OUT_KEY)
    return undefined
  }
  return value as HubSignOut
}

/**
 * Whether the page rendered for this request should tell the Hub to sign
 * out (the app's own logout just ended a Rownd session)
 */
export function hubSignOutPending(ctx: HttpContext): boolean {
  return pendingHubSignOut(sessionOf(ctx)) !== undefined
}

/**
 * The app guard logged out (`auth.use('web').logout()`, e.g. the starter
 * kits' logout route). Every Rownd session of this browser tied to that
 * guard ends, the user is signed out everywhere (like a sign-out through
 * the Hub), and the next page tells the Hub to sign out too, so its
 * automatic sign-in on page load does not bring the user back.
 */
export function endRowndSessionsOf(
  ctx: HttpContext,
  appGuard: string,
  revokeUser: (rowndUserId: string, tokenHashes: string[]) => Promise<void>
): Promise<void>[] {
  const session = sessionOf(ctx)
  if (!session) return []
  const revocations: Promise<void>[] = []
  for (const [key, value] of Object.entries(session.all())) {
    if (!key.startsWith('auth_') || !isRowndPayload(value) || value.ag !== appGuard) continue
    session.forget(key)
    markHubSignOut(session, value.rid)
    debug('app guard logged out: ending its Rownd session')
    revocations.push(revokeUser(value.rid, value.th ? [value.th] : []))
  }
  return revocations
}
