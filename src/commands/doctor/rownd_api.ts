/*
 * Checks against Rownd itself (the emulator in dev mode): the app key
 * (app config), the app secret (users API), the signing keys (JWKS) and
 * the clock, read off Rownd's `Date` header.
 */
import { importJWK } from 'jose'
import type { CheckResult, DoctorContext } from './types.ts'

const RECHECK = 'then run "node ace rownd:doctor" again'

interface RowndAnswer {
  status: number
  body: any
  ms: number
}

/** Why a fetch failed, in words (ECONNREFUSED, timeout, DNS...) */
function networkReason(error: unknown, timeout: number): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause
  if ((error as Error)?.name === 'TimeoutError') return `no answer within ${timeout} ms`
  if (cause?.code) return cause.code
  return (cause?.message ?? (error as Error)?.message ?? String(error)).slice(0, 200)
}

/**
 * One call to Rownd with the app's credentials and timeout. Records the
 * offset between Rownd's `Date` header and the local clock (at the
 * midpoint of the call).
 */
async function callRownd(
  context: DoctorContext,
  path: string,
  auth: 'none' | 'app' | 'secret'
): Promise<RowndAnswer> {
  const config = context.config!
  const headers: Record<string, string> = { accept: 'application/json' }
  if (auth !== 'none') headers['x-rownd-app-key'] = config.appKey
  if (auth === 'secret') headers['x-rownd-app-secret'] = config.appSecret
  const started = Date.now()
  const response = await fetch(`${config.apiUrl}${path}`, {
    headers,
    signal: AbortSignal.timeout(config.timeout),
    redirect: 'error',
  })
  const text = await response.text()
  const ended = Date.now()
  const date = response.headers.get('date')
  if (date && Number.isFinite(Date.parse(date))) {
    context.clockOffsets.push({
      offset: Date.parse(date) - (started + ended) / 2,
      rtt: ended - started,
    })
  }
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, body, ms: ended - started }
}

function rowndMessage(answer: RowndAnswer) {
  const message = typeof answer.body?.message === 'string' ? `: ${answer.body.message}` : ''
  return `${answer.status}${message}`.slice(0, 200)
}

/** App config with the app key: Rownd reachable, key accepted, app id known */
export async function checkAppKey(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'rownd.app_key', title: 'Rownd reachable, app key accepted' }
  const config = context.config
  if (!config) return { ...base, status: 'skip', detail: 'config/rownd.ts not loaded' }
  if (!config.appKey) return { ...base, status: 'skip', detail: 'no app key to try' }
  const where = context.devMode ? `the emulator at ${config.apiUrl}` : `Rownd at ${config.apiUrl}`
  let answer: RowndAnswer
  try {
    answer = await callRownd(context, '/hub/app-config', 'app')
  } catch (error) {
    return {
      ...base,
      status: 'fail',
      detail: `Cannot reach ${where}: ${networkReason(error, config.timeout)}. Sign-ins get 503 E_ROWND_UNAVAILABLE until it answers`,
      fix: context.devMode
        ? `Start the emulator ("node ace rownd:emulator") or unset ROWND_EMULATOR_URL to run one in-process, ${RECHECK}`
        : `Check ROWND_API_URL (${config.apiUrl}), DNS, firewall and outbound proxy from this machine, and Rownd's status; ${RECHECK}. Offline? Use dev mode: ROWND_EMULATOR=true`,
    }
  }
  if (answer.status === 401 || answer.status === 403) {
    return {
      ...base,
      status: 'fail',
      detail: `${where} refused the app key (${rowndMessage(answer)}): every token check fails (503/401)`,
      fix: "Set ROWND_APP_KEY to the app key of this app (Rownd dashboard, app settings): the public key, not the secret or another app's key",
    }
  }
  if (answer.status === 404) {
    return {
      ...base,
      status: 'fail',
      detail: `${where} answered 404 on /hub/app-config: ROWND_API_URL is not Rownd's API`,
      fix: 'Set ROWND_API_URL to https://api.rownd.io (no path), or remove it',
    }
  }
  if (answer.status >= 500 || answer.status === 429) {
    return {
      ...base,
      status: 'fail',
      detail: `${where} is failing (${rowndMessage(answer)}): sign-ins get 503 E_ROWND_UNAVAILABLE; users whose keys are cached keep working`,
      fix: `Wait for Rownd to recover (status page), ${RECHECK}`,
    }
  }
  const app = answer.body?.app
  if (answer.status !== 200 || typeof app?.id !== 'string') {
    return {
      ...base,
      status: 'fail',
      detail: `${where} gave an unexpected answer to /hub/app-config (${rowndMessage(answer)})`,
      fix: "Check ROWND_API_URL points at Rownd's API (https://api.rownd.io)",
    }
  }
  context.rowndAppId = app.id
  if (config.appId && config.appId !== app.id) {
    return {
      ...base,
      status: 'fail',
      detail: `The app key belongs to app ${app.id}, but config/rownd.ts sets appId ${config.appId}: every token fails the audience check`,
      fix: `Set appId to '${app.id}' in config/rownd.ts, or remove it (it is read from Rownd)`,
    }
  }
  const name = typeof app.name === 'string' ? `"${app.name}" ` : ''
  return {
    ...base,
    status: 'pass',
    detail: `${where}: app ${name}(id ${app.id}) in ${answer.ms} ms`,
  }
}

