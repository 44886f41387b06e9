/**
 * `npm run demo:inertia`: the inertia-react starter kit with rownd-adonis and
 * the files of examples/inertia-react/, built in a temp directory (see
 * build.ts) and started on http://127.0.0.1:3333 (PORT; 0 picks a free port).
 *
 * - Without ROWND_APP_KEY: starts the Rownd emulator on loopback; the app
 *   verifies tokens against it and RowndProvider loads its stand-in Hub
 *   (hubUrlOverride), so any email signs in, offline.
 * - With ROWND_APP_KEY and ROWND_APP_SECRET: real Rownd (ROWND_API_URL,
 *   default https://api.rownd.io) and Rownd's own Hub.
 *
 * Ctrl-C stops the app and the emulator and deletes the temp directory
 * (KEEP_APP=1 keeps it, to look at the files).
 */
import { RowndEmulator } from '../../../src/testing/index.ts'
import type { KitApp } from '../../../tests/helpers/kit_app.ts'
import { buildExampleApp } from './build.ts'

const env = process.env
const port = env.PORT ?? '3333'
if (!/^\d+$/.test(port) || Number(port) > 65535) {
  process.stderr.write(`PORT must be a port number (0-65535), got "${port}"\n`)
  process.exit(1)
}

let emulator: RowndEmulator | undefined
let app: KitApp | undefined
let stopping: Promise<void> | undefined

/** Stops the app and the emulator, once; removes the app unless KEEP_APP is set */
function stop(exitCode: number) {
  stopping ??= (async () => {
    const force = setTimeout(() => process.exit(exitCode), 10_000)
    force.unref()
    try {
      if (env.KEEP_APP) await app?.stop()
      else await app?.destroy()
      await emulator?.close()
    } finally {
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
  let mode: string
  if (env.ROWND_APP_KEY) {
    if (!env.ROWND_APP_SECRET) {
      process.stderr.write(
        'ROWND_APP_KEY is set but ROWND_APP_SECRET is not: set both (Rownd dashboard, app settings), or neither to use the emulator\n'
      )
      process.exit(1)
    }
    const apiUrl = env.ROWND_API_URL || 'https://api.rownd.io'
    mode = `Rownd (${apiUrl}), Rownd's Hub`
    app = await buildExampleApp({
      rownd: { appKey: env.ROWND_APP_KEY, appSecret: env.ROWND_APP_SECRET, apiUrl },
      port: Number(port),
      log: (step) => process.stdout.write(`  … ${step}\n`),
    })
  } else {
    emulator = await RowndEmulator.start()
    mode = `emulator (Rownd emulator at ${emulator.url}, stand-in Hub: any email signs in)`
    app = await buildExampleApp({
      emulator,
      port: Number(port),
      log: (step) => process.stdout.write(`  … ${step}\n`),
    })
  }
  // Ctrl-C while building: stop() found nothing to remove yet
  if (stopping) {
    await stopping
    await app.destroy()
    process.exit(process.exitCode ?? 0)
  }
  const url = await app.start()
  process.stdout.write(
    [
      '',
      `  rownd-adonis Inertia + React demo running at ${url}`,
      `  Mode: ${mode}`,
      `  App: ${app.root}${env.KEEP_APP ? '' : ' (deleted on exit; KEEP_APP=1 keeps it)'}`,
      '  Ctrl-C to stop',
      '',
      '',
    ].join('\n')
  )
} catch (error) {
  process.stderr.write(`${(error as Error).stack ?? error}\n`)
  await stop(1)
}
