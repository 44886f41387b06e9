/*
 * The rownd guard in config/auth.ts, and the app guard Rownd sign-ins
 * also log into (session.appGuard).
 */
import { configProvider } from '@adonisjs/core'
import { readGuards } from '../../configure/inspect.ts'
import { describeError } from './app_setup.ts'
import type { CheckResult, DoctorContext, GuardFacts } from './types.ts'

/** Driver names of the guard factories config/auth.ts may call */
const DRIVER_OF_FACTORY: Record<string, string> = {
  rowndGuard: 'rownd',
  sessionGuard: 'session',
  tokensGuard: 'access_tokens',
  basicAuthGuard: 'basic_auth',
}

const ADD_GUARD =
  "Add rownd: rowndGuard({ provider: rowndUserProvider({ model: () => import('#models/user') }) }) to guards in config/auth.ts (import { rowndGuard, rowndUserProvider } from 'rownd-adonis'); \"node ace configure rownd-adonis\" does it"

/**
 * The guards as the app builds them: each factory of the resolved auth
 * config called with a stand-in context (guard constructors only store
 * it), read for its driver name and user provider
 */
async function resolveGuards(context: DoctorContext): Promise<GuardFacts[]> {
  const resolved = (await configProvider.resolve(
    context.app,
    context.app.config.get('auth', undefined)
  )) as { guards?: Record<string, (ctx: unknown) => any> } | null
  const guards: GuardFacts[] = []
  for (const [name, factory] of Object.entries(resolved?.guards ?? {})) {
    try {
      const guard = factory({})
      guards.push({ name, driver: guard?.driverName, userProvider: guard?.userProvider })
    } catch {
      guards.push({ name })
    }
  }
  return guards
}

export async function checkGuard(context: DoctorContext): Promise<CheckResult> {
  const base = { id: 'auth.guard', title: 'rownd guard in config/auth.ts' }
  const source = context.files.get('config/auth.ts')
  if (source === undefined) {
    return {
      ...base,
      status: 'fail',
      detail: 'config/auth.ts is missing: @adonisjs/auth is not configured',
      fix: 'Run "node ace add @adonisjs/auth --guard=session", then "node ace configure rownd-adonis"',
    }
  }
  let guards: GuardFacts[]
  let note = ''
  try {
    if (!context.booted) throw new Error('the app did not boot')
    guards = await resolveGuards(context)
  } catch (error) {
    // Read the file instead
    note = ` (read from the file: ${describeError(error)})`
    guards = [...readGuards(source).guards].map(([name, factory]) => ({
      name,
      driver: DRIVER_OF_FACTORY[factory],
    }))
  }
  context.guards = guards
  const list = guards.map((guard) => `${guard.name} (${guard.driver ?? '?'})`).join(', ') || 'none'
  const rownd = guards.filter((guard) => guard.driver === 'rownd')
  if (!rownd.length) {
    return {
      ...base,
      status: 'fail',
      detail: `No guard uses rowndGuard; guards: ${list}${note}. middleware.rownd() and the session routes answer 500`,
      fix: ADD_GUARD,
    }
  }
  const problems: string[] = []
  const fixes: string[] = []
  let status: 'pass' | 'warn' | 'fail' = 'pass'
  if (!rownd.some((guard) => guard.name === 'rownd')) {
    status = 'warn'
    problems.push(
      `the rownd guard is named "${rownd[0].name}", but the session routes and middleware.rownd() use "rownd" unless told otherwise`
    )
    fixes.push(
      `Rename it "rownd", or pass { guard: '${rownd[0].name}' } to registerRowndRoutes() and middleware.rownd()`
    )
  }
  const appGuard = context.config?.session.appGuard
  if (appGuard) {
    const guard = guards.find((entry) => entry.name === appGuard)
    if (!guard || (guard.driver && guard.driver !== 'session')) {
      status = 'fail'
      problems.push(
        guard
          ? `session.appGuard "${appGuard}" is a ${guard.driver} guard, not a session guard`
          : `session.appGuard "${appGuard}" is not a guard of config/auth.ts`
      )
      fixes.push(
        'Set session.appGuard in config/rownd.ts to your session guard (e.g. "web"), or remove it'
      )
    }
  }
  if (problems.length) {
    return {
      ...base,
      status,
      detail: `${problems.join('; ')}; guards: ${list}`,
      fix: fixes.join('; '),
    }
  }
  return {
    ...base,
    status: 'pass',
    detail: `guards: ${list}${appGuard ? `; Rownd sign-ins also log into "${appGuard}"` : ''}${note}`,
  }
}
