import type { HttpContext } from '@adonisjs/core/http'
import { symbols } from '@adonisjs/auth'
import { RuntimeException } from '@adonisjs/core/exceptions'
import type { AuthClientResponse, GuardContract } from '@adonisjs/auth/types'
import type { RowndClient } from '../client/rownd_client.ts'
import {
  E_ROWND_SESSION_INVALID,
  E_ROWND_TOKEN_MALFORMED,
  E_ROWND_TOKEN_MISSING,
  E_ROWND_USER_REFUSED,
  RowndUnauthorizedException,
} from '../errors.ts'
import { refusalOf } from './accept.ts'
import type { RowndProfile, RowndToken } from '../types.ts'
import type {
  RowndEmitter,
  RowndGuardEvents,
  RowndGuardOptions,
  RowndSessionPayload,
  RowndUserProviderContract,
} from './types.ts'

type SessionLike = {
  sessionId: string
  get(key: string): unknown
  put(key: string, value: unknown): void
  forget(key: string): void
  regenerate(): void
}

/**
 * Extracts the token of an `Authorization: Bearer` header. `undefined`
 * when there is none or when it uses another scheme (Basic auth added by a
 * staging proxy, say: the session is tried instead); throws when the header
 * is Bearer but unreadable, or sent more than once.
 */
export function readBearer(ctx: HttpContext): string | undefined {
  const header = ctx.request.request.headers.authorization
  if (header === undefined || header === '') return undefined
  const raw = ctx.request.request.rawHeaders
  let count = 0
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 13 && raw[i].toLowerCase() === 'authorization') count++
  }
  if (count > 1) {
    throw new E_ROWND_TOKEN_MALFORMED('Send one Authorization header', { invalidRequest: true })
  }
  if (!isBearerScheme(header)) return undefined
  const token = parseBearer(header)
  if (token === undefined) {
    throw new E_ROWND_TOKEN_MALFORMED('Malformed Bearer Authorization header', {
      invalidRequest: true,
    })
  }
  return token
}

/**
 * Whether the header is meant as Bearer: it starts with `bearer` in any
 * case. `BearerX` or `Bearer\u00a0x` are broken Bearer headers (refused as
 * such), not another scheme.
 */
function isBearerScheme(header: string): boolean {
  let start = 0
  while (start < header.length && isBlank(header.charCodeAt(start))) start++
  return header.slice(start, start + 6).toLowerCase() === 'bearer'
}

function isBlank(code: number) {
  return code === 0x20 || code === 0x09
}

/**
 * The token of `Bearer <token>` (scheme in any case, spaces or tabs around),
 * or undefined. A hand-written scan: this runs on every request.
 */
function parseBearer(header: string): string | undefined {
  let start = 0
  let end = header.length
  while (start < end && isBlank(header.charCodeAt(start))) start++
  while (end > start && isBlank(header.charCodeAt(end - 1))) end--
  if (end - start < 8 || header.slice(start, start + 6).toLowerCase() !== 'bearer') return undefined
  let tokenStart = start + 6
  if (!isBlank(header.charCodeAt(tokenStart))) return undefined
  while (tokenStart < end && isBlank(header.charCodeAt(tokenStart))) tokenStart++
  if (tokenStart >= end) return undefined
  // No blank inside the token (trailing ones are trimmed: `end` is past the last non-blank)
  const space = header.indexOf(' ', tokenStart)
  if (space !== -1 && space < end) return undefined
  const tab = header.indexOf('\t', tokenStart)
  if (tab !== -1 && tab < end) return undefined
  return header.slice(tokenStart, end)
}

function isSessionPayload(payload: unknown): payload is RowndSessionPayload {
  if (!payload || typeof payload !== 'object') return false
  const { rid, id, at } = payload as Record<string, unknown>
  return (
    typeof rid === 'string' &&
    (typeof id === 'string' || typeof id === 'number') &&
    typeof at === 'number' &&
    Number.isFinite(at)
  )
}

