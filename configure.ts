import { randomBytes } from 'node:crypto'
import type Configure from '@adonisjs/core/commands/configure'
import { stubsRoot } from './stubs/main.ts'
import { addGuard, GUARD_IMPORT, guardEntry } from './src/configure/auth_config.ts'
import { envKeys, readOptional } from './src/configure/files.ts'
import { type AppFacts, inspectApp } from './src/configure/inspect.ts'
import {
  addRowndToAuthMiddleware,
  addSessionSyncMiddleware,
  SESSION_SYNC_MIDDLEWARE,
} from './src/configure/kernel.ts'
import { writeMigrations } from './src/configure/migrations.ts'
import { type ConfigureOptions, readOptions } from './src/configure/options.ts'
import { addHubToLayout } from './src/configure/views.ts'
import { addWebhookToCsrfExceptions } from './src/configure/shield.ts'
import { rowndRoutePaths } from './src/http/routes.ts'

/** Provider, middleware and preload paths written into the host app */
const PROVIDER = 'rownd-adonis/rownd_provider'
const COMMANDS = 'rownd-adonis/commands'
const MIDDLEWARE = 'rownd-adonis/rownd_middleware'
const PRELOAD = '#start/rownd'
const DEFAULT_API_URL = 'https://api.rownd.io'

type Codemods = Awaited<ReturnType<Configure['createCodemods']>>

/**
 * `node ace configure rownd-adonis`
 *
 * Flags (every prompt-free, so it runs in CI):
 * - `--api-only`: no session routes (bearer tokens only)
 * - `--table=<name>`: the users table (default `users`)
 * - `--create-table`: write a migration creating the table
 * - `--nullable-email`: also make the table's email nullable (phone-only users)
 * - `--webhooks`: the webhook route Rownd's connector calls (a secret in
 *   `.env`, the route's CSRF exception, the routes preload in API-only apps)
 * - `--app-key`, `--app-secret`, `--api-url`: values written to `.env`
 * - `--force`: overwrite files this command writes
 *
 * It writes only what is missing, so running it again (or on an app set
 * up by an older rownd-adonis) adds just the new parts.
 */
export async function configure(command: Configure) {
  const options = readOptions(command)
  const facts = await inspectApp(command, options)
  if ('error' in facts) {
    command.logger.error(facts.error)
    command.exitCode = 1
    return
  }

  const codemods = await command.createCodemods()
  codemods.overwriteExisting = options.force
  const failures: string[] = []
  codemods.on('error', (error: Error) => failures.push(error.message))
  const done: string[] = []
  const todo: string[] = []

  await registerProviderAndRoutes(codemods, facts, options, done)
  await writeConfig(command, codemods, facts, done, todo)
  await writeEnv(command, codemods, options, done, todo)
  const authMiddlewareGuard = await wireMiddleware(command, codemods, facts, done, todo)
  if (options.webhooks) await wireWebhooks(command, codemods, done, todo)

  const migrationsBefore = done.length
  if (facts.hasLucid) {
    await writeMigrations(command, codemods, options, done)
  } else {
    todo.push(
      `Add a nullable, unique rownd_user_id column to your "${options.table}" table and create the rownd_revocations table (@adonisjs/lucid is not installed, so no migration was written; see docs/configuration.md of rownd-adonis)`
    )
  }
  const wroteMigrations = done.length > migrationsBefore

  await wireGuard(command, codemods, facts, done, todo)
  await wireViews(command, facts, done, todo)

  if (failures.length) {
    command.exitCode = 1
    command.logger.error(
      `rownd-adonis could not finish:\n${failures.map((m) => `  - ${m}`).join('\n')}`
    )
  }
  await summarize(command, facts, { wroteMigrations, authMiddlewareGuard }, done, todo)
}

/**
 * Provider, ace commands, and the routes as a preload: the session routes
 * (apps with sessions) and the webhook route (with --webhooks, API-only
 * apps included)
 */
