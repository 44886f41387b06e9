import { args, BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * `node ace rownd:revoke <rownd user id>`: signs a user out everywhere, as
 * an admin would (a compromised account, a dismissed employee). Persisted
 * in rownd_revocations, so it holds across restarts; running instances see
 * it at once through a shared cache store, else within
 * `revocations.recheckInterval`.
 */
export default class RowndRevoke extends BaseCommand {
  static commandName = 'rownd:revoke'
  static description =
    'Sign a Rownd user out of this app everywhere (tokens and sessions issued so far)'
  static help = [
    'Every access token and session of the user issued up to now is refused, on every instance,',
    'for good. The user can sign in again afterwards.',
    '',
    '  {{ binaryName }} rownd:revoke user_abc123',
    '  {{ binaryName }} rownd:revoke user_abc123 --rownd   # also end their Rownd sessions',
  ]
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'The Rownd user id (app_user_id)' })
  declare userId: string

  @flags.boolean({ description: "Also revoke the user's Rownd sessions through Rownd's API" })
  declare rownd: boolean

  async run() {
    const client = await this.app.container.make('rownd')
    if (!client.revocationStore) {
      this.logger.warning(
        'No persisted revocation store (Lucid missing or revocations: false): this sign-out reaches running instances only through a shared cache store'
      )
    }
    await client.revokeUser(this.userId, { rownd: this.rownd })
    this.logger.success(`Signed out ${this.userId} everywhere`)
  }
}
