/*
 * `node ace rownd:doctor`: runs every check in order and returns the
 * report. Each check is isolated: one that throws is reported as failed,
 * the others still run. The app secret never appears in the report.
 */
import type { ApplicationService } from '@adonisjs/core/types'
import { readOptional } from '../../configure/files.ts'
import type { ResolvedRowndConfig } from '../../types.ts'
import {
  checkBoot,
  checkConfig,
  checkCredentials,
  checkDevMode,
  describeError,
} from './app_setup.ts'
import { checkGuard } from './auth.ts'
import { checkMigration } from './database.ts'
import { checkCsrf, checkProxy, checkRoutes, checkSessionStore, SESSION_PROVIDER } from './http.ts'
import { checkCsp, checkHub } from './hub.ts'
import { checkAppKey, checkAppSecret, checkClock, checkJwks } from './rownd_api.ts'
import type { Check, CheckResult, DoctorContext } from './types.ts'

export type { CheckResult, CheckStatus } from './types.ts'

/** In the order they print: local setup, then Rownd, then the database and HTTP */
const CHECKS: Array<[title: string, Check]> = [
  ['App boots', checkBoot],
  ['Dev mode', checkDevMode],
  ['Credentials', checkCredentials],
  ['Config', checkConfig],
  ['App key', checkAppKey],
  ['App secret', checkAppSecret],
  ['JWKS', checkJwks],
  ['Clock', checkClock],
  ['Guard', checkGuard],
  ['Migration', checkMigration],
  ['Routes', checkRoutes],
  ['CSRF', checkCsrf],
  ['Session store', checkSessionStore],
  ['Proxy', checkProxy],
  ['Hub', checkHub],
  ['CSP', checkCsp],
]

export interface DoctorReport {
  ok: boolean
  counts: Record<CheckResult['status'], number>
  checks: CheckResult[]
}

export interface DoctorInput {
  app: ApplicationService
  booted: boolean
  bootError?: unknown
  config?: ResolvedRowndConfig
  devMode: boolean
  dev?: DoctorContext['dev']
}

/** Replaces every secret in a text (the app secret, configured or in env) */
function redactor(secrets: Array<string | undefined>) {
  const hidden = [
    ...new Set(secrets.filter((secret): secret is string => !!secret && secret.length >= 4)),
  ]
  return (text: string | undefined) => {
    if (text === undefined) return undefined
    let out = text
    for (const secret of hidden) out = out.split(secret).join('[secret hidden]')
    return out
  }
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const { app } = input
  const files = new Map<string, string | undefined>()
  for (const path of ['adonisrc.ts', 'config/rownd.ts', 'config/auth.ts', '.env']) {
    files.set(path, await readOptional(app.makePath(path)))
  }
  const context: DoctorContext = {
    ...input,
    files,
    clockOffsets: [],
    hasSession: (files.get('adonisrc.ts') ?? '').includes(SESSION_PROVIDER),
  }
  const redact = redactor([input.config?.appSecret, process.env.ROWND_APP_SECRET])
  const checks: CheckResult[] = []
  for (const [title, check] of CHECKS) {
    let results: CheckResult[]
    try {
      const result = await check(context)
      results = Array.isArray(result) ? result : [result]
    } catch (error) {
      results = [
        {
          id: title.toLowerCase().replace(/\W+/g, '_'),
          title,
          status: 'fail',
          detail: `The check itself failed: ${describeError(error)}`,
          fix: 'Report this to rownd-adonis with the detail above',
        },
      ]
    }
    for (const result of results) {
      checks.push({ ...result, detail: redact(result.detail)!, fix: redact(result.fix) })
    }
  }
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 }
  for (const check of checks) counts[check.status]++
  return { ok: counts.fail === 0, counts, checks }
}
