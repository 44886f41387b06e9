import type { ApplicationService } from '@adonisjs/core/types'
import { MigrationRunner } from '@adonisjs/lucid/migration'

/**
 * Runs pending migrations on start, so `npm run demo` needs no
 * `node ace migration:run` first.
 */
export async function migrate(app: ApplicationService) {
  const db = await app.container.make('lucid.db')
  const runner = new MigrationRunner(db, app, { direction: 'up', disableLocks: true })
  await runner.run()
  if (runner.error) throw runner.error
}
