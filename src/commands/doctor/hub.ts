/*
 * The browser side: where the Hub comes from, whether the pages load it,
 * and whether shield's Content-Security-Policy lets it run and call Rownd.
 */
import { clientFiles } from './http.ts'
import type { CheckResult, DoctorContext } from './types.ts'

const ROWND_API = 'https://api.rownd.io'

function originOf(url: string) {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

export async function checkHub(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'hub', title: 'Rownd Hub on the pages' }
  const config = context.config
  if (!context.hasSession) {
    return { ...base, status: 'skip', detail: 'API app: the client obtains Rownd tokens itself' }
  }
  if (!config) return { ...base, status: 'skip', detail: 'config/rownd.ts not loaded' }
  const hubOrigin = originOf(config.hub.scriptUrl ?? config.hub.baseUrl)
  const rcFile = context.files.get('adonisrc.ts') ?? ''
  const usesEdge = rcFile.includes('@adonisjs/core/providers/edge_provider')
  const files = await clientFiles(context)
  const tag = files.find((file) => file.path.endsWith('.edge') && file.text.includes('@rowndHub('))
  const where = context.devMode
    ? `the stand-in Hub from the emulator (${hubOrigin})`
    : `the Hub from ${hubOrigin}`

  if (context.devMode) {
    try {
      const response = await fetch(`${config.hub.baseUrl}/static/scripts/rph.mjs`, {
        method: 'HEAD',
        signal: AbortSignal.timeout(config.timeout),
      })
      if (!response.ok) throw new Error(`status ${response.status}`)
    } catch (error) {
      return {
        ...base,
        status: 'fail',
        detail: `The emulator does not serve the stand-in Hub at ${config.hub.baseUrl}/static/scripts/rph.mjs (${(error as Error).message})`,
        fix: 'Restart the app (or "node ace rownd:emulator")',
      }
    }
  }
  if (usesEdge && !tag) {
    const inertia = files.some((file) => /_rphConfig|@rownd\/react|RowndProvider/.test(file.text))
    if (!inertia) {
      return {
        ...base,
        status: 'warn',
        detail: `No @rowndHub() in ${context.app.viewsPath().split('/').slice(-2).join('/')}: no page loads the Hub, so nobody can sign in with Rownd`,
        fix: 'Put @rowndHub() on its own line in the <head> of your layout',
      }
    }
  }
  const hint = context.devMode
    ? ''
    : `; in the Rownd dashboard, allow ${config.appUrl ? originOf(config.appUrl) : 'your app origin'} for this app`
  return {
    ...base,
    status: 'pass',
    detail: `${tag ? `@rowndHub() in ${tag.path} loads ` : 'pages load '}${where}${hint}`,
  }
}

/** Whether a CSP source list lets `origin` through */
function allows(sources: unknown, origin: string, nonce: boolean) {
  if (!Array.isArray(sources)) return undefined
  const list = sources.map((source) => String(source))
  if (list.includes('*')) return true
  if (list.some((source) => source.replace(/\/+$/, '') === origin)) return true
  const url = new URL(origin)
  if (list.includes(`${url.protocol}`)) return true
  if (list.some((source) => source.startsWith('*.') && url.hostname.endsWith(source.slice(1)))) {
    return true
  }
  // A nonce with 'strict-dynamic' trusts whatever the nonced scripts load
  if (nonce && list.includes('@nonce') && list.includes("'strict-dynamic'")) return true
  return false
}

export async function checkCsp(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'hub.csp', title: 'Content-Security-Policy lets the Hub run' }
  const config = context.config
  if (!context.hasSession)
    return { ...base, status: 'skip', detail: 'API app: no Hub on the pages' }
  if (!config) return { ...base, status: 'skip', detail: 'config/rownd.ts not loaded' }
  const hub = originOf(config.hub.scriptUrl ?? config.hub.baseUrl)
  const api = originOf(config.hub.apiUrl ?? (context.devMode ? config.apiUrl : ROWND_API))
  const csp = (context.app.config.get('shield', undefined) as any)?.csp
  const advice = `script-src: '@nonce' and ${hub}; connect-src: 'self' and ${api}`
  if (!csp?.enabled) {
    return { ...base, status: 'pass', detail: `CSP off (when you turn it on: ${advice})` }
  }
  const directives = csp.directives ?? {}
  const problems: string[] = []
  const script = allows(directives.scriptSrc ?? directives.defaultSrc, hub, true)
  if (script === false) problems.push(`script-src does not allow ${hub}: the Hub script is blocked`)
  const connect = allows(directives.connectSrc ?? directives.defaultSrc, api, false)
  if (connect === false)
    problems.push(`connect-src does not allow ${api}: the Hub cannot reach Rownd`)
  if (problems.length) {
    return {
      ...base,
      status: csp.reportOnly ? 'warn' : 'fail',
      detail: `${problems.join('; ')}${csp.reportOnly ? ' (report-only for now)' : ''}`,
      fix: `In config/shield.ts csp.directives, add ${advice}`,
    }
  }
  return { ...base, status: 'pass', detail: `CSP allows the Hub (${hub}) and its API (${api})` }
}