async function registerProviderAndRoutes(
  codemods: Codemods,
  facts: AppFacts,
  options: ConfigureOptions,
  done: string[]
) {
  const withRoutes = facts.hasSession || options.webhooks
  await codemods.updateRcFile((rcFile) => {
    rcFile.addProvider(PROVIDER)
    rcFile.addCommand(COMMANDS)
    if (withRoutes) rcFile.addPreloadFile(PRELOAD)
  })
  if (!facts.rcFile.includes(`'${PROVIDER}'`)) done.push(`provider ${PROVIDER} in adonisrc.ts`)
  if (!facts.rcFile.includes(`'${COMMANDS}'`)) done.push(`commands ${COMMANDS} in adonisrc.ts`)
  if (withRoutes && !facts.rcFile.includes(`'${PRELOAD}'`)) {
    done.push(`preload ${PRELOAD} in adonisrc.ts`)
  }
  if (withRoutes) {
    const routes = await codemods.makeUsingStub(stubsRoot, 'start/rownd.stub', {
      session: facts.hasSession,
    })
    if (routes.status !== 'skipped') {
      done.push(
        facts.hasSession
          ? 'start/rownd.ts (POST /rownd/session_authenticate, /rownd/session_sign_out, /rownd/user_data_update)'
          : 'start/rownd.ts (the webhook route, no session routes)'
      )
    }
  }
}

/**
 * The webhook route's CSRF exception in config/shield.ts (Rownd's
 * deliveries carry no CSRF token), and what to set in Rownd's dashboard
 */
async function wireWebhooks(
  command: Configure,
  codemods: Codemods,
  done: string[],
  todo: string[]
) {
  const config = (await readOptional(command.app.configPath('rownd.ts'))) ?? ''
  // A routePrefix set (not commented out) in config/rownd.ts moves every route
  const prefix = /^[ \t]*routePrefix\s*:\s*['"]([^'"]+)['"]/m.exec(config)?.[1] ?? '/rownd'
  const pattern = rowndRoutePaths(prefix).webhook
  const shield = await addWebhookToCsrfExceptions(command, codemods, pattern)
  if (shield === 'added') {
    command.logger.action('update config/shield.ts file').succeeded()
    done.push(`'${pattern}' in csrf.exceptRoutes of config/shield.ts`)
  } else if (shield === 'manual') {
    todo.push(
      `Exempt the webhook route from CSRF in config/shield.ts: add '${pattern}' to csrf.exceptRoutes (or return true for that route pattern if exceptRoutes is a function)`
    )
  }
  const path = pattern.replace('/:secret?', '')
  todo.push(
    `In Rownd's dashboard: Integrations > Connector catalog > Generic webhook, method POST, URL https://<your app>${path}/<the ROWND_WEBHOOK_SECRET value of .env>; then attach the connection to your application. Set ROWND_WEBHOOK_SECRET in your servers' environment too`
  )
}

/** config/rownd.ts, wired to the app's session guard when there is one */
async function writeConfig(
  command: Configure,
  codemods: Codemods,
  facts: AppFacts,
  done: string[],
  todo: string[]
) {
  const result = await codemods.makeUsingStub(stubsRoot, 'config/rownd.stub', {
    appGuard: facts.appGuard,
  })
  if (result.status !== 'skipped') {
    done.push(
      facts.appGuard
        ? `config/rownd.ts (Rownd sign-ins also log into your "${facts.appGuard}" guard)`
        : 'config/rownd.ts'
    )
    return
  }
  const existing = (await readOptional(command.app.configPath('rownd.ts'))) ?? ''
  if (facts.appGuard && !/\bappGuard\s*:/.test(existing)) {
    todo.push(
      `Optional: set session: { appGuard: '${facts.appGuard}' } in config/rownd.ts, so Rownd sign-ins also log into your "${facts.appGuard}" guard (auth.user, middleware.auth(), silent auth) and its logout signs out of Rownd`
    )
  }
}

/**
 * Env variables: only the missing ones, so a second run (or --force) never
 * wipes credentials already set. Values given as flags win.
 */
