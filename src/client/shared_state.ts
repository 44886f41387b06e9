import type { ApplicationService } from '@adonisjs/core/types'
import type { RowndAppConfig } from '../types.ts'
import type { RowndClient, RowndStateSync } from './rownd_client.ts'
import type { RevocationEntry } from './revocations.ts'

/**
 * Shares app config, signing keys and revocations between instances through
 * an @adonisjs/cache store. (Filled in by the scale-out work.)
 */
export class SharedRowndState implements RowndStateSync {
  static async fromApp(_app: ApplicationService, _store: string): Promise<SharedRowndState> {
    return new SharedRowndState()
  }
  async attach(_client: RowndClient) {}
  appConfigLoaded(_config: RowndAppConfig) {}
  keysLoaded(_jwks: { keys: unknown[] }) {}
  async revoked(_userId: string, _entry: RevocationEntry) {}
  async close() {}
}
