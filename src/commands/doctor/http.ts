/*
 * What stands between the Hub and the session routes: the routes
 * themselves, shield's CSRF check, the session store and the proxy
 * settings the Origin check depends on.
 */
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configProvider } from '@adonisjs/core'
import { listFiles } from '../../configure/files.ts'
import { describeError } from './app_setup.ts'
import type { CheckResult, DoctorContext } from './types.ts'

export const SESSION_PROVIDER = '@adonisjs/session/session_provider'
const SHIELD_PROVIDER = '@adonisjs/shield/shield_provider'

function isLoopback(hostname: string) {
  return ['localhost', '127.0.0.1', '[::1]', '::1'].includes(hostname.toLowerCase())
}

function routePatterns(context: DoctorContext) {
  const prefix = context.config?.session.routePrefix ?? '/rownd'
  return [`${prefix}/session_authenticate`, `${prefix}/session_sign_out`]
}

/** Every route of the app, as `node ace list:routes` sees them */
async function appRoutes(context: DoctorContext) {
  const router: any = await context.app.container.make('router')
  router.commit()
  const byDomain = router.toJSON() as Record<string, Array<{ pattern: string; methods: string[] }>>
  return Object.values(byDomain).flat()
}

export async function checkRoutes(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'http.routes', title: 'Session routes registered' }
  if (!context.hasSession) {
    return {
      ...base,
      status: 'skip',
      detail: 'no @adonisjs/session: bearer tokens only, no session routes needed',
    }
  }
  if (!context.booted) return { ...base, status: 'skip', detail: 'the app did not boot' }
  const wanted = routePatterns(context)
  const routes = await appRoutes(context)
  const posts = routes.filter((route) => route.methods.includes('POST'))
  const found = wanted.filter((pattern) => posts.some((route) => route.pattern === pattern))
  if (found.length === wanted.length) {
    return {
      ...base,
      status: 'pass',
      detail: wanted.map((pattern) => `POST ${pattern}`).join(', '),
    }
  }
  const elsewhere = posts
    .filter((route) => /\/session_(authenticate|sign_out)$/.test(route.pattern))
    .map((route) => route.pattern)
  if (elsewhere.length) {
    return {
      ...base,
      status: 'fail',
      detail: `The Hub posts to ${wanted.join(' and ')} (session.routePrefix), but the routes are at ${elsewhere.join(', ')}: sign-ins get 404`,
      fix: 'Make session.routePrefix in config/rownd.ts and the prefix given to registerRowndRoutes() agree',
    }
  }
  const rcFile = context.files.get('adonisrc.ts') ?? ''
  const preload = rcFile.includes('#start/rownd')
  return {
    ...base,
    status: 'fail',
    detail: `${wanted.filter((pattern) => !found.includes(pattern)).join(' and ')} not registered${preload ? '' : " ('#start/rownd' is not in adonisrc.ts preloads)"}: the Hub's sign-in calls get 404 and nobody stays signed in`,
    fix: "Register them: start/rownd.ts calling registerRowndRoutes(router) (from 'rownd-adonis'), listed in adonisrc.ts preloads as '#start/rownd'; \"node ace configure rownd-adonis\" writes both",
  }
}

/** Text files that may configure the Hub: views, Inertia pages, public scripts */
export async function clientFiles(context: DoctorContext) {
  const roots = [
    context.app.viewsPath(),
    context.app.makePath('inertia'),
    context.app.makePath('resources/js'),
    context.app.publicPath(),
  ]
  const files: Array<{ path: string; text: string }> = []
  for (const root of roots) {
    const names = await listFiles(root)
    for (const file of names.slice(0, 2000)) {
      if (!/\.(edge|html|js|mjs|jsx|ts|tsx|vue|svelte)$/.test(file)) continue
      const path = join(root, file)
      try {
        files.push({
          path: relative(fileURLToPath(context.app.appRoot), path),
          text: await readFile(path, 'utf8'),
        })
      } catch {}
    }
  }
  return files
}

