import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import type { RowndEmitter } from '../src/guard/types.ts'
import { rowndUserProviderOf } from '../src/sync/provider.ts'
import {
  isSyncableProvider,
  SyncRunner,
  type SyncResult,
  type SyncState,
} from '../src/commands/sync_runner.ts'
import { progressLine, resultRows } from '../src/commands/sync_report.ts'

/**
 * `node ace rownd:sync`: creates or links a row for every user already in
 * Rownd, ahead of their first sign-in (an app adopting rownd-adonis with
 * an existing Rownd user base), by the rules of sign-in.
 */
export default class RowndSync extends BaseCommand {
  static commandName = 'rownd:sync'
  static description = "Create or link rows for the users in Rownd, by sign-in's rules (resumable)"
  static help = [
    "Pages through Rownd's users API. Each user is matched by Rownd id, else",
    'linked to a row whose email Rownd has verified, else created, as at',
    'sign-in; rows already linked get their mapped fields synced. Conflicts',
    '(an unverified email, or one linked to another user) are counted, not',
    'written. Progress is saved in tmp/rownd/: an interrupted run goes on',
    'where it stopped. Running it again is safe.',
    '',
    '  {{ binaryName }} rownd:sync --dry-run   # what would happen, nothing written',
    '  {{ binaryName }} rownd:sync --rate=2 --page-size=500',
  ]
  static options: CommandOptions = { startApp: true }

  @flags.boolean({ description: 'Report what would be created or linked; write nothing' })
  declare dryRun: boolean

  @flags.number({ description: "Most requests per second to Rownd's users API", default: 5 })
  declare rate: number

  @flags.number({ description: 'Users per page (1 to 1000)', default: 100 })
  declare pageSize: number

  @flags.string({ description: 'The rownd guard whose user provider maps users', default: 'rownd' })
  declare guard: string

  @flags.boolean({ description: 'Ignore the progress of an unfinished run and start over' })
  declare restart: boolean

  async run() {
    if (!Number.isFinite(this.rate) || this.rate <= 0) {
      return this.#fail('--rate must be a positive number')
    }
    if (!Number.isInteger(this.pageSize) || this.pageSize < 1 || this.pageSize > 1000) {
      return this.#fail('--page-size must be an integer from 1 to 1000')
    }
    const client = await this.app.container.make('rownd')
    const provider = await rowndUserProviderOf(this.app, this.guard)
    if (!isSyncableProvider(provider)) {
      return this.#fail(
        `The user provider of guard "${this.guard}" cannot import users (use rowndUserProvider)`
      )
    }
    const emitter = await this.app.container.make('emitter')

    // Ctrl-C or SIGTERM: the user at hand is finished and the progress saved
    let stopRequested = false
    const stop = () => {
      stopRequested = true
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)

    let render: (state: SyncState) => void = () => {}
    const runner = new SyncRunner({
      client,
      provider,
      emitter: emitter as unknown as RowndEmitter,
      statePath: (appId) =>
        this.app.tmpPath('rownd', `sync_${safeName(appId)}_${safeName(this.guard)}.json`),
      guardName: this.guard,
      dryRun: this.dryRun,
      rate: this.rate,
      pageSize: this.pageSize,
      restart: this.restart,
      shouldStop: () => stopRequested,
      onProgress: (state) => render(state),
    })

    let result: SyncResult | undefined
    let failed = false
    const tasks = this.ui.tasks({ verbose: !process.stdout.isTTY })
    tasks.add(
      this.dryRun ? 'Rownd users (dry run: nothing written)' : 'Rownd users',
      async (task) => {
        let last = 0
        render = (state) => {
          if (Date.now() - last < 250) return
          last = Date.now()
          task.update(progressLine(state))
        }
        try {
          result = await runner.run()
        } catch (error) {
          failed = true
          return task.error(error instanceof Error ? error : String(error))
        }
        task.update(progressLine(result.state))
        return result.stopped ? 'stopped; progress saved' : 'done'
      }
    )
    try {
      await tasks.run()
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }

    const state = result?.state ?? runner.state
    if (result?.resumed) this.logger.info('Went on from where an unfinished run stopped')
    if (state) this.#report(state)
    if (failed || result?.stopped) {
      this.exitCode = 1
      if (!this.dryRun) this.logger.info('Run "node ace rownd:sync" again to go on from there')
    }
  }

  #report(state: SyncState) {
    const table = this.ui.table()
    table.head(['', this.dryRun ? 'would be' : 'users'])
    for (const row of resultRows(state)) table.row(row)
    table.render()
    for (const [reason, ids] of Object.entries(state.samples)) {
      if (ids.length) this.logger.info(`${reason}, first Rownd ids: ${ids.join(', ')}`)
    }
  }

  #fail(message: string) {
    this.logger.error(message)
    this.exitCode = 1
  }
}

/** A name safe in a file name */
function safeName(value: string) {
  return value.replace(/[^\w.-]/g, '_')
}
