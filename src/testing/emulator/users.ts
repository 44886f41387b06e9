/*
 * rownd-adonis
 *
 * The emulator's user store and the profile shape Rownd's users API returns.
 */

import { randomId, type RowndAuthLevel } from '../tokens.ts'

/**
 * A user stored by the emulator. The object is live: tests may mutate it.
 */
export interface RowndEmulatorUser {
  userId: string
  /** Legacy token subject (e.g. `google-oauth2|1148...`); tokens use `userId` when unset */
  sub?: string
  emailVerified: boolean
  phoneVerified: boolean
  authLevel: RowndAuthLevel
  state: 'enabled' | 'disabled'
  /** Profile data, always holding `user_id` */
  data: Record<string, unknown>
  groups: unknown[]
  meta: { created: string; modified: string; first_sign_in: string; last_sign_in: string }
}

export interface CreateUserInput {
  userId?: string
  email?: string
  /** Defaults to true */
  emailVerified?: boolean
  phone?: string
  phoneVerified?: boolean
  firstName?: string
  lastName?: string
  data?: Record<string, unknown>
  /** Legacy subject, see {@link RowndEmulatorUser.sub} */
  sub?: string
  authLevel?: RowndAuthLevel
}

export function nowIso(): string {
  return new Date().toISOString()
}

/**
 * Users by id, in creation order
 */
export class UserStore {
  #users = new Map<string, RowndEmulatorUser>()
  /** Creation rank of every id ever stored, deleted ones included (list cursors) */
  #ranks = new Map<string, number>()
  /** Told of every change, as Rownd's webhook connector would be (see webhooks.ts) */
  onChange?: (operation: 'data_insert' | 'data_update' | 'delete', user: RowndEmulatorUser) => void

  /**
   * Stores a new user. Email is verified unless `emailVerified: false`.
   */
  create(input: CreateUserInput = {}): RowndEmulatorUser {
    const userId = input.userId ?? `user_${randomId(24)}`
    if (this.#users.has(userId)) throw new Error(`User "${userId}" already exists`)

    const data: Record<string, unknown> = { ...input.data, user_id: userId }
    if (input.email !== undefined) data.email = input.email
    if (input.phone !== undefined) data.phone_number = input.phone
    if (input.firstName !== undefined) data.first_name = input.firstName
    if (input.lastName !== undefined) data.last_name = input.lastName

    const emailVerified = input.emailVerified ?? true
    const phoneVerified = input.phoneVerified ?? false
    const hasVerified = (emailVerified && !!data.email) || (phoneVerified && !!data.phone_number)
    const now = nowIso()
    const user: RowndEmulatorUser = {
      userId,
      sub: input.sub,
      emailVerified,
      phoneVerified,
      authLevel: input.authLevel ?? (hasVerified || !data.email ? 'verified' : 'unverified'),
      state: 'enabled',
      data,
      groups: [],
      meta: { created: now, modified: now, first_sign_in: now, last_sign_in: now },
    }
    this.#users.set(userId, user)
    if (!this.#ranks.has(userId)) this.#ranks.set(userId, this.#ranks.size)
    this.onChange?.('data_insert', user)
    return user
  }

  get(userId: string): RowndEmulatorUser | undefined {
    return this.#users.get(userId)
  }

  /** Case-insensitive */
  findByEmail(email: string): RowndEmulatorUser | undefined {
    const needle = email.toLowerCase()
    for (const user of this.#users.values()) {
      if (typeof user.data.email === 'string' && user.data.email.toLowerCase() === needle)
        return user
    }
    return undefined
  }

  findByPhone(phone: string): RowndEmulatorUser | undefined {
    for (const user of this.#users.values()) {
      if (user.data.phone_number === phone) return user
    }
    return undefined
  }

  list(): RowndEmulatorUser[] {
    return [...this.#users.values()]
  }

  /** Creation rank of a user id, also after its deletion; undefined if never stored */
  rank(userId: string): number | undefined {
    return this.#ranks.get(userId)
  }

  delete(userId: string): boolean {
    const user = this.#users.get(userId)
    if (!user) return false
    this.#users.delete(userId)
    this.onChange?.('delete', user)
    return true
  }

  /** Puts back a user read from a state file (see persistence.ts) */
  restore(user: RowndEmulatorUser) {
    this.#users.set(user.userId, user)
  }

  /** Replaces or merges profile data; a changed email or phone loses its verification */
  writeData(user: RowndEmulatorUser, data: Record<string, unknown>, merge: boolean) {
    const previousEmail = user.data.email
    const previousPhone = user.data.phone_number
    user.data = { ...(merge ? user.data : {}), ...data, user_id: user.userId }
    if (user.data.email !== previousEmail) user.emailVerified = false
    if (user.data.phone_number !== previousPhone) user.phoneVerified = false
    user.meta.modified = nowIso()
    this.onChange?.('data_update', user)
  }
}

/**
 * The user as the users API serializes it: only verified identifiers
 * appear in `verified_data`
 */
export function serializeProfile(user: RowndEmulatorUser): Record<string, unknown> {
  const verified: Record<string, unknown> = {}
  if (user.emailVerified && typeof user.data.email === 'string') verified.email = user.data.email
  if (user.phoneVerified && typeof user.data.phone_number === 'string') {
    verified.phone_number = user.data.phone_number
  }
  return {
    rownd_user: user.userId,
    state: user.state,
    auth_level: user.authLevel,
    data: { ...user.data },
    verified_data: verified,
    groups: [...user.groups],
    meta: { ...user.meta },
  }
}
