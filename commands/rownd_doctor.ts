import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * `node ace rownd:doctor`: checks the rownd-adonis setup and explains every
 * problem with its fix. Exit code 1 when a check fails (warnings alone
 * exit 0); `--json` for CI. Never prints the app secret.
 */
export default class RowndDoctor extends BaseCommand {
  static commandName = 'rownd:doctor'
  static description =
    'Check the rownd-adonis setup (credentials, Rownd, clock, migration, guard, routes, CSRF, sessions, proxy, Hub) with a fix for every failure'
  static help = [
    'Checks, in order: the app boots; dev mode; ROWND_APP_KEY, ROWND_APP_SECRET',
    'and ROWND_API_URL; config/rownd.ts and adonisrc.ts; Rownd reachable with',
    'the app key (app config) and the secret; the JWKS; the clock against',
    "Rownd's Date header; the rownd guard; the migration (rownd_user_id with its",
    'unique index, rownd_revocations) on the configured connection; the session',
    "routes; shield's CSRF check on them; the session store; APP_URL and proxy",
    'settings; the Hub on the pages and the Content-Security-Policy.',
    '',
    'Exit code 1 when something fails (warnings alone exit 0). The app secret is',
    'never printed.',
    '',
    '  {{ binaryName }} rownd:doctor',
    '  {{ binaryName }} rownd:doctor --json   # machine-readable, for CI',
  ]
  // The command boots the app itself, to report a boot failure instead of dying on it
  static options: CommandOptions = { startApp: false }

  @flags.boolean({ description: 'Print the report as JSON' })
  declare json: boolean

  async run() {
    const { devModeRequested } = await import('../src/dev/switch.ts')
    const { runDoctor } = await import('../src/commands/doctor/main.ts')
    let booted = false
    let bootError: unknown
    try {
      await this.app.boot()
      await this.app.start(() => {})
      booted = true
    } catch (error) {
      bootError = error
    }
    const devMode = devModeRequested()
    let dev: { url: string; mode: string; stateFile: string } | undefined
    let config
    if (booted) {
      try {
        if (devMode) dev = await this.app.container.make('rownd.dev')
        const client = await this.app.container.make('rownd')
        config = client.config
      } catch (error) {
        bootError = error
        booted = false
      }
    }
    const report = await runDoctor({ app: this.app, booted, bootError, config, devMode, dev })
    if (!report.ok) this.exitCode = 1

    if (this.json) {
      this.logger.log(JSON.stringify(report, null, 2))
      return
    }
    const label = {
      pass: this.colors.green('✔ pass'),
      warn: this.colors.yellow('! warn'),
      fail: this.colors.red('✖ fail'),
      skip: this.colors.dim('- skip'),
    }
    // Fixed widths, wrapped: detail and fix share what the terminal leaves
    const width = Math.max(100, process.stdout.columns ?? 140)
    const rest = width - 24 - 12 - 5
    const detailWidth = Math.ceil(rest * 0.55)
    const table = this.ui.table().columnWidths([24, 12, detailWidth, rest - detailWidth])
    table.head(['Check', 'Status', 'Detail', 'Fix'])
    for (const check of report.checks) {
      table.row([check.title, label[check.status], check.detail, check.fix ?? ''])
    }
    table.render()
    const { pass, warn, fail, skip } = report.counts
    const summary = `rownd:doctor: ${pass} passed, ${warn} warning(s), ${fail} failed, ${skip} skipped`
    if (fail) this.logger.error(summary)
    else if (warn) this.logger.warning(summary)
    else this.logger.success(summary)
  }
}
