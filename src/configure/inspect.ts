import type Configure from '@adonisjs/core/commands/configure'
import type { ConfigureOptions } from './options.ts'
import { readOptional } from './files.ts'

/** What the host app has, read before anything is written */
export interface AppFacts {
  dependencies: Set<string>
  rcFile: string
  kernel: string
  hasSession: boolean
  hasEdge: boolean
  hasLucid: boolean
  hasInertia: boolean
  hasAuthInitializeMiddleware: boolean
  /** Guards of config/auth.ts: name → factory (`sessionGuard`, `tokensGuard`, ...) */
  guards: Map<string, string>
  defaultGuard?: string
  /**
   * The app's session guard that Rownd sign-ins also log into: the default
   * guard when it is a session guard, else the first session guard
   */
  appGuard?: string
  /** app/models/user.ts extends the schema Lucid regenerates on migration:run */
  modelFromGeneratedSchema: boolean
  userModel?: string
}

/** Guard names and their factories, read from config/auth.ts text */
export function readGuards(source: string | undefined) {
  const guards = new Map<string, string>()
  if (!source) return { guards, defaultGuard: undefined }
  const pattern =
    /\b([A-Za-z_$][\w$]*)\s*:\s*(sessionGuard|tokensGuard|basicAuthGuard|rowndGuard)\s*\(/g
  for (const match of source.matchAll(pattern)) guards.set(match[1], match[2])
  const defaultGuard = /\bdefault\s*:\s*['"]([^'"]+)['"]/.exec(source)?.[1]
  return { guards, defaultGuard }
}

/**
 * Reads the host app and refuses to go on (before writing anything) when
 * a prerequisite is missing. Returns the facts, or an error message.
 */
export async function inspectApp(
  command: Configure,
  options: ConfigureOptions
): Promise<AppFacts | { error: string }> {
  const app = command.app
  const pkgSource = await readOptional(app.makePath('package.json'))
  if (!pkgSource) return { error: 'Cannot find package.json in the application root' }
  let pkg: Record<string, Record<string, string> | undefined>
  try {
    pkg = JSON.parse(pkgSource)
  } catch {
    return { error: 'Cannot parse package.json in the application root' }
  }
  const dependencies = new Set([
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.devDependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
  ])

  const rcFile = await readOptional(app.makePath('adonisrc.ts'))
  if (!rcFile) return { error: 'Cannot find adonisrc.ts in the application root' }

  if (!dependencies.has('@adonisjs/auth')) {
    return {
      error:
        'rownd-adonis needs @adonisjs/auth, which is not installed. Run "node ace add @adonisjs/auth --guard=session" first, then run this command again',
    }
  }
  if (!rcFile.includes('@adonisjs/auth/auth_provider')) {
    return {
      error:
        'rownd-adonis needs @adonisjs/auth, whose provider is not registered in adonisrc.ts. Run "node ace configure @adonisjs/auth" first, then run this command again',
    }
  }
  for (const file of ['start/env.ts', 'start/kernel.ts']) {
    if ((await readOptional(app.makePath(file))) === undefined) {
      return {
        error: `Cannot find ${file}: rownd-adonis registers its env variables and middleware there`,
      }
    }
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.table)) {
    return {
      error: `Invalid --table "${options.table}": use a plain SQL table name (letters, digits, _)`,
    }
  }

  const kernel = (await readOptional(app.makePath('start/kernel.ts'))) ?? ''
  const hasSessionPackage =
    dependencies.has('@adonisjs/session') && rcFile.includes('@adonisjs/session/session_provider')
  const hasSession = !options.apiOnly && hasSessionPackage
  const { guards, defaultGuard } = readGuards(await readOptional(app.configPath('auth.ts')))
  const sessionGuards = [...guards].filter(([, factory]) => factory === 'sessionGuard')
  const appGuard = !hasSession
    ? undefined
    : defaultGuard && guards.get(defaultGuard) === 'sessionGuard'
      ? defaultGuard
      : sessionGuards[0]?.[0]
  const userModel = await readOptional(app.makePath('app/models/user.ts'))

  return {
    dependencies,
    rcFile,
    kernel,
    hasSession,
    hasEdge:
      dependencies.has('edge.js') || rcFile.includes('@adonisjs/core/providers/edge_provider'),
    hasLucid: dependencies.has('@adonisjs/lucid'),
    hasInertia: dependencies.has('@adonisjs/inertia'),
    hasAuthInitializeMiddleware: kernel.includes('@adonisjs/auth/initialize_auth_middleware'),
    guards,
    defaultGuard,
    appGuard,
    modelFromGeneratedSchema: userModel?.includes('#database/schema') ?? false,
    userModel,
  }
}
