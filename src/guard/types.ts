import type { HttpContext } from '@adonisjs/core/http'
import type { Exception } from '@adonisjs/core/exceptions'
import type { symbols } from '@adonisjs/auth'
import type { RowndProfile, RowndToken } from '../types.ts'

/** What the guard keeps in the session after a Rownd sign-in */
export interface RowndSessionPayload {
  /** Local user id */
  id: string | number
  /** Rownd user id */
  rid: string
  /** When the session was established (unix ms) */
  at: number
  /** SHA-256 of the token that opened it: revoking that token ends the session too */
  th?: string
  /** The app session guard (e.g. `'web'`) this sign-in also logged the user into */
  ag?: string
  /** `auth_level` of the token that opened it */
  al?: string
  /** `is_anonymous` of the token that opened it */
  an?: boolean
}

/** Result of mapping a verified token onto a local user */
export interface RowndUserLookup<RealUser> {
  user: RealUser
  created: boolean
  linked: boolean
}

export interface RowndLookupContext {
  /** The Rownd profile (fetched lazily, cached, shared by concurrent callers) */
  profile(): Promise<RowndProfile>
  /** Guard name, for events */
  guardName?: string
}

/**
 * What the `rownd` guard needs from a user provider. `rowndUserProvider`
 * implements it over a Lucid model; implement it yourself for other stores.
 */
export interface RowndUserProviderContract<RealUser> {
  [symbols.PROVIDER_REAL_USER]: RealUser
  /** Finds, links or creates the local user of a verified token */
  findForToken(token: RowndToken, context: RowndLookupContext): Promise<RowndUserLookup<RealUser>>
  /** Finds a user by local id (session flow); `rowndUserId` lets caches answer */
  findById(id: string | number, rowndUserId?: string): Promise<RealUser | null>
  /** Local id of a user */
  getId(user: RealUser): string | number
  /** Rownd user id stored on a user, if linked */
  getRowndUserId(user: RealUser): string | null | undefined
  /** Writes the mapped profile fields (called on session sign-in and user switch) */
  syncProfile?(user: RealUser, profile: RowndProfile, token: RowndToken): Promise<void>
  /** Drops any cached identity of this Rownd user */
  forget?(rowndUserId: string): void
}

/** Events of the `rownd` guard and its user provider */
export type RowndGuardEvents<User> = {
  'rownd_auth:authentication_attempted': { ctx: HttpContext; guardName: string }
  'rownd_auth:authentication_succeeded': {
    ctx: HttpContext
    guardName: string
    user: User
    token?: RowndToken
    via: 'bearer' | 'session'
  }
  'rownd_auth:authentication_failed': {
    ctx: HttpContext
    guardName: string
    error: Exception | Error
  }
  'rownd_auth:user_created': { guardName?: string; user: User; rowndUserId: string }
  'rownd_auth:user_linked': { guardName?: string; user: User; rowndUserId: string }
  'rownd_auth:session_started': {
    ctx: HttpContext
    guardName: string
    user: User
    sessionId: string
  }
  'rownd_auth:session_ended': {
    ctx: HttpContext
    guardName: string
    user: User | null
    sessionId: string
  }
}

export interface RowndGuardOptions {
  /**
   * Read the session that the session routes establish when no bearer
   * token is sent. Default true (needs @adonisjs/session's middleware).
   */
  useSession?: boolean
}

export type RowndEmitter = {
  emit(event: string, data: unknown): unknown
  hasListeners?(event: string): boolean
}
