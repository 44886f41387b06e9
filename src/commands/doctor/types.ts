import type { ApplicationService } from '@adonisjs/core/types'
import type { ResolvedRowndConfig } from '../../types.ts'

/** `fail` makes the doctor exit with code 1; `warn` does not */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

/** One line of the doctor's report */
export interface CheckResult {
  /** Stable id, for `--json` consumers (`rownd.app_key`, `database.migration`...) */
  id: string
  /** What was checked, in a few words */
  title: string
  status: CheckStatus
  /** What was found */
  detail: string
  /** What to do about it (every failure and warning has one) */
  fix?: string
}

/** A guard of config/auth.ts, as the doctor found it */
export interface GuardFacts {
  name: string
  /** `driverName` of the guard it builds (`rownd`, `session`...), when it could be built */
  driver?: string
  /** The rownd guard's user provider */
  userProvider?: unknown
}

/** What the checks share: the app, its resolved Rownd config, what earlier checks learnt */
export interface DoctorContext {
  app: ApplicationService
  /** Whether `app.boot()` and `app.start()` went through */
  booted: boolean
  bootError?: unknown
  /** config/rownd.ts as resolved (pointed at the emulator in dev mode) */
  config?: ResolvedRowndConfig
  devMode: boolean
  /** Dev mode's emulator: where, and whether it runs in this process */
  dev?: { url: string; mode: string; stateFile: string }
  /** The app's text files the checks read, by path relative to the app root */
  files: Map<string, string | undefined>
  /** Guards of config/auth.ts (filled by the guard check) */
  guards?: GuardFacts[]
  /** The Rownd app id, once app config answered */
  rowndAppId?: string
  /** Offsets (ms) between Rownd's `Date` header and the local clock, one per answer */
  clockOffsets: Array<{ offset: number; rtt: number }>
  /** Whether the app registers @adonisjs/session's provider */
  hasSession: boolean
}

export type Check = (context: DoctorContext) => Promise<CheckResult | CheckResult[]>