async function writeEnv(
  command: Configure,
  codemods: Codemods,
  options: ConfigureOptions,
  done: string[],
  todo: string[]
) {
  const envFile = await readOptional(command.app.makePath('.env'))
  const present = envKeys(envFile)
  const wanted: Record<string, string> = {
    ROWND_APP_KEY: options.appKey ?? '',
    ROWND_APP_SECRET: options.appSecret ?? '',
    ROWND_API_URL: options.apiUrl ?? DEFAULT_API_URL,
    // 43 URL-safe characters: it ends the webhook URL
    ...(options.webhooks ? { ROWND_WEBHOOK_SECRET: randomBytes(32).toString('base64url') } : {}),
  }
  const given: Record<string, string | undefined> = {
    ROWND_APP_KEY: options.appKey,
    ROWND_APP_SECRET: options.appSecret,
    ROWND_API_URL: options.apiUrl,
  }
  const variables = Object.fromEntries(
    Object.entries(wanted).filter(([key]) => !present.has(key) || given[key] !== undefined)
  )
  const hasEnvFile =
    envFile !== undefined ||
    (await readOptional(command.app.makePath('.env.example'))) !== undefined
  if (!hasEnvFile) {
    todo.push(
      `Create a .env file with ROWND_APP_KEY, ROWND_APP_SECRET and ROWND_API_URL${options.webhooks ? ', and ROWND_WEBHOOK_SECRET (at least 16 letters, digits, - or _)' : ''}`
    )
  } else if (Object.keys(variables).length) {
    await codemods.defineEnvVariables(variables, {
      omitFromExample: ['ROWND_APP_SECRET', 'ROWND_WEBHOOK_SECRET'],
    })
    done.push(`${Object.keys(variables).join(', ')} in .env`)
  }
  await codemods.defineEnvValidations({
    leadingComment: 'Variables for configuring rownd-adonis',
    variables: {
      // Optional so `node ace` commands run before the credentials are set;
      // the Rownd client reports E_ROWND_CONFIG on first use instead
      ROWND_APP_KEY: 'Env.schema.string.optional()',
      ROWND_APP_SECRET: 'Env.schema.string.optional()',
      ROWND_API_URL: `Env.schema.string.optional({ format: 'url', tld: false })`,
      // The webhook route exists only when it is set
      ...(options.webhooks ? { ROWND_WEBHOOK_SECRET: 'Env.schema.string.optional()' } : {}),
    },
  })
}

/**
 * The named `rownd` middleware; the session sync middleware after auth's
 * initialize middleware (apps with an app session guard); Rownd bearer
 * tokens in the app's `auth` middleware when its default guard is not a
 * session guard (the api starter kit). Returns that default guard when the
 * `auth` middleware now tries the rownd guard first.
 */
async function wireMiddleware(
  command: Configure,
  codemods: Codemods,
  facts: AppFacts,
  done: string[],
  todo: string[]
): Promise<string | undefined> {
  await codemods.registerMiddleware('named', [{ name: 'rownd', path: MIDDLEWARE }])
  if (!facts.hasAuthInitializeMiddleware) {
    todo.push(
      `Add () => import('@adonisjs/auth/initialize_auth_middleware') to router.use([...]) in start/kernel.ts`
    )
  }

  if (facts.hasSession && facts.appGuard) {
    const sync = await addSessionSyncMiddleware(command)
    if (sync === 'added') {
      command.logger.action('update start/kernel.ts file').succeeded()
      done.push(`${SESSION_SYNC_MIDDLEWARE} in router.use (start/kernel.ts)`)
    } else if (sync === 'manual') {
      todo.push(
        `Add () => import('${SESSION_SYNC_MIDDLEWARE}') to router.use([...]) in start/kernel.ts, right after @adonisjs/auth/initialize_auth_middleware`
      )
    }
  }

  const defaultGuard = facts.defaultGuard
  const defaultFactory = defaultGuard ? facts.guards.get(defaultGuard) : undefined
  if (
    defaultGuard &&
    defaultFactory &&
    defaultFactory !== 'sessionGuard' &&
    defaultGuard !== 'rownd'
  ) {
    const edited = await addRowndToAuthMiddleware(command, defaultGuard)
    if (edited === 'added') {
      command.logger.action('update app/middleware/auth_middleware.ts file').succeeded()
      done.push(
        `app/middleware/auth_middleware.ts: middleware.auth() accepts Rownd bearer tokens too (guards 'rownd', then '${defaultGuard}')`
      )
    } else if (edited === 'manual') {
      todo.push(
        `To let middleware.auth() accept Rownd bearer tokens, call ctx.auth.authenticateUsing(options.guards ?? ['rownd', '${defaultGuard}']) in app/middleware/auth_middleware.ts`
      )
    }
    if (edited !== 'manual') return defaultGuard
  }
  return undefined
}

