import type { HttpContext } from '@adonisjs/core/http'
import type { ConfigProvider } from '@adonisjs/core/types'
import { configProvider } from '@adonisjs/core'
import type { GuardConfigProvider } from '@adonisjs/auth/types'
import type { LucidModel } from '@adonisjs/lucid/types/model'
import { RowndGuard } from './guard.ts'
import type { RowndGuardOptions, RowndUserProviderContract } from './types.ts'
import {
  RowndLucidUserProvider,
  type RowndLucidUserProviderOptions,
} from '../user_providers/lucid.ts'

/**
 * The `rownd` guard for `config/auth.ts`:
 *
 * ```ts
 * rownd: rowndGuard({
 *   provider: rowndUserProvider({ model: () => import('#models/user') }),
 * })
 * ```
 */
export function rowndGuard<UserProvider extends RowndUserProviderContract<unknown>>(
  config: { provider: UserProvider | ConfigProvider<UserProvider> } & RowndGuardOptions
): GuardConfigProvider<(ctx: HttpContext) => RowndGuard<UserProvider>> {
  return {
    async resolver(name, app) {
      const emitter = await app.container.make('emitter')
      const client = await app.container.make('rownd')
      const provider = (
        'resolver' in config.provider
          ? await configProvider.resolve(app, config.provider)
          : config.provider
      ) as UserProvider
      // A revocation must also drop the identity cache
      if (provider.forget) client.onEviction((userId) => provider.forget!(userId))
      return (ctx) => new RowndGuard(name, ctx, client, provider, emitter as any, config)
    },
  }
}

/** A user provider mapping Rownd users onto a Lucid model */
export function rowndUserProvider<Model extends LucidModel>(
  options: RowndLucidUserProviderOptions<Model>
): ConfigProvider<RowndLucidUserProvider<Model>> {
  return configProvider.create(async (app) => {
    const emitter = await app.container.make('emitter')
    // Hashes the unusable password of rows Rownd creates (models without withAuthFinder)
    const hash = app.container.hasBinding('hash') ? await app.container.make('hash') : undefined
    return new RowndLucidUserProvider(options, emitter as any, hash)
  })
}
