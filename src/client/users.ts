import { E_ROWND_API_ERROR, E_ROWND_CONFIG } from '../errors.ts'
import type { RowndProfile } from '../types.ts'
import type { RowndHttpClient } from './http.ts'

export interface ListUsersOptions {
  /** Matches email, phone or user id */
  lookup?: string
  /** Only these user ids */
  ids?: string[]
  pageSize?: number
  /** Cursor from a previous page */
  after?: string
}

export interface MagicLinkOptions {
  verificationType: 'email' | 'phone'
  /** `{ email }` or `{ phone_number }`, plus any profile fields */
  data: Record<string, unknown>
  redirectUrl: string
  /** e.g. `'30d'` */
  expiration?: string
  groupToJoin?: string
}

/**
 * Rownd's users API (app key and secret). Every call has the client's
 * timeout; errors arrive as `E_ROWND_API_ERROR` or `E_ROWND_UNAVAILABLE`.
 */
export class RowndUsersApi {
  #http: RowndHttpClient
  #appId: () => Promise<string>
  #hasSecret: boolean

  constructor(http: RowndHttpClient, appId: () => Promise<string>, hasSecret: boolean) {
    this.#http = http
    this.#appId = appId
    this.#hasSecret = hasSecret
  }

  async #userPath(userId: string, suffix: string) {
    if (!this.#hasSecret)
      throw new E_ROWND_CONFIG('rownd-adonis: the users API needs appKey and appSecret')
    // URL parsing resolves `.` and `..` segments, so `users/./data` would reach the
    // list endpoint: no Rownd user has such an id, answer as Rownd does for unknown users
    if (typeof userId !== 'string' || userId === '' || userId === '.' || userId === '..') {
      throw new E_ROWND_API_ERROR('Rownd API error 404: no such user', {
        rowndStatus: 404,
        rowndCode: 'E_NOT_FOUND',
      })
    }
    const appId = await this.#appId()
    return `/applications/${encodeURIComponent(appId)}/users/${encodeURIComponent(userId)}${suffix}`
  }

  async get(userId: string): Promise<RowndProfile> {
    return this.#http.request({ path: await this.#userPath(userId, '/data'), auth: 'secret' })
  }

  /** Replaces the user's data */
  async put(userId: string, data: Record<string, unknown>): Promise<RowndProfile> {
    return this.#http.request({
      method: 'PUT',
      path: await this.#userPath(userId, '/data'),
      body: { data },
      auth: 'secret',
    })
  }

  /** Merges fields into the user's data */
  async patch(userId: string, data: Record<string, unknown>): Promise<RowndProfile> {
    return this.#http.request({
      method: 'PATCH',
      path: await this.#userPath(userId, '/data'),
      body: { data },
      auth: 'secret',
    })
  }

  async delete(userId: string): Promise<void> {
    await this.#http.request({
      method: 'DELETE',
      path: await this.#userPath(userId, '/data'),
      auth: 'secret',
    })
  }

  /** Revokes the user's Rownd sessions (all of them with `{ all: true }`) */
  async signOut(userId: string, options: { all?: boolean } = {}): Promise<void> {
    await this.#http.request({
      method: 'POST',
      path: await this.#userPath(userId, '/signout'),
      body: { sign_out_all: options.all ?? false },
      auth: 'secret',
    })
  }

  async list(
    options: ListUsersOptions = {}
  ): Promise<{ total_results: number; results: RowndProfile[] }> {
    if (!this.#hasSecret)
      throw new E_ROWND_CONFIG('rownd-adonis: the users API needs appKey and appSecret')
    const appId = await this.#appId()
    return this.#http.request({
      path: `/applications/${encodeURIComponent(appId)}/users/data`,
      query: {
        lookup_filter: options.lookup,
        id_filter: options.ids?.join(','),
        page_size: options.pageSize,
        after: options.after,
      },
      auth: 'secret',
    })
  }

  async createMagicLink(options: MagicLinkOptions): Promise<{ link: string; app_user_id: string }> {
    if (!this.#hasSecret)
      throw new E_ROWND_CONFIG('rownd-adonis: magic links need appKey and appSecret')
    return this.#http.request({
      method: 'POST',
      path: '/hub/auth/magic',
      body: {
        verification_type: options.verificationType,
        data: options.data,
        redirect_url: options.redirectUrl,
        expiration: options.expiration,
        group_to_join: options.groupToJoin,
      },
      auth: 'secret',
    })
  }
}
