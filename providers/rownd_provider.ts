import type { ApplicationService } from '@adonisjs/core/types'
import type { HttpContext } from '@adonisjs/core/http'
import { RowndClient } from '../src/client/rownd_client.ts'
import { defineConfig } from '../src/define_config.ts'
import { endRowndSessionsOf } from '../src/http/app_session.ts'
import type { ResolvedRowndConfig } from '../src/types.ts'
import {
  assertDevModeAllowed,
  devModeRequested,
  devStateDir,
  DEV_PORT_ENV,
  DEV_URL_ENV,
  parsePort,
} from '../src/dev/switch.ts'
import type { DevEmulator } from '../src/dev/dev_mode.ts'

declare module '@adonisjs/core/types' {
  interface ContainerBindings {
    'rownd': RowndClient
    /** Dev mode only (`ROWND_EMULATOR=true`): the emulator the app uses */
    'rownd.dev': DevEmulator
  }
}

/**
 * Binds one Rownd client per app (`rownd` in the container) with its
 * persisted sign-outs and optional shared store, registers the
 * `@rowndHub()` Edge tag, and ends Rownd sessions when the app's own
 * session guard logs out.
 *
 * Dev mode (`ROWND_EMULATOR=true`, development and test only): the config
 * is pointed at the Rownd emulator and its stand-in Hub before anything
 * uses it (at boot; in ace commands, when the client is first made). With
 * the switch off, no module of the emulator is loaded.
 */
export default class RowndProvider {
  #client?: Promise<RowndClient>
  #devMode = false
  #dev?: Promise<DevEmulator>

  constructor(protected app: ApplicationService) {}

  #config(): ResolvedRowndConfig {
    return (
      (this.app.config.get('rownd', undefined) as ResolvedRowndConfig | undefined) ?? defineConfig()
    )
  }

  register() {
    this.#devMode = devModeRequested()
    if (this.#devMode) {
      assertDevModeAllowed(this.app.nodeEnvironment)
      this.app.container.singleton('rownd.dev', () => this.startDevMode())
    }
    this.app.container.singleton('rownd', async () => {
      this.#client ??= this.#createClient()
      return this.#client
    })
  }

  /**
   * Dev mode: the emulator (started here or already running for this app)
   * and the config pointed at it. Once per process.
   */
  startDevMode(): Promise<DevEmulator> {
    this.#dev ??= (async () => {
      const { startDevEmulator, devConfig } = await import('../src/dev/dev_mode.ts')
      const emulator = await startDevEmulator({
        stateDir: devStateDir(this.app),
        url: process.env[DEV_URL_ENV] || undefined,
        port: parsePort(process.env[DEV_PORT_ENV]),
      })
      this.app.config.set('rownd', devConfig(this.#config(), emulator))
      if (this.app.getEnvironment() === 'web') {
        const logger = await this.app.container.make('logger')
        logger.info(
          `rownd-adonis dev mode: Rownd emulator at ${emulator.url} (${emulator.mode}), stand-in Hub: any email signs in. State: ${emulator.stateFile}`
        )
      }
      return emulator
    })()
    return this.#dev
  }

  /** Whether dev mode (`ROWND_EMULATOR=true`) is on in this process */
  get devMode() {
    return this.#devMode
  }

  async #createClient() {
    if (this.#devMode) await this.startDevMode()
    const config = this.#config()
    const client = new RowndClient(config)
    const container = this.app.container
    if (config.revocations && container.hasBinding('lucid.db')) {
      const { LucidRevocationStore } = await import('../src/database/lucid_revocation_store.ts')
      const logger = await container.make('logger')
      client.useRevocationStore(
        new LucidRevocationStore({
          database: () => container.make('lucid.db') as any,
          table: config.revocations.table,
          connection: config.revocations.connection,
          logger,
        })
      )
    }
    if (config.cache.store) {
      const { SharedRowndState } = await import('../src/client/shared_state.ts')
      await client.useStateSync(await SharedRowndState.fromApp(this.app, config.cache.store))
    }
    return client
  }

  async boot() {
    // Ace commands start it when they first use Rownd; servers and tests now
    if (this.#devMode && this.app.getEnvironment() !== 'console') await this.startDevMode()
    const config = this.#config()
    if (this.app.usingEdgeJS) {
      const { default: edge } = await import('edge.js')
      const { edgePluginRownd } = await import('../src/edge/plugin.ts')
      edge.use(edgePluginRownd(() => this.#config()))
    }
    const appGuard = config.session.appGuard
    if (appGuard) {
      const emitter = await this.app.container.make('emitter')
      ;(emitter as any).on(
        'session_auth:logged_out',
        (event: { ctx: HttpContext; guardName: string }) => this.#appGuardLoggedOut(event, appGuard)
      )
    }
  }

  /**
   * The app's own logout (e.g. the starter kits' `auth.use('web').logout()`)
   * is a Rownd sign-out for a session a Rownd sign-in opened. The session
   * is changed right away (before it is committed); the revocation follows.
   */
  #appGuardLoggedOut(event: { ctx: HttpContext; guardName: string }, appGuard: string) {
    if (event.guardName !== appGuard) return
    const revocations = endRowndSessionsOf(
      event.ctx,
      appGuard,
      async (rowndUserId, tokenHashes) => {
        const client = await this.app.container.make('rownd')
        await client.revokeUser(rowndUserId, { tokenHashes })
      }
    )
    for (const revocation of revocations) {
      revocation.catch(async (error) => {
        const logger = await this.app.container.make('logger')
        logger.error({ err: error }, 'rownd-adonis: could not record a sign-out')
      })
    }
  }

  async shutdown() {
    const client = await this.#client?.catch(() => undefined)
    await client?.close()
    const dev = await this.#dev?.catch(() => undefined)
    await dev?.close()
  }
}
