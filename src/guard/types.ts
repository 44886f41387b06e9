import type { HttpContext } from '@adonisjs/core/http'
import type { Exception } from '@adonisjs/core/exceptions'
import type { symbols } from '@adonisjs/auth'
import type { RowndProfile, RowndSyncSource, RowndToken } from '../types.ts'

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
  /**
   * Optional: the user of a verified token when memory can answer at once,
   * else undefined (then `findForToken` runs). Saves warm requests a promise.
   */
  cachedUser?(token: RowndToken): RealUser | undefined
  /** Finds a user by local id (session flow); `rowndUserId` lets caches answer */
  findById(id: string | number, rowndUserId?: string): Promise<RealUser | null>
  /** Local id of a user */
  getId(user: RealUser): string | number
  /** Rownd user id stored on a user, if linked */
  getRowndUserId(user: RealUser): string | null | undefined
  /**
   * Writes the mapped profile fields (called on session sign-in and user
   * switch with the sign-in's token, and without one for webhook
   * deliveries, the Hub's data update call and `rownd:sync`). May return
   * the names of the attributes it changed.
   */
  syncProfile?(user: RealUser, profile: RowndProfile, token?: RowndToken): Promise<void | string[]>
  /** Drops any cached identity of this Rownd user */
  forget?(rowndUserId: string): void
  /**
   * The user linked to a Rownd id, read from the store (webhooks and the
   * Hub's data update call need it)
   */
  findByRowndUserId?(rowndUserId: string): Promise<RealUser | null>
  /** Deletes a user (`webhooks.onUserDeleted: 'delete'`) */
  deleteUser?(user: RealUser): Promise<void>
  /** Clears a user's Rownd id (`webhooks.onUserDeleted: 'detach'`) */
  detachUser?(user: RealUser): Promise<void>
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
  /**
   * A webhook delivery was authenticated and handled. `operation` is what
   * the payload claims (a hint: Rownd's users API was read again);
   * `outcome` is what that read led to.
   */
  'rownd_auth:webhook_received': {
    operation: string
    rowndUserId: string
    outcome: RowndReconcileOutcome
  }
  /** Mapped fields of a row were brought in line with Rownd */
  'rownd_auth:user_synced': {
    user: User
    rowndUserId: string
    /** Attribute names written */
    changed: string[]
    source: RowndSyncSource
  }
  /**
   * Rownd no longer knows this user: their sessions and tokens were
   * revoked everywhere, then `policy` was applied to the row
   */
  'rownd_auth:user_deleted': {
    user: User
    rowndUserId: string
    policy: 'delete' | 'detach' | 'keep' | 'custom'
    source: RowndSyncSource
  }
}

/**
 * What reading a user again from Rownd led to: mapped fields written
 * (`synced`), nothing to write (`unchanged`), the user is gone in Rownd
 * and their row was handled (`deleted`), or no local row is linked to
 * this Rownd user (`unknown`, nothing done)
 */
export type RowndReconcileOutcome = 'synced' | 'unchanged' | 'deleted' | 'unknown'

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