export async function checkCsrf(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'http.csrf', title: 'CSRF and the session routes' }
  if (!context.hasSession) return { ...base, status: 'skip', detail: 'no session routes' }
  const rcFile = context.files.get('adonisrc.ts') ?? ''
  if (!rcFile.includes(SHIELD_PROVIDER)) {
    return {
      ...base,
      status: 'pass',
      detail:
        'no @adonisjs/shield: no CSRF check; the routes take JSON only, from this origin only',
    }
  }
  if (!context.booted) return { ...base, status: 'skip', detail: 'the app did not boot' }
  const csrf = (context.app.config.get('shield', undefined) as any)?.csrf
  if (!csrf?.enabled) {
    return {
      ...base,
      status: 'pass',
      detail: "shield's CSRF check is off; the routes take JSON only, from this origin only",
    }
  }
  const methods: string[] = (csrf.methods ?? []).map((method: string) => method.toUpperCase())
  if (methods.length && !methods.includes('POST')) {
    return { ...base, status: 'pass', detail: 'shield does not check POST requests' }
  }
  const patterns = routePatterns(context)
  const except = csrf.exceptRoutes
  const exempt = patterns.filter((pattern) => {
    if (Array.isArray(except)) return except.includes(pattern)
    if (typeof except === 'function') {
      try {
        return !!except({
          route: { pattern },
          request: { url: () => pattern, method: () => 'POST' },
        })
      } catch {
        return false
      }
    }
    return false
  })
  if (exempt.length === patterns.length) {
    return {
      ...base,
      status: 'pass',
      detail: `exempt: both routes are in csrf.exceptRoutes (they still take JSON only, from this origin only)`,
    }
  }

  const files = await clientFiles(context)
  const tag = files.find((file) => file.path.endsWith('.edge') && file.text.includes('@rowndHub('))
  if (tag) {
    return {
      ...base,
      status: 'pass',
      detail: `protected by shield: @rowndHub() in ${tag.path} sends the page's CSRF token as X-CSRF-TOKEN`,
    }
  }
  const byHand = files.find(
    (file) =>
      /x-(csrf|xsrf)-token/i.test(file.text) && /rownd|_rphConfig|extra_headers/i.test(file.text)
  )
  if (byHand) {
    return {
      ...base,
      status: 'pass',
      detail: `protected by shield: ${byHand.path} sends the CSRF token to the Hub's calls (X-CSRF-TOKEN/X-XSRF-TOKEN)`,
    }
  }
  const fix = `Put @rowndHub() in the <head> of your layout (it sends the page's CSRF token), or send X-CSRF-TOKEN in the Hub's extra_headers, or add '${patterns[0]}' and '${patterns[1]}' to csrf.exceptRoutes in config/shield.ts (the routes accept only JSON from this origin)`
  if (csrf.enableXsrfCookie) {
    return {
      ...base,
      status: 'warn',
      detail:
        "shield checks CSRF on the routes; nothing found that sends the XSRF-TOKEN cookie back as X-XSRF-TOKEN on the Hub's calls: they may get 403",
      fix,
    }
  }
  return {
    ...base,
    status: 'fail',
    detail:
      "shield's CSRF check covers the routes and nothing sends a CSRF token with the Hub's calls: every sign-in gets 403 (E_BAD_CSRF_TOKEN)",
    fix,
  }
}

/** @adonisjs/session's config as resolved (store name, cookie options) */
async function sessionConfig(context: DoctorContext) {
  const raw = context.app.config.get('session', undefined)
  return (await configProvider.resolve(context.app, raw as any)) as {
    store: string
    cookie: { secure?: boolean; sameSite?: string | boolean }
  } | null
}

