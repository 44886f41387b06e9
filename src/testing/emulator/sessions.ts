/*
 * rownd-adonis
 *
 * Browser sessions, kept like Rownd's Hub keeps them: an access token plus a
 * refresh token. The stand-in Hub signs in through `POST /__emulator/tokens`
 * (emulator only: no email is sent) and refreshes through Rownd's own
 * `POST /hub/auth/token { refresh_token }`. Revoking a user's sessions
 * (users API sign-out) makes every later refresh of them fail.
 */

import { randomBytes } from 'node:crypto'
import type { EmulatorContext } from './context.ts'
import { EmulatorHttpError, invalid, readObject, send, type RouteCall } from './http.ts'
import type { RowndEmulatorUser } from './users.ts'

/** A revocation received on `POST /applications/{app}/users/{user}/signout` */
export interface RowndSignOut {
  userId: string
  all: boolean
}

/** Refresh tokens live this long unless refreshed (Rownd does not document its value) */
const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000

/**
 * A refresh token that was just exchanged still works this long, so two tabs
 * refreshing at once do not sign each other out
 */
const ROTATION_GRACE_MS = 10_000

/** One signed-in browser: a chain of refresh tokens, each replacing the last */
export interface Session {
  id: string
  userId: string
  /** Lifetime of the access tokens of this session, in seconds */
  expiresIn?: number
  createdAt: number
  current: string
  /** The token it replaced, and until when that one is still accepted */
  previous?: { token: string; until: number }
  expiresAt: number
  revoked: boolean
}

export interface IssuedSession {
  accessToken: string
  refreshToken: string
  userId: string
}

/** The `jti` of a token we minted ourselves (decoded, not verified) */
function jtiOf(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
    return typeof payload.jti === 'string' ? payload.jti : undefined
  } catch {
    return undefined
  }
}

function newRefreshToken(): string {
  return `rrt_${randomBytes(32).toString('base64url')}`
}

/**
 * Every session the emulator issued, by refresh token
 */
export class SessionStore {
  #sessions = new Map<string, Session>()
  #byToken = new Map<string, Session>()
  /** Access tokens (by `jti`) minted for a session, so `/me/.../signout` knows which one to end */
  #byJti = new Map<string, Session>()

  /** Signs a user in: a new session with its first refresh token */
  open(userId: string, expiresIn?: number): Session {
    const now = Date.now()
    const session: Session = {
      id: randomBytes(8).toString('hex'),
      userId,
      expiresIn,
      createdAt: now,
      current: newRefreshToken(),
      expiresAt: now + REFRESH_TOKEN_TTL_MS,
      revoked: false,
    }
    this.#sessions.set(session.id, session)
    this.#byToken.set(session.current, session)
    return session
  }

  /**
   * Exchanges a refresh token for the next one of its session. Undefined
   * when the token is unknown, superseded, expired or revoked.
   */
  rotate(refreshToken: string): Session | undefined {
    const session = this.#byToken.get(refreshToken)
    const now = Date.now()
    if (!session || session.revoked || session.expiresAt <= now) return undefined
    if (refreshToken !== session.current) {
      // A superseded token: fine within the grace window, a replay after it
      if (session.previous?.token !== refreshToken || session.previous.until < now) return undefined
      return session
    }
    if (session.previous) this.#byToken.delete(session.previous.token)
    session.previous = { token: session.current, until: now + ROTATION_GRACE_MS }
    session.current = newRefreshToken()
    session.expiresAt = now + REFRESH_TOKEN_TTL_MS
    this.#byToken.set(session.current, session)
    return session
  }

  /** Remembers that an access token was minted for a session */
  bindAccessToken(accessToken: string, session: Session) {
    const jti = jtiOf(accessToken)
    if (jti) this.#byJti.set(jti, session)
  }

  /** Revokes the session an access token was minted for; false when there is none */
  revokeByAccessToken(accessToken: string): boolean {
    const jti = jtiOf(accessToken)
    const session = jti ? this.#byJti.get(jti) : undefined
    if (!session || session.revoked) return false
    session.revoked = true
    return true
  }

  /** Revokes every session of a user; returns how many were active */
  revokeUser(userId: string): number {
    let count = 0
    for (const session of this.#sessions.values()) {
      if (session.userId !== userId || session.revoked) continue
      session.revoked = true
      count++
    }
    return count
  }