/** The users API with key and secret: the secret is right */
export async function checkAppSecret(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'rownd.app_secret', title: 'App secret accepted' }
  const config = context.config
  if (!config || !context.rowndAppId) {
    return { ...base, status: 'skip', detail: 'needs the app config check to pass first' }
  }
  if (!config.appSecret) return { ...base, status: 'skip', detail: 'no app secret to try' }
  let answer: RowndAnswer
  try {
    answer = await callRownd(
      context,
      `/applications/${encodeURIComponent(context.rowndAppId)}/users/data?page_size=1`,
      'secret'
    )
  } catch (error) {
    return {
      ...base,
      status: 'fail',
      detail: `The users API did not answer: ${networkReason(error, config.timeout)}`,
      fix: `Check the network to ${config.apiUrl}, ${RECHECK}`,
    }
  }
  if (answer.status === 401 || answer.status === 403) {
    return {
      ...base,
      status: 'fail',
      detail: `Rownd refused the app secret (${answer.status}): new users cannot sign in (their profile cannot be read) and sign-outs cannot reach Rownd`,
      fix: "Set ROWND_APP_SECRET to this app's secret (Rownd dashboard, app settings → credentials)",
    }
  }
  if (answer.status !== 200) {
    return {
      ...base,
      status: 'warn',
      detail: `The users API answered ${rowndMessage(answer)}`,
      fix: `Retry later; if it persists, check the app's plan and credentials in the Rownd dashboard`,
    }
  }
  return {
    ...base,
    status: 'pass',
    detail: 'users API answered with key and secret (secret not shown)',
  }
}