export async function checkSessionStore(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'http.session_store', title: 'Session store and sign-out' }
  if (!context.hasSession) return { ...base, status: 'skip', detail: 'no @adonisjs/session' }
  if (!context.booted) return { ...base, status: 'skip', detail: 'the app did not boot' }
  let session
  try {
    session = await sessionConfig(context)
  } catch (error) {
    return {
      ...base,
      status: 'warn',
      detail: `config/session.ts did not resolve: ${describeError(error)}`,
      fix: 'Check config/session.ts',
    }
  }
  if (!session) return { ...base, status: 'skip', detail: 'no session config' }
  const revocations = context.config?.revocations
  const problems: string[] = []
  const fixes: string[] = []
  let status: 'pass' | 'warn' | 'fail' = 'pass'
  if (session.cookie?.sameSite === 'none' && !session.cookie.secure) {
    status = 'fail'
    problems.push(
      'the session cookie is SameSite=None without Secure: browsers refuse it, nobody stays signed in'
    )
    fixes.push('Set cookie.secure: true (or sameSite: "lax") in config/session.ts')
  }
  if (session.store === 'memory') {
    if (status === 'pass') status = 'warn'
    problems.push(
      'memory store: every restart (each reload of "node ace serve") signs everybody out, and instances do not share sessions'
    )
    fixes.push('Use SESSION_DRIVER=cookie, database or redis')
  } else if (session.store === 'cookie' && !revocations) {
    if (status === 'pass') status = 'warn'
    problems.push(
      'cookie store with revocations: false: a session cookie copied before a sign-out (or "node ace rownd:revoke") works again after a restart, since nothing on the server remembers the sign-out'
    )
    fixes.push(
      'Keep revocations on in config/rownd.ts (the default) and run its migration, or use a server-side store (database, redis)'
    )
  }
  if (problems.length) {
    return { ...base, status, detail: problems.join('; '), fix: fixes.join('; ') }
  }
  const detail =
    session.store === 'cookie'
      ? `cookie store; sign-outs persist in ${revocations ? revocations.table : '?'}, so a copied cookie stays signed out`
      : `"${session.store}" store: sign-out destroys the session on the server`
  return { ...base, status: 'pass', detail }
}

export async function checkProxy(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'http.proxy', title: 'APP_URL, proxy and the Origin check' }
  if (!context.hasSession) return { ...base, status: 'skip', detail: 'no session routes' }
  if (!context.booted) return { ...base, status: 'skip', detail: 'the app did not boot' }
  const appUrl = context.config?.appUrl
  const http = (context.app.config.get('app.http', undefined) ?? {}) as {
    trustProxy?: (address: string, index: number) => boolean
    cookie?: { secure?: boolean }
  }
  let sessionCookie: { secure?: boolean } | undefined
  try {
    const session = await sessionConfig(context)
    sessionCookie = session?.cookie
  } catch {}
  const secure = sessionCookie?.secure ?? http.cookie?.secure
  if (!appUrl) {
    return {
      ...base,
      status: 'warn',
      detail:
        "APP_URL is not set: behind a proxy that rewrites Host, the Hub's calls fail the Origin check (403 E_ROWND_CROSS_SITE_REQUEST)",
      fix: 'Set APP_URL to the URL users open (e.g. https://app.example.com), or appUrl in config/rownd.ts',
    }
  }
  let url: URL
  try {
    url = new URL(appUrl)
  } catch {
    return {
      ...base,
      status: 'fail',
      detail: `APP_URL "${appUrl}" is not a URL: the Origin check cannot use it`,
      fix: 'Set APP_URL to the URL users open, e.g. https://app.example.com',
    }
  }
  if (secure && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    return {
      ...base,
      status: 'fail',
      detail: `the session cookie is Secure but APP_URL is ${url.origin} (http): browsers drop it, so sign-ins never stick and the Hub signs in again on every page`,
      fix: 'Serve the app over https and set APP_URL to its https URL (or cookie.secure: false outside production)',
    }
  }
  const trustProxy = typeof http.trustProxy === 'function' ? http.trustProxy : undefined
  const trusts = (address: string) => {
    try {
      return !!trustProxy?.(address, 0)
    } catch {
      return false
    }
  }
  const trustsAny = ['127.0.0.1', '10.0.0.1', '172.16.0.1', '192.168.0.1'].some(trusts)
  if (!trustsAny && !isLoopback(url.hostname)) {
    return {
      ...base,
      status: 'warn',
      detail: `trustProxy trusts no proxy: X-Forwarded-Host/Proto are ignored, so behind a proxy the Hub's calls pass the Origin check only from ${url.host} (APP_URL) or when the proxy keeps Host; request.secure() is false behind a TLS proxy`,
      fix: "Set http.trustProxy in config/app.ts to your proxy's address (e.g. 'loopback' or '10.0.0.0/8'), and keep APP_URL the exact public origin",
    }
  }
  return {
    ...base,
    status: 'pass',
    detail: `Origin accepted: the Host header, APP_URL (${url.host})${trustsAny ? ' and X-Forwarded-Host from trusted proxies' : ''}`,
  }
}
