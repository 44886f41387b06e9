import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * `node ace rownd:emulator`: a standalone Rownd emulator (and stand-in Hub)
 * on a fixed port, with the app's dev-mode state, for dev mode to connect
 * to (ROWND_EMULATOR_URL). Development and test only.
 */
export default class RowndEmulatorCommand extends BaseCommand {
  static commandName = 'rownd:emulator'
  static description =
    'Run the Rownd emulator and its stand-in Hub on a port, for dev mode (ROWND_EMULATOR=true): no Rownd account, no network'
  static help = [
    'Serves a Rownd-compatible API and the stand-in Hub (any email signs in, no',
    'email is sent) on 127.0.0.1, with the state dev mode keeps in',
    'tmp/rownd-emulator (app credentials, signing keys, users): the same email',
    'is the same Rownd user after a restart. Point the app at it with',
    'ROWND_EMULATOR=true and ROWND_EMULATOR_URL (ace commands in dev mode find',
    'it without). Refused when NODE_ENV=production.',
    '',
    '  {{ binaryName }} rownd:emulator',
    '  {{ binaryName }} rownd:emulator --port=4455',
  ]
  static options: CommandOptions = { startApp: true, staysAlive: true }

  @flags.number({ description: 'Port to listen on (127.0.0.1)', default: 4455 })
  declare port: number

  async run() {
    const { assertDevModeAllowed, devStateDir } = await import('../src/dev/switch.ts')
    const { startDevEmulator, advertisementFileOf, emulatorAnswers } =
      await import('../src/dev/dev_mode.ts')
    try {
      assertDevModeAllowed(this.app.nodeEnvironment)
    } catch (error) {
      this.logger.error((error as Error).message)
      this.exitCode = 1
      return this.terminate()
    }
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535) {
      this.logger.error(`--port must be a port number (0-65535), got "${this.port}"`)
      this.exitCode = 1
      return this.terminate()
    }

    const stateDir = devStateDir(this.app)
    // One emulator per state: a second one would overwrite the first one's users
    try {
      const { readFile } = await import('node:fs/promises')
      const running = JSON.parse(await readFile(advertisementFileOf(stateDir), 'utf8'))
      if (running?.pid !== process.pid && (await emulatorAnswers(running.url, running.appId))) {
        this.logger.error(
          `A Rownd emulator for this app already runs at ${running.url} (pid ${running.pid}); stop it first, or use it: ROWND_EMULATOR_URL=${running.url}`
        )
        this.exitCode = 1
        return this.terminate()
      }
    } catch {}

    let dev
    try {
      dev = await startDevEmulator({ stateDir, port: this.port, standalone: true })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      this.logger.error(
        code === 'EADDRINUSE'
          ? `Port ${this.port} is in use: choose another with --port`
          : (error as Error).message
      )
      this.exitCode = 1
      return this.terminate()
    }
    this.app.terminating(() => dev.close())
    process.once('SIGINT', () => void this.terminate())

    this.logger.success(`Rownd emulator running at ${dev.url}`)
    this.logger.log(
      [
        `  App ${dev.appId}, stand-in Hub at ${dev.url}/static/scripts/rph.mjs: any email signs in`,
        `  State: ${dev.stateFile} (development only: holds the app secret and private keys)`,
        '',
        '  Point the app at it (.env or the shell of "node ace serve"):',
        '    ROWND_EMULATOR=true',
        `    ROWND_EMULATOR_URL=${dev.url}`,
        '',
        '  Ctrl-C to stop',
      ].join('\n')
    )
  }
}
