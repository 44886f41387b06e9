/*
 * Checks of the app's own setup: it boots, dev mode, the credentials and
 * config/rownd.ts with the provider and commands in adonisrc.ts.
 */
import type { CheckResult, DoctorContext } from './types.ts'

const PROVIDER = 'rownd-adonis/rownd_provider'
const COMMANDS = 'rownd-adonis/commands'

function isLoopback(hostname: string) {
  return ['localhost', '127.0.0.1', '[::1]', '::1'].includes(hostname.toLowerCase())
}

/** The first line of an error, without its stack */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code
    const name = code && !error.message.includes(code) ? `${code}: ` : ''
    return `${name}${error.message}`.split('\n')[0].slice(0, 400)
  }
  return String(error).slice(0, 400)
}

export async function checkBoot(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'app.boot', title: 'App boots' }
  if (context.booted) {
    return {
      ...base,
      status: 'pass',
      detail: `booted and started (NODE_ENV=${context.app.nodeEnvironment})`,
    }
  }
  return {
    ...base,
    status: 'fail',
    detail: `The app did not boot: ${describeError(context.bootError)}`,
    fix: 'Fix the error above (the other checks need a booted app), then run "node ace rownd:doctor" again',
  }
}

export async function checkDevMode(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'dev_mode', title: 'Dev mode (ROWND_EMULATOR)' }
  if (!context.devMode) {
    return { ...base, status: 'pass', detail: 'off: the app talks to Rownd (ROWND_API_URL)' }
  }
  if (!context.dev) {
    return {
      ...base,
      status: 'fail',
      detail: 'ROWND_EMULATOR is on but the emulator did not start (see "App boots")',
      fix: 'Fix the boot error, or unset ROWND_EMULATOR',
    }
  }
  return {
    ...base,
    status: 'pass',
    detail: `on: Rownd emulator at ${context.dev.url} (${context.dev.mode}), stand-in Hub; state in ${context.dev.stateFile} (dev only: holds private keys)`,
  }
}

/** App key, secret and API URL as the app resolves them (never printing the secret) */
export async function checkCredentials(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'credentials', title: 'Credentials and API URL (env)' }
  const config = context.config
  const appKey = config?.appKey ?? process.env.ROWND_APP_KEY ?? ''
  const appSecret = config?.appSecret ?? process.env.ROWND_APP_SECRET ?? ''
  const apiUrl = config?.apiUrl ?? process.env.ROWND_API_URL ?? 'https://api.rownd.io'
  const problems: string[] = []
  const fixes: string[] = []

  if (!appKey) {
    problems.push('ROWND_APP_KEY is empty')
    fixes.push(
      'Set ROWND_APP_KEY in .env (Rownd dashboard, app settings), or ROWND_EMULATOR=true to work offline'
    )
  } else if (appKey.trim() !== appKey || /^["']|["']$/.test(appKey)) {
    problems.push('ROWND_APP_KEY has surrounding spaces or quotes')
    fixes.push('Remove the spaces/quotes around ROWND_APP_KEY in .env')
  } else if (appKey.startsWith('ras_')) {
    problems.push('ROWND_APP_KEY looks like an app secret (ras_…)')
    fixes.push('Swap ROWND_APP_KEY and ROWND_APP_SECRET in .env')
  }
  if (!appSecret) {
    problems.push('ROWND_APP_SECRET is empty')
    fixes.push(
      'Set ROWND_APP_SECRET in .env (Rownd dashboard, app settings; never in .env.example)'
    )
  } else if (appSecret.trim() !== appSecret || /^["']|["']$/.test(appSecret)) {
    problems.push('ROWND_APP_SECRET has surrounding spaces or quotes')
    fixes.push('Remove the spaces/quotes around ROWND_APP_SECRET in .env')
  } else if (appSecret === appKey) {
    problems.push('ROWND_APP_SECRET is the same as ROWND_APP_KEY')
    fixes.push('Set ROWND_APP_SECRET to the app secret, not the key')
  }
  let url: URL | undefined
  try {
    url = new URL(apiUrl)
  } catch {
    problems.push(`ROWND_API_URL "${apiUrl}" is not a URL`)
    fixes.push('Set ROWND_API_URL=https://api.rownd.io, or remove it')
  }
  if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    problems.push(`ROWND_API_URL ${apiUrl} is not https: the app secret would travel in clear`)
    fixes.push('Use https://api.rownd.io (http only for an emulator on loopback)')
  }
  if (url && url.pathname !== '/' && url.pathname !== '') {
    problems.push(`ROWND_API_URL ${apiUrl} has a path (${url.pathname})`)
    fixes.push('Set ROWND_API_URL to the origin only: https://api.rownd.io')
  }

  if (problems.length) {
    return { ...base, status: 'fail', detail: problems.join('; '), fix: fixes.join('; ') }
  }
  const shownKey = appKey.length > 10 ? `${appKey.slice(0, 8)}…` : appKey
  const source = context.devMode ? "the emulator's" : 'from env/config'
  return {
    ...base,
    status: 'pass',
    detail: `app key ${shownKey} and secret (hidden) ${source}; API ${apiUrl}`,
  }
}

export async function checkConfig(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'config', title: 'config/rownd.ts and adonisrc.ts' }
  const rcFile = context.files.get('adonisrc.ts') ?? ''
  const problems: string[] = []
  const fixes: string[] = []
  if (context.files.get('config/rownd.ts') === undefined) {
    problems.push('config/rownd.ts is missing (defaults and env vars are used)')
    fixes.push('Run "node ace configure rownd-adonis"')
  }
  if (!rcFile.includes(PROVIDER)) {
    problems.push(`${PROVIDER} is not in adonisrc.ts providers`)
    fixes.push(`Add () => import('${PROVIDER}') to providers in adonisrc.ts`)
  }
  if (!rcFile.includes(COMMANDS)) {
    problems.push(
      `${COMMANDS} is not in adonisrc.ts commands (rownd:* commands missing from "node ace list")`
    )
    fixes.push(`Add () => import('${COMMANDS}') to commands in adonisrc.ts`)
  }
  if (problems.length) {
    const missingProvider = !rcFile.includes(PROVIDER)
    return {
      ...base,
      status: missingProvider || !context.files.get('config/rownd.ts') ? 'fail' : 'warn',
      detail: problems.join('; '),
      fix: fixes.join('; '),
    }
  }
  const config = context.config
  if (!config) {
    return {
      ...base,
      status: 'fail',
      detail: 'config/rownd.ts did not load (see "App boots")',
      fix: 'Fix the boot error',
    }
  }
  const session = config.session
  const parts = [
    `routes at ${session.routePrefix}`,
    session.appGuard ? `app guard "${session.appGuard}"` : 'no app guard',
    config.revocations ? `sign-outs in ${config.revocations.table}` : 'revocations off',
    config.cache.store ? `shared store "${config.cache.store}"` : 'memory cache',
  ]
  return { ...base, status: 'pass', detail: `loaded: ${parts.join(', ')}` }
}
