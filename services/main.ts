import app from '@adonisjs/core/services/app'
import type { RowndClient } from '../src/client/rownd_client.ts'

let rownd: RowndClient

/** The app's Rownd client, once the app has booted */
await app.booted(async () => {
  rownd = await app.container.make('rownd')
})

export { rownd as default }
