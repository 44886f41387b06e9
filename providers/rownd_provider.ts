import type { ApplicationService } from '@adonisjs/core/types'
import type { HttpContext } from '@adonisjs/core/http'
import { errors as authErrors } from '@adonisjs/auth'
import { RowndClient } from '../src/client/rownd_client.ts'
import { defineConfig } from '../src/define_config.ts'
import { renderRowndError } from '../src/http/render.ts'
import { lastRowndFailure } from '../src/guard/failures.ts'
import type { ResolvedRowndConfig } from '../src/types.ts'

declare module '@adonisjs/core/types' {
  interface ContainerBindings {
    rownd: RowndClient
  }
}

let unauthorizedPatched = false

/**
 * `authenticateUsing()` (the app's `auth` middleware) throws a fresh
 * E_UNAUTHORIZED_ACCESS, and @adonisjs/auth renders drivers it does not
 * know as plain text. For our driver only, render it like our own errors,
 * with the code of the failure the guard saw.
 */
function patchUnauthorizedRenderer() {
  if (unauthorizedPatched) return
  unauthorizedPatched = true
  const proto = authErrors.E_UNAUTHORIZED_ACCESS.prototype as any
  const original = proto.handle
  proto.handle = function (this: any, error: any, ctx: HttpContext) {
    if (this.guardDriverName !== 'rownd' || error.code !== 'E_UNAUTHORIZED_ACCESS') {
      return original.call(this, error, ctx)
    }
    const failure = lastRowndFailure(ctx)
    const source = failure ?? error
    return renderRowndError(
      {
        message: source.message,
        code: source.code,
        status: 401,
        bearerError: failure ? (failure as any).bearerError : undefined,
        redirectTo: error.redirectTo,
      },
      ctx
    )
  }
}

/**
 * Binds one Rownd client per app (`rownd` in the container), and makes
 * auth failures of the `rownd` guard render as JSON/redirects everywhere.
 */
export default class RowndProvider {
  #client?: RowndClient

  constructor(protected app: ApplicationService) {}

  register() {
    this.app.container.singleton('rownd', async () => {
      const config =
        (this.app.config.get('rownd', undefined) as ResolvedRowndConfig | undefined) ??
        defineConfig()
      const client = new RowndClient(config)
      this.#client = client
      if (config.cache.store) {
        const { SharedRowndState } = await import('../src/client/shared_state.ts')
        await client.useStateSync(await SharedRowndState.fromApp(this.app, config.cache.store))
      }
      return client
    })
  }

  async boot() {
    patchUnauthorizedRenderer()
    if (this.app.usingEdgeJS) {
      const { default: edge } = await import('edge.js')
      const { edgePluginRownd } = await import('../src/edge/plugin.ts')
      const config =
        (this.app.config.get('rownd', undefined) as ResolvedRowndConfig | undefined) ??
        defineConfig()
      edge.use(edgePluginRownd(config))
    }
  }

  async shutdown() {
    await this.#client?.close()
  }
}
