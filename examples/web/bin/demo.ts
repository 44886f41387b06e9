/**
 * `npm run demo`: starts the demo app on http://127.0.0.1:3333 (PORT).
 *
 * - Without ROWND_APP_KEY: starts the project's Rownd emulator on loopback
 *   and points the app at it, API and Hub: the emulator serves its stand-in
 *   Hub where Rownd serves its own, so signing in works offline with any
 *   email address.
 * - With ROWND_APP_KEY and ROWND_APP_SECRET: real Rownd (ROWND_API_URL,
 *   default https://api.rownd.io) and the real Hub (ROWND_HUB_BASE_URL,
 *   default https://hub.rownd.io).
 *
 * The SQLite database (tmp/demo.sqlite3, or SQLITE_FILE) is migrated on start.
 */
import { mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import type { ApplicationService } from '@adonisjs/core/types'
import { RowndEmulator } from '../../../src/testing/index.ts'

const APP_ROOT = new URL('../', import.meta.url)
const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

const env = process.env
const port = env.PORT ?? '3333'
if (!/^\d+$/.test(port) || Number(port) > 65535) {
  process.stderr.write(`PORT must be a port number (0-65535), got "${port}"\n`)
  process.exit(1)
}
env.PORT = port
env.HOST ??= '127.0.0.1'
env.NODE_ENV ??= 'development'
// Sessions live in encrypted cookies: a fresh key per run unless one is given
env.APP_KEY ??= randomBytes(32).toString('base64url')
if (!env.SQLITE_FILE) mkdirSync(new URL('tmp/', APP_ROOT), { recursive: true })

let emulator: RowndEmulator | undefined
let mode: string
if (env.ROWND_APP_KEY) {
  if (!env.ROWND_APP_SECRET) {
    process.stderr.write(
      'ROWND_APP_KEY is set but ROWND_APP_SECRET is not: set both (Rownd dashboard, app settings), or neither to use the emulator\n'
    )
    process.exit(1)
  }
  env.ROWND_API_URL ||= 'https://api.rownd.io'
  mode = `Rownd (${env.ROWND_API_URL})`
} else {
  emulator = await RowndEmulator.start()
  env.ROWND_APP_KEY = emulator.appKey
  env.ROWND_APP_SECRET = emulator.appSecret
  env.ROWND_API_URL = emulator.url
  // The @rowndHub() tag loads <emulator>/static/scripts/rph.mjs and rph.js
  env.ROWND_HUB_BASE_URL = emulator.url
  env.ROWND_HUB_API_URL = emulator.url
  mode = `emulator (Rownd emulator at ${emulator.url}, stand-in Hub: any email signs in)`
}

let app: ApplicationService | undefined
let stopping: Promise<void> | undefined

/** Closes the app (HTTP server, database) and the emulator, once */
function stop(exitCode: number) {
  stopping ??= (async () => {
    const force = setTimeout(() => process.exit(exitCode), 5000)
    force.unref()
    try {
      if (app && !app.isTerminating && !app.isTerminated) await app.terminate()
    } finally {
      await emulator?.close()
      process.exitCode = exitCode
    }
  })()
  return stopping
}

process.once('SIGINT', () => {
  process.stdout.write('\nStopping…\n')
  void stop(0)
})
process.once('SIGTERM', () => void stop(0))

try {
  await new Ignitor(APP_ROOT, { importer: IMPORTER })
    .tap((application) => {
      app = application
      application.booting(async () => {
        await import('../start/env.ts')
      })
      application.booted(async () => {
        const { migrate } = await import('../start/migrate.ts')
        await migrate(application)
      })
      application.ready(async () => {
        const server = await application.container.make('server')
        const address = server.getNodeServer()?.address()
        const actualPort = address && typeof address === 'object' ? address.port : port
        process.stdout.write(
          [
            '',
            `  rownd-adonis demo running at http://${env.HOST}:${actualPort}`,
            `  Mode: ${mode}`,
            '  Ctrl-C to stop',
            '',
            '',
          ].join('\n')
        )
      })
    })
    .httpServer()
    .start()
} catch (error) {
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(
      `Port ${port} is already in use on ${env.HOST}. Stop whatever uses it, or pick another port: PORT=4000 npm run demo\n`
    )
  } else {
    prettyPrintError(error)
  }
  await stop(1)
}