  /**
   * Sessions still usable and the access tokens bound to them, for a state
   * file (see persistence.ts). The newest 1000 access-token bindings are kept.
   */
  export(): { sessions: Session[]; accessTokens: Array<[string, string]> } {
    const now = Date.now()
    const sessions = [...this.#sessions.values()].filter(
      (session) => !session.revoked && session.expiresAt > now
    )
    const kept = new Set(sessions.map((session) => session.id))
    const accessTokens = [...this.#byJti]
      .filter(([, session]) => kept.has(session.id))
      .map(([jti, session]): [string, string] => [jti, session.id])
      .slice(-1000)
    return { sessions: sessions.map((session) => ({ ...session })), accessTokens }
  }

  /** Puts back sessions read from a state file */
  restore(state: { sessions: Session[]; accessTokens?: Array<[string, string]> }) {
    for (const session of state.sessions) {
      this.#sessions.set(session.id, session)
      this.#byToken.set(session.current, session)
      if (session.previous) this.#byToken.set(session.previous.token, session)
    }
    for (const [jti, sessionId] of state.accessTokens ?? []) {
      const session = this.#sessions.get(sessionId)
      if (session) this.#byJti.set(jti, session)
    }
  }

  /** Active (not revoked, not expired) sessions of a user */
  activeCount(userId: string): number {
    const now = Date.now()
    return [...this.#sessions.values()].filter(
      (session) => session.userId === userId && !session.revoked && session.expiresAt > now
    ).length
  }
}

/** Opens a session for a user and mints its first access token */
export async function issueSession(
  ctx: EmulatorContext,
  user: RowndEmulatorUser,
  expiresIn?: number
): Promise<IssuedSession> {
  const session = ctx.sessions.open(user.userId, expiresIn)
  const accessToken = await ctx.mintToken({ userId: user.userId, expiresIn })
  ctx.sessions.bindAccessToken(accessToken, session)
  return { accessToken, refreshToken: session.current, userId: user.userId }
}

/** Finds or creates the user a sign-in names, by id or (case-insensitive) email */
export function signInUser(
  ctx: EmulatorContext,
  userId: string | undefined,
  email: string | undefined
): { user: RowndEmulatorUser; created: boolean } {
  const found = userId ? ctx.users.get(userId) : email ? ctx.users.findByEmail(email) : undefined
  if (found) return { user: found, created: false }
  return { user: ctx.users.create({ userId, email, emailVerified: true }), created: true }
}

/**
 * `POST /__emulator/tokens { user_id? | email?, expires_in? }`: signs a user
 * in at once (creating it, email verified) and returns an access token, a
 * refresh token and whether the user is new
 */
export async function controlTokenRoute(ctx: EmulatorContext, { req, res }: RouteCall) {
  const body = await readObject(req, true)
  if (body.user_id !== undefined && (typeof body.user_id !== 'string' || body.user_id === '')) {
    throw invalid('"user_id" must be a non-empty string')
  }
  if (body.email !== undefined && (typeof body.email !== 'string' || !body.email.includes('@'))) {
    throw invalid('"email" must be an email address')
  }
  if (
    body.expires_in !== undefined &&
    !(
      typeof body.expires_in === 'number' &&
      Number.isInteger(body.expires_in) &&
      body.expires_in > 0
    )
  ) {
    throw invalid('"expires_in" must be a positive integer')
  }

  const { user, created } = signInUser(
    ctx,
    body.user_id as string | undefined,
    body.email as string | undefined
  )
  const issued = await issueSession(ctx, user, body.expires_in as number | undefined)
  send(res, 200, {
    access_token: issued.accessToken,
    refresh_token: issued.refreshToken,
    user_id: user.userId,
    user_type: created ? 'new_user' : 'existing_user',
  })
}

/**
 * `POST /hub/auth/token { refresh_token }`: Rownd's token refresh. Answers
 * `{ access_token, refresh_token }`; the refresh token sent is replaced.
 */
export async function refreshTokenRoute(ctx: EmulatorContext, { req, res }: RouteCall) {
  const body = await readObject(req)
  if (body.app_id !== undefined && body.app_id !== ctx.appId) {
    throw new EmulatorHttpError(
      404,
      'E_NOT_FOUND',
      `Application "${String(body.app_id)}" not found`
    )
  }
  if (typeof body.refresh_token !== 'string' || body.refresh_token === '') {
    throw invalid(
      body.access_token !== undefined || body.id_token !== undefined
        ? 'The emulator only exchanges refresh tokens'
        : '"refresh_token" must be a string'
    )
  }
  const session = ctx.sessions.rotate(body.refresh_token)
  const user = session ? ctx.users.get(session.userId) : undefined
  if (!session || !user || user.state !== 'enabled') {
    throw new EmulatorHttpError(
      400,
      'E_INVALID_REFRESH_TOKEN',
      'The refresh token is invalid, expired or revoked'
    )
  }
  const accessToken = await ctx.mintToken({ userId: user.userId, expiresIn: session.expiresIn })
  ctx.sessions.bindAccessToken(accessToken, session)
  send(res, 200, { access_token: accessToken, refresh_token: session.current })
}
