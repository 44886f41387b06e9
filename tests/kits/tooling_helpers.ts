/**
 * Shared steps of the tooling specs (rownd:doctor, dev mode, rownd:token,
 * rownd:emulator) on a tarball-installed kit app.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { KitApp, RunResult } from '../helpers/kit_app.ts'
import { setEnvLines } from '../helpers/kit_app.ts'
import { hubCommands, hubSignIn } from './rownd_helpers.ts'
import { HypermediaClient } from '../helpers/kit_app.ts'

export interface DoctorCheck {
  id: string
  title: string
  status: 'pass' | 'warn' | 'fail' | 'skip'
  detail: string
  fix?: string
}

export interface DoctorRun {
  run: RunResult
  report: { ok: boolean; counts: Record<string, number>; checks: DoctorCheck[] }
  /** The check with this id */
  check(id: string): DoctorCheck
  /** Ids of the failed checks */
  failed: string[]
  warned: string[]
}

/** `node ace rownd:doctor --json`, parsed */
export async function doctor(app: KitApp, env?: Record<string, string>): Promise<DoctorRun> {
  const run = await app.ace(['rownd:doctor', '--json'], env)
  const start = run.stdout.indexOf('{')
  let report: DoctorRun['report']
  try {
    report = JSON.parse(run.stdout.slice(start))
  } catch {
    throw new Error(
      `rownd:doctor printed no JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`
    )
  }
  return {
    run,
    report,
    check(id) {
      const found = report.checks.find((check) => check.id === id)
      if (!found) throw new Error(`no check ${id} in ${JSON.stringify(report.checks, null, 2)}`)
      return found
    },
    failed: report.checks.filter((check) => check.status === 'fail').map((check) => check.id),
    warned: report.checks.filter((check) => check.status === 'warn').map((check) => check.id),
  }
}

/** Rewrites a file of the app for the duration of `body`, then puts it back */
export async function withFile<T>(
  app: KitApp,
  path: string,
  edit: (contents: string) => string,
  body: () => Promise<T>
): Promise<T> {
  const original = await app.readFile(path)
  const edited = edit(original)
  if (edited === original) throw new Error(`${path}: the edit changed nothing`)
  await app.writeFile(path, edited)
  try {
    return await body()
  } finally {
    await app.writeFile(path, original)
  }
}

/** Sets .env lines (KEY=value) */
export async function setEnv(app: KitApp, values: Record<string, string>) {
  await app.writeFile('.env', setEnvLines(await app.readFile('.env'), values))
}

/**
 * A long-running `node ace <args>` (e.g. rownd:emulator): resolves once a
 * line of its output matches `ready`
 */
export async function spawnAce(
  app: KitApp,
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {}
): Promise<{
  child: ChildProcess
  output: () => string
  match: RegExpMatchArray
  stop(): Promise<void>
}> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }
  const dotenv = await readFile(join(app.root, '.env'), 'utf8')
  for (const line of dotenv.split('\n')) {
    const key = /^\s*([A-Z_][\w]*)\s*=/i.exec(line)?.[1]
    if (key) delete childEnv[key]
  }
  const child = spawn(process.execPath, ['ace', ...args], {
    cwd: app.root,
    env: { ...childEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${ready} within 30 s:\n${output}`)), 30_000)
    const check = () => {
      const found = output.match(ready)
      if (found) {
        clearTimeout(timer)
        resolve(found)
      }
    }
    child.stdout!.on('data', check)
    child.stderr!.on('data', check)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`ace ${args.join(' ')} exited (${child.exitCode}):\n${output}`))
    })
  })
  return {
    child,
    match,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/**
 * A browser on the hypermedia kit in dev mode, signing in as the stand-in
 * Hub does: a token from the emulator the page names (`setBaseUrl`), posted
 * to the session route with the page's CSRF header
 */
export class DevBrowser extends HypermediaClient {
  async hub(path = '/') {
    const { html } = await this.visit(path)
    return hubCommands(html)
  }

  async signIn(email: string, path = '/') {
    const hub = await this.hub(path)
    const minted = await fetch(`${hub.setBaseUrl}/__emulator/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email }),
    })
    const body = (await minted.json()) as { access_token: string; user_id: string }
    const result = await hubSignIn(
      this.jar,
      this.baseUrl,
      body.access_token,
      hub.setPostAuthenticationApi.extra_headers
    )
    return { ...result, token: body.access_token, userId: body.user_id, hub }
  }

  async header(path = '/') {
    return HypermediaClient.header((await this.visit(path)).html)
  }
}

/** The routes a web kit's user adds: an API route behind Rownd's middleware */
export const API_ME_ROUTE = `
router
  .get('/api/me', ({ auth }) => {
    const user = auth.use('rownd').getUserOrFail()
    return { id: user.id, email: user.email, rowndUserId: user.rowndUserId }
  })
  .use(middleware.rownd())
`

/** The JWT `rownd:token` prints on its own line */
export function tokenLine(stdout: string) {
  return stdout
    .split('\n')
    .find((line) => /^ey[\w-]+\.[\w-]+\.[\w-]+$/.test(line.trim()))
    ?.trim()
}

/** The kit's home page with a Rownd sign-in button (README's step), for dev-mode sign-ins */
export async function addHomeSignInButton(app: KitApp) {
  const home = 'resources/views/pages/home.edge'
  await app.writeFile(
    home,
    (await app.readFile(home)).replace(
      '</div>\n@end',
      '  <button type="button" data-rownd-sign-in-trigger>Sign in with Rownd</button>\n  </div>\n@end'
    )
  )
}
