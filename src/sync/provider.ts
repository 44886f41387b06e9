import type { ApplicationService } from '@adonisjs/core/types'
import { RuntimeException } from '@adonisjs/core/exceptions'
import { RowndGuard } from '../guard/guard.ts'
import type { RowndUserProviderContract } from '../guard/types.ts'

type GuardFactory = (ctx: unknown) => unknown

/**
 * The user provider of a `rownd` guard, outside any request (webhooks,
 * `rownd:sync`): the guard factory of the auth manager builds a guard
 * whose provider is the one every request of that guard uses.
 */
export async function rowndUserProviderOf(
  app: ApplicationService,
  guardName: string
): Promise<RowndUserProviderContract<unknown>> {
  if (!app.container.hasBinding('auth.manager')) {
    throw new RuntimeException('rownd-adonis: register @adonisjs/auth (auth.manager is missing)')
  }
  const manager = (await app.container.make('auth.manager')) as unknown as {
    config: { guards: Record<string, GuardFactory | undefined> }
  }
  const factory = manager.config.guards[guardName]
  // The factory only stores the context it is given; nothing reads it here
  const guard = typeof factory === 'function' ? factory({}) : undefined
  if (!(guard instanceof RowndGuard)) {
    throw new RuntimeException(`rownd-adonis: guard "${guardName}" is not a rowndGuard`)
  }
  return guard.userProvider as RowndUserProviderContract<unknown>
}