async function wireGuard(
  command: Configure,
  codemods: Codemods,
  facts: AppFacts,
  done: string[],
  todo: string[]
) {
  const guard = await addGuard(command, codemods, facts.hasSession)
  if (guard === 'added') {
    command.logger.action('update config/auth.ts file').succeeded()
    done.push('the "rownd" guard in config/auth.ts')
  } else if (guard === 'exists') {
    command.logger.action('update config/auth.ts file').skipped('the rownd guard is already there')
  } else {
    command.logger.warning('Cannot add the rownd guard to config/auth.ts automatically')
    todo.push(
      [
        'Add the rownd guard to config/auth.ts:',
        `    ${GUARD_IMPORT}`,
        '    // inside defineConfig({ guards: { ... } })',
        `    ${guardEntry(facts.hasSession)},`,
      ].join('\n')
    )
  }
}

/** `@rowndHub()` in the Edge layout of a server-rendered app */
async function wireViews(command: Configure, facts: AppFacts, done: string[], todo: string[]) {
  if (!facts.hasEdge || !facts.hasSession) return
  if (facts.hasInertia) {
    todo.push(
      'Inertia: render the Hub with Rownd\'s React SDK (@rownd/react) wired to the session routes, as README "Inertia + React" shows; leave @rowndHub() out of the root view'
    )
    return
  }
  const layout = await addHubToLayout(command)
  if (layout === 'manual') {
    todo.push(
      'Add @rowndHub() inside <head> of your Edge layout, on its own line: it renders the Rownd Hub wired to the session routes'
    )
  } else if (layout !== 'exists') {
    command.logger.action(`update ${layout} file`).succeeded()
    done.push(`@rowndHub() in the <head> of ${layout}`)
  }
  todo.push(
    'Add a sign-in button where users sign in (e.g. your login page): <button type="button" data-rownd-sign-in-trigger>Sign in with Rownd</button>'
  )
}

/** Prints what was done and the steps left, exact for this app */
async function summarize(
  command: Configure,
  facts: AppFacts,
  state: { wroteMigrations: boolean; authMiddlewareGuard?: string },
  done: string[],
  todo: string[]
) {
  if (!facts.hasSession) {
    command.logger.info(
      facts.dependencies.has('@adonisjs/session')
        ? 'API-only: no session routes were added (bearer tokens only)'
        : 'No @adonisjs/session provider found: no session routes were added (bearer tokens only)'
    )
  }
  const finalEnv = await readOptional(command.app.makePath('.env'))
  const hasValue = (key: string) =>
    new RegExp(`^[ \\t]*${key}[ \\t]*=[ \\t]*\\S`, 'm').test(finalEnv ?? '')
  if (!hasValue('ROWND_APP_KEY') || !hasValue('ROWND_APP_SECRET')) {
    todo.unshift(
      'Set ROWND_APP_KEY and ROWND_APP_SECRET in .env (Rownd dashboard, app settings); sign-ins fail with E_ROWND_CONFIG until they are set'
    )
  }
  if (state.wroteMigrations) todo.push('Run "node ace migration:run"')
  // v7 apps whose model extends the generated schema get the column on migration:run
  if (
    facts.hasLucid &&
    !facts.modelFromGeneratedSchema &&
    !facts.userModel?.includes('rowndUserId')
  ) {
    todo.push(
      'Give app/models/user.ts the Rownd id column: @column() declare rowndUserId: string | null'
    )
  }
  if (state.authMiddlewareGuard) {
    // The app's own routes use middleware.auth() (the api starter kit): it
    // takes Rownd credentials first, so nothing changes for those routes
    const sessions = facts.hasSession ? ' and Rownd sessions' : ''
    todo.push(
      `middleware.auth() now accepts Rownd bearer tokens${sessions}, then your "${state.authMiddlewareGuard}" guard: protect routes with it as before`
    )
  } else if (facts.appGuard) {
    todo.push(
      `Rownd sign-ins log into your "${facts.appGuard}" guard: pages behind middleware.auth() and auth.user see them. For API routes called with a Rownd bearer token, use middleware.rownd()`
    )
  } else {
    todo.push("Protect routes with middleware.rownd(), or use auth.use('rownd')")
  }

  command.logger.log('')
  command.logger.log('rownd-adonis: done')
  for (const line of done) command.logger.log(`  - ${line}`)
  command.logger.log('rownd-adonis: left to do')
  todo.forEach((line, index) => command.logger.log(`  ${index + 1}. ${line}`))
}