/**
 * The `rownd` guard. Authenticates a request from an `Authorization:
 * Bearer` Rownd access token (SPA/API flow) or, when no token is sent,
 * from the session that the session routes establish (traditional apps).
 */
export class RowndGuard<
  UserProvider extends RowndUserProviderContract<unknown>,
> implements GuardContract<UserProvider[typeof symbols.PROVIDER_REAL_USER]> {
  declare [symbols.GUARD_KNOWN_EVENTS]: RowndGuardEvents<
    UserProvider[typeof symbols.PROVIDER_REAL_USER]
  >

  readonly driverName = 'rownd' as const
  #name: string
  #ctx: HttpContext
  #client: RowndClient
  #userProvider: UserProvider
  #emitter: RowndEmitter
  #options: Required<RowndGuardOptions>
  #profile?: Promise<RowndProfile>
  #error?: Error

  authenticationAttempted = false
  isAuthenticated = false
  user?: UserProvider[typeof symbols.PROVIDER_REAL_USER]
  /** The verified token, when the request carried one */
  token?: RowndToken
  /** How the request was authenticated */
  via?: 'bearer' | 'session'
  /** The Rownd user id of the authenticated user */
  rowndUserId?: string

  constructor(
    name: string,
    ctx: HttpContext,
    client: RowndClient,
    userProvider: UserProvider,
    emitter: RowndEmitter,
    options: RowndGuardOptions = {}
  ) {
    this.#name = name
    this.#ctx = ctx
    this.#client = client
    this.#userProvider = userProvider
    this.#emitter = emitter
    this.#options = { useSession: options.useSession ?? true }
  }

  /** Session key holding `RowndSessionPayload` */
  get sessionKeyName() {
    return `auth_${this.#name}`
  }

  get name() {
    return this.#name
  }

  get client() {
    return this.#client
  }

  get userProvider() {
    return this.#userProvider
  }

  #emit(event: keyof RowndGuardEvents<unknown>, data: unknown) {
    // Skip building payloads nobody listens to: this runs on every request
    if (this.#emitter.hasListeners && !this.#emitter.hasListeners(event)) return
    this.#emitter.emit(event, data)
  }

  #session(): SessionLike | undefined {
    if (!this.#options.useSession) return undefined
    return (this.#ctx as HttpContext & { session?: SessionLike }).session
  }

  getUserOrFail(): UserProvider[typeof symbols.PROVIDER_REAL_USER] {
    if (!this.user) {
      throw new RowndUnauthorizedException('Unauthorized access')
    }
    return this.user
  }

  async authenticate(): Promise<UserProvider[typeof symbols.PROVIDER_REAL_USER]> {
    if (this.authenticationAttempted) {
      if (this.#error) throw this.#error
      return this.getUserOrFail()
    }
    this.authenticationAttempted = true
    this.#emit('rownd_auth:authentication_attempted', { ctx: this.#ctx, guardName: this.#name })

    try {
      const bearer = readBearer(this.#ctx)
      if (bearer !== undefined) return await this.#authenticateToken(bearer)
      const session = this.#session()
      const payload = session?.get(this.sessionKeyName) as RowndSessionPayload | undefined
      if (session && payload) return await this.#authenticateSession(session, payload)
      throw new E_ROWND_TOKEN_MISSING()
    } catch (error) {
      this.#failed(error as Error)
      throw error
    }
  }

  /**
   * Verifies a raw token and maps it onto the local user without signing
   * anyone in, with the guard's attempted/failed events (the session routes
   * use it before `login()`). `beforeLookup` runs once the token is known
   * good and before any row is read or written; it may throw to refuse.
   */
  async attemptToken(raw: string, options: { beforeLookup?: (token: RowndToken) => void } = {}) {
    this.authenticationAttempted = true
    this.#emit('rownd_auth:authentication_attempted', { ctx: this.#ctx, guardName: this.#name })
    try {
      const token = await this.#client.verifyToken(raw)
      options.beforeLookup?.(token)
      this.#assertAccepted(token)
      const lookup = await this.#userProvider.findForToken(token, this.#lookupContext(token.userId))
      return { token, ...lookup }
    } catch (error) {
      this.#failed(error as Error)
      throw error
    }
  }

  /** Refuses (403, nothing written) kinds of users the `accept` config excludes */
  #assertAccepted(token: RowndToken) {
    const refusal = refusalOf(this.#client.config.accept, token)
    if (refusal) throw new E_ROWND_USER_REFUSED(refusal)
  }

  #failed(error: Error) {
    this.#error = error
    this.#emit('rownd_auth:authentication_failed', { ctx: this.#ctx, guardName: this.#name, error })
  }

  /** Verifies a token and maps it onto the local user (no session involved) */
  async #authenticateToken(raw: string) {
    // Warm requests are answered from memory without awaiting anything
    const token =
      this.#client.verifyTokenWarm(raw, this.#ctx.request.request.socket) ??
      (await this.#client.verifyToken(raw))
    this.#assertAccepted(token)
    let user = this.#userProvider.cachedUser?.(token)
    if (user === undefined) {
      const lookup = await this.#userProvider.findForToken(token, this.#lookupContext(token.userId))
      user = lookup.user
    }
    this.token = token
    return this.#succeeded(user, token.userId, 'bearer')
  }

  async #authenticateSession(session: SessionLike, payload: RowndSessionPayload) {
    if (!(await this.sessionStillValid(payload))) {
      session.forget(this.sessionKeyName)
      throw new E_ROWND_SESSION_INVALID()
    }
    const user = await this.#userProvider.findById(payload.id, payload.rid)
    if (!user || this.#userProvider.getRowndUserId(user) !== payload.rid) {
      session.forget(this.sessionKeyName)
      throw new E_ROWND_SESSION_INVALID()
    }
    return this.#succeeded(user, payload.rid, 'session')
  }

  /**
   * Whether a Rownd session payload still stands, without reading the user
   * row: well formed, younger than `session.maxAge`, of a kind of user the
   * `accept` config admits, and not ended by a sign-out or by revoking the
   * token that opened it (memory, else the persisted and shared stores).
   */
  async sessionStillValid(payload: unknown): Promise<boolean> {
    if (!isSessionPayload(payload)) return false
    const { config } = this.#client
    if (Date.now() - payload.at > config.session.maxAge) return false
    if (refusalOf(config.accept, { authLevel: payload.al, isAnonymous: payload.an })) return false
    // A user this instance has not met lately: read their stored sign-outs once
    const seen = this.#client.userSeen(payload.rid)
    if (seen) await seen
    return !this.#client.revocations.isSessionRevoked(payload.rid, payload.at, payload.th)
  }

  #succeeded(
    user: UserProvider[typeof symbols.PROVIDER_REAL_USER],
    rowndUserId: string,
    via: 'bearer' | 'session'
  ) {
    this.user = user
    this.rowndUserId = rowndUserId
    this.via = via
    this.isAuthenticated = true
    this.#emit('rownd_auth:authentication_succeeded', {
      ctx: this.#ctx,
      guardName: this.#name,
      user,
      token: this.token,
      via,
    })
    return user
  }

  #lookupContext(rowndUserId: string) {
    return {
      guardName: this.#name,
      // Read only to create or link a row: never from the profile cache, so
      // a user deleted in Rownd (or whose email changed) on another instance
      // cannot be linked back from a stale copy
      profile: () => this.#loadProfile(rowndUserId, true),
    }
  }

  #loadProfile(rowndUserId: string, fresh = false) {
    if (!this.#profile) {
      this.#profile = this.#client.getProfile(rowndUserId, { fresh })
      this.#profile.catch(() => {
        this.#profile = undefined
      })
    }
    return this.#profile
  }

  /** Silent authentication: false when not signed in; an outage still throws */
  async check(): Promise<boolean> {
    try {
      await this.authenticate()
      return true
    } catch (error) {
      if (error instanceof RowndUnauthorizedException) return false
      throw error
    }
  }

  /** The authenticated user's Rownd profile, fetched once and cached */
  async profile(): Promise<RowndProfile> {
    const rowndUserId = this.rowndUserId
    if (!rowndUserId)
      throw new RuntimeException('Authenticate the request before reading the Rownd profile')
    return this.#loadProfile(rowndUserId)
  }

  /**
   * Starts (or keeps) a session for the user of a verified token. Returns
   * false when the session already holds this user, so the Hub does not
   * reload the page forever.
   */
  async login(
    token: RowndToken,
    user: UserProvider[typeof symbols.PROVIDER_REAL_USER],
    options: { appGuard?: string } = {}
  ): Promise<boolean> {
    const session = this.#ctx && (this.#ctx as HttpContext & { session?: SessionLike }).session
    if (!session)
      throw new RuntimeException('Rownd session sign-in needs @adonisjs/session middleware')
    const current = session.get(this.sessionKeyName) as RowndSessionPayload | undefined
    const id = this.#userProvider.getId(user)
    if (
      current &&
      current.rid === token.userId &&
      current.id === id &&
      current.ag === options.appGuard &&
      (await this.sessionStillValid(current))
    ) {
      this.token = token
      this.#succeeded(user, token.userId, 'session')
      return false
    }
    // New sign-in or another user: a fresh session id defeats fixation
    session.regenerate()
    const payload: RowndSessionPayload = {
      id,
      rid: token.userId,
      at: Date.now(),
      th: token.hash,
      ...(options.appGuard ? { ag: options.appGuard } : {}),
      ...(token.authLevel ? { al: token.authLevel } : {}),
      ...(token.isAnonymous ? { an: true } : {}),
    }
    session.put(this.sessionKeyName, payload)
    this.token = token
    this.#succeeded(user, token.userId, 'session')
    this.#emit('rownd_auth:session_started', {
      ctx: this.#ctx,
      guardName: this.#name,
      user,
      sessionId: session.sessionId,
    })
    return true
  }

  /** Ends the Rownd session of this request (tokens stay valid: see `RowndClient.revokeUser`) */
  async logout() {
    const session = (this.#ctx as HttpContext & { session?: SessionLike }).session
    const payload = session?.get(this.sessionKeyName) as RowndSessionPayload | undefined
    if (session) {
      session.forget(this.sessionKeyName)
      session.regenerate()
    }
    this.#emit('rownd_auth:session_ended', {
      ctx: this.#ctx,
      guardName: this.#name,
      user: this.user ?? null,
      sessionId: session?.sessionId ?? '',
    })
    this.user = undefined
    this.isAuthenticated = false
    return payload
  }

  /**
   * For Japa's `loginAs`: a session payload when sessions are on (or
   * `{ via: 'session' }`), else a bearer token minted by the Rownd emulator
   * the client points at.
   */
  async authenticateAsClient(
    user: UserProvider[typeof symbols.PROVIDER_REAL_USER],
    options: { via?: 'session' | 'bearer' } = {}
  ): Promise<AuthClientResponse> {
    const rowndUserId = this.#userProvider.getRowndUserId(user)
    if (!rowndUserId) throw new RuntimeException('loginAs: the user has no Rownd user id')
    const via = options.via ?? (this.#options.useSession ? 'session' : 'bearer')
    if (via === 'session') {
      const payload: RowndSessionPayload = {
        id: this.#userProvider.getId(user),
        rid: rowndUserId,
        at: Date.now(),
      }
      return { session: { [this.sessionKeyName]: payload } }
    }
    const response = await fetch(`${this.#client.config.apiUrl}/__emulator/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: rowndUserId }),
      signal: AbortSignal.timeout(this.#client.config.timeout),
    }).catch(() => undefined)
    if (!response || !response.ok) {
      throw new RuntimeException(
        'loginAs with a bearer token needs the Rownd emulator (rownd-adonis/testing) as ROWND_API_URL'
      )
    }
    const { access_token: accessToken } = (await response.json()) as { access_token: string }
    return { headers: { authorization: `Bearer ${accessToken}` } }
  }
}
