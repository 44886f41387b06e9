import type { HttpContext } from '@adonisjs/core/http'
import type { RowndEmitter } from '../guard/types.ts'
import { reconcileUser } from '../sync/reconcile.ts'
import { assertJsonOrEmpty, guardOf } from './session_controller.ts'

export interface UserDataControllerOptions {
  /** Guard to use. Default `'rownd'` */
  guard?: string
}

/**
 * The Hub's post-user-data-update API (`POST <prefix>/user_data_update`),
 * called from the browser after the user's Rownd profile changed.
 *
 * The body (`{ user_data }`) comes from the browser, so it is never read:
 * the signed-in user's profile is fetched again from Rownd's users API
 * (bypassing the profile cache) and the mapped fields are synced from that.
 * `should_refresh_page` is true only when a field changed, so pages
 * rendered from the row show the new values and the Hub never loops.
 * A user Rownd no longer knows is signed out here and handled as a webhook
 * `delete` would be.
 */
export class RowndUserDataController {
  #guardName: string

  constructor(options: UserDataControllerOptions = {}) {
    this.#guardName = options.guard ?? 'rownd'
  }

  async update(ctx: HttpContext) {
    const guard = guardOf(ctx, this.#guardName)
    const client = guard.client
    // Same rules as the session routes: JSON or nothing, from this site only
    assertJsonOrEmpty(ctx, client.config.appUrl)
    await guard.authenticate()
    const rowndUserId = guard.rowndUserId!
    const emitter = (await ctx.containerResolver.make('emitter')) as unknown as RowndEmitter
    const result = await reconcileUser(rowndUserId, {
      client,
      provider: guard.userProvider,
      emitter,
      onUserDeleted: client.config.webhooks.onUserDeleted,
      source: 'hub',
    })
    if (result.outcome === 'deleted') {
      await guard.logout()
      return ctx.response.send({ message: 'Signed out', should_refresh_page: true })
    }
    const changed = result.outcome === 'synced'
    return ctx.response.send({
      message: changed ? 'Profile updated' : 'Profile unchanged',
      should_refresh_page: changed,
    })
  }
}
