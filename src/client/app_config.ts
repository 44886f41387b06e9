import { E_ROWND_UNAVAILABLE } from '../errors.ts'
import type { RowndAppConfig } from '../types.ts'
import type { RowndHttpClient } from './http.ts'
import { Refreshable } from './refreshable.ts'

export interface AppConfigStoreOptions {
  http: RowndHttpClient
  /** Pinned app id: no fetch at all */
  appId?: string
  ttl: number
  retryBase: number
  retryMax: number
  onLoad?: (config: RowndAppConfig) => void
}

/**
 * Rownd's app config (`GET /hub/app-config`): the app id is what the
 * audience check needs. Fetched once on first need, then refreshed in the
 * background; a configured `appId` skips the fetch entirely.
 */
export class AppConfigStore {
  #pinned?: RowndAppConfig
  #refreshable?: Refreshable<RowndAppConfig>

  constructor(options: AppConfigStoreOptions) {
    if (options.appId) {
      this.#pinned = { id: options.appId }
      return
    }
    this.#refreshable = new Refreshable({
      name: 'app config',
      refreshEvery: options.ttl,
      // The app id never changes: an old copy is better than none
      maxStale: Number.POSITIVE_INFINITY,
      retryBase: options.retryBase,
      retryMax: options.retryMax,
      onLoad: options.onLoad,
      load: async () => {
        const body = await options.http.request<{ app?: RowndAppConfig }>({
          path: '/hub/app-config',
          auth: 'app',
        })
        const app = body?.app
        if (!app || typeof app !== 'object' || typeof app.id !== 'string' || app.id.length === 0) {
          throw new E_ROWND_UNAVAILABLE('Rownd sent an unusable app config')
        }
        return app
      },
    })
  }

  /** The app config from memory, without I/O */
  peek(): RowndAppConfig | undefined {
    return this.#pinned ?? this.#refreshable!.peek()
  }

  /** The app config, fetching it (once, shared) on first need */
  async get(): Promise<RowndAppConfig> {
    return this.#pinned ?? this.#refreshable!.get()
  }

  /** Seeds a copy obtained elsewhere (a shared cache) */
  seed(config: RowndAppConfig, loadedAt?: number) {
    this.#refreshable?.set(config, loadedAt)
  }

  close() {
    this.#refreshable?.close()
  }
}
