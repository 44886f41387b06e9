import { RuntimeException } from '@adonisjs/core/exceptions'
import type { RowndClient } from '../client/rownd_client.ts'
import debug from '../debug.ts'
import { E_ROWND_API_ERROR } from '../errors.ts'
import type {
  RowndEmitter,
  RowndReconcileOutcome,
  RowndUserProviderContract,
} from '../guard/types.ts'
import type { RowndProfile, RowndSyncSource, RowndUserDeletedPolicy } from '../types.ts'

export interface ReconcileOptions {
  client: RowndClient
  provider: RowndUserProviderContract<unknown>
  emitter?: RowndEmitter
  /** What to do with the row of a user Rownd no longer knows */
  onUserDeleted: RowndUserDeletedPolicy
  source: RowndSyncSource
}

export interface ReconcileResult {
  outcome: RowndReconcileOutcome
  user?: unknown
  /** Attributes written (outcome `synced`) */
  changed?: string[]
}

/**
 * Brings the local row of one Rownd user in line with Rownd, whatever
 * prompted it (a webhook delivery, the Hub's data update call): the user
 * is read again from Rownd's users API, bypassing the profile cache, and
 * only that answer is acted on. Replayed or reordered prompts therefore
 * converge on Rownd's current state, and no row is ever created or linked
 * here.
 *
 * - Rownd answers 404: the user is gone. Their sessions and tokens are
 *   revoked on every instance (`revokeUser`: persisted and broadcast),
 *   then `onUserDeleted` handles the row.
 * - Rownd answers the profile: mapped fields are synced onto the row.
 * - No row is linked to that Rownd id: nothing happens (`unknown`).
 *
 * Rownd unreachable: `E_ROWND_UNAVAILABLE` propagates and nothing is written.
 */
export async function reconcileUser(
  rowndUserId: string,
  options: ReconcileOptions
): Promise<ReconcileResult> {
  const { client, provider } = options
  if (!provider.findByRowndUserId) {
    throw new RuntimeException(
      'rownd-adonis: the user provider has no findByRowndUserId(): it cannot apply changes from Rownd'
    )
  }
  let profile: RowndProfile
  try {
    profile = await client.getProfile(rowndUserId, { fresh: true })
  } catch (error) {
    if (error instanceof E_ROWND_API_ERROR && error.rowndStatus === 404) {
      return userGone(rowndUserId, options)
    }
    throw error
  }

  const user = await provider.findByRowndUserId(rowndUserId)
  if (!user) return { outcome: 'unknown' }
  const changed = (await provider.syncProfile?.(user, profile)) ?? []
  if (!changed.length) return { outcome: 'unchanged', user, changed: [] }
  debug('synced %d mapped field(s) from Rownd (%s)', changed.length, options.source)
  options.emitter?.emit('rownd_auth:user_synced', {
    user,
    rowndUserId,
    changed,
    source: options.source,
  })
  return { outcome: 'synced', user, changed }
}

async function userGone(rowndUserId: string, options: ReconcileOptions): Promise<ReconcileResult> {
  const { client, provider } = options
  client.forgetProfile(rowndUserId)
  const user = await provider.findByRowndUserId!(rowndUserId)
  if (!user) return { outcome: 'unknown' }

  // Sessions and tokens first: they die everywhere even if the policy fails
  await client.revokeUser(rowndUserId)
  const policy = options.onUserDeleted
  if (typeof policy === 'function') {
    await policy(user, { rowndUserId, source: options.source })
  } else if (policy === 'delete') {
    if (!provider.deleteUser) throw missing('deleteUser', policy)
    await provider.deleteUser(user)
  } else if (policy === 'detach') {
    if (!provider.detachUser) throw missing('detachUser', policy)
    await provider.detachUser(user)
  }
  provider.forget?.(rowndUserId)
  debug('a user deleted in Rownd was revoked and handled (%s)', options.source)
  options.emitter?.emit('rownd_auth:user_deleted', {
    user,
    rowndUserId,
    policy: typeof policy === 'function' ? 'custom' : policy,
    source: options.source,
  })
  return { outcome: 'deleted', user }
}

function missing(method: string, policy: string) {
  return new RuntimeException(
    `rownd-adonis: onUserDeleted '${policy}' needs ${method}() on the user provider`
  )
}