/** The JWKS: at least one Ed25519 key the verifier can use */
export async function checkJwks(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'rownd.jwks', title: 'Signing keys (JWKS)' }
  const config = context.config
  if (!config) return { ...base, status: 'skip', detail: 'config/rownd.ts not loaded' }
  let answer: RowndAnswer
  try {
    answer = await callRownd(context, '/hub/auth/keys', 'none')
  } catch (error) {
    if (config.jwks) {
      return {
        ...base,
        status: 'warn',
        detail: `Pinned keys in config/rownd.ts (${config.jwks.keys.length}); Rownd's JWKS did not answer (${networkReason(error, config.timeout)}) to compare`,
        fix: `Check the network to ${config.apiUrl}, ${RECHECK}`,
      }
    }
    return {
      ...base,
      status: 'fail',
      detail: `Cannot fetch ${config.apiUrl}/hub/auth/keys: ${networkReason(error, config.timeout)}`,
      fix: `Check the network to ${config.apiUrl}, ${RECHECK}`,
    }
  }
  const keys = Array.isArray(answer.body?.keys) ? (answer.body.keys as any[]) : undefined
  if (answer.status !== 200 || !keys) {
    return {
      ...base,
      status: 'fail',
      detail: `/hub/auth/keys answered ${rowndMessage(answer)} without a key list: no token can be verified`,
      fix: `Check ROWND_API_URL points at Rownd's API, ${RECHECK}`,
    }
  }
  const usable: string[] = []
  for (const key of keys) {
    if (key?.kty !== 'OKP' || key?.crv !== 'Ed25519' || typeof key?.kid !== 'string') continue
    try {
      await importJWK({ kty: 'OKP', crv: 'Ed25519', x: key.x }, 'EdDSA')
      usable.push(key.kid)
    } catch {}
  }
  if (!usable.length) {
    return {
      ...base,
      status: 'fail',
      detail: `The JWKS holds ${keys.length} key(s), none a usable Ed25519 (EdDSA) key: every token is refused`,
      fix: `Check ROWND_API_URL points at Rownd's API, ${RECHECK}`,
    }
  }
  if (config.jwks) {
    const pinned = new Set(config.jwks.keys.map((key) => key.kid))
    if (!usable.some((kid) => pinned.has(kid))) {
      return {
        ...base,
        status: 'fail',
        detail: `config/rownd.ts pins keys (${[...pinned].join(', ')}) but Rownd signs with ${usable.join(', ')}: new tokens are refused`,
        fix: 'Remove jwks from config/rownd.ts (keys are fetched and cached), or pin the current ones',
      }
    }
  }
  return {
    ...base,
    status: 'pass',
    detail: `${usable.length} Ed25519 key(s): ${usable.join(', ')}`,
  }
}

function seconds(ms: number) {
  return `${(Math.abs(ms) / 1000).toFixed(Math.abs(ms) < 10_000 ? 1 : 0)} s`
}

/** The local clock against Rownd's `Date` header */
export async function checkClock(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'clock', title: 'Clock in step with Rownd' }
  const config = context.config
  if (!config || !context.clockOffsets.length) {
    return { ...base, status: 'skip', detail: 'no answer from Rownd carried a Date header' }
  }
  // The fastest answer says the most; Date has a one-second resolution
  const best = [...context.clockOffsets].sort((a, b) => a.rtt - b.rtt)[0]
  const uncertainty = 1000 + best.rtt / 2
  // The Date header truncates to the second: on average Rownd is 0.5 s later than it says
  const offset = best.offset + 500
  const skew = Math.abs(offset) - uncertainty
  const direction = offset > 0 ? 'behind' : 'ahead of'
  if (skew > config.clockTolerance) {
    return {
      ...base,
      status: 'fail',
      detail: `This machine's clock is about ${seconds(offset)} ${direction} Rownd's (tolerance ${seconds(config.clockTolerance)}): ${offset > 0 ? 'fresh tokens are refused as issued in the future (401 E_ROWND_TOKEN_NOT_YET_VALID)' : `tokens are refused as expired (401 E_ROWND_TOKEN_EXPIRED) ${seconds(offset)} before they expire`}`,
      fix: 'Sync the system clock (NTP, e.g. "sudo timedatectl set-ntp true"; in a VM or container, the host\'s clock). Raising clockTolerance only hides it',
    }
  }
  if (skew > 0) {
    return {
      ...base,
      status: 'warn',
      detail: `This machine's clock is about ${seconds(offset)} ${direction} Rownd's: within the ${seconds(config.clockTolerance)} tolerance, but drifting`,
      fix: 'Sync the system clock (NTP)',
    }
  }
  return {
    ...base,
    status: 'pass',
    detail: `within ${seconds(uncertainty)} of Rownd's Date header (tolerance ${seconds(config.clockTolerance)})`,
  }
}
