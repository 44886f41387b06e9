import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { FileSystem } from '@japa/file-system'
import { AceFactory } from '@adonisjs/core/factories'
import Configure from '@adonisjs/core/commands/configure'

/** The package entry point, as `node ace configure rownd-adonis` imports it */
const PACKAGE_ENTRY = new URL('../../index.ts', import.meta.url).href

export interface FixtureOptions {
  /** @adonisjs/session installed and its provider registered. Default true */
  session?: boolean
  /** edge.js installed and the Edge provider registered. Default false */
  edge?: boolean
  /** @adonisjs/auth installed. Default true */
  authInstalled?: boolean
  /** The auth provider registered in adonisrc.ts. Default true */
  authProvider?: boolean
  /** @adonisjs/lucid installed. Default true */
  lucid?: boolean
  /** Contents of config/auth.ts (null: no file). Default: a session guard config */
  authConfig?: string | null
  /** A migration creating the users table. Default true */
  usersMigration?: boolean
  /** .env contents. Default: the usual starter values */
  env?: string
}

export const SESSION_AUTH_CONFIG = `import { defineConfig } from '@adonisjs/auth'
import { sessionGuard, sessionUserProvider } from '@adonisjs/auth/session'
import type { InferAuthenticators, InferAuthEvents, Authenticators } from '@adonisjs/auth/types'

const authConfig = defineConfig({
  default: 'web',
  guards: {
    web: sessionGuard({
      useRememberMeTokens: false,
      provider: sessionUserProvider({
        model: () => import('#models/user'),
      }),
    }),
  },
})

export default authConfig

declare module '@adonisjs/auth/types' {
  export interface Authenticators extends InferAuthenticators<typeof authConfig> {}
}
declare module '@adonisjs/core/types' {
  interface EventsList extends InferAuthEvents<Authenticators> {}
}
`

/**
 * Writes a small AdonisJS 7 app into a fresh temp dir (one per test, so
 * parallel runs of other suites never share it).
 */
export async function createFixtureApp(options: FixtureOptions = {}) {
  const session = options.session ?? true
  const edge = options.edge ?? false
  const fs = new FileSystem(await mkdtemp(join(tmpdir(), 'rownd-configure-')))

  const dependencies: Record<string, string> = { '@adonisjs/core': '^7.0.0' }
  if (options.authInstalled ?? true) dependencies['@adonisjs/auth'] = '^10.0.0'
  if (session) dependencies['@adonisjs/session'] = '^8.0.0'
  if (options.lucid ?? true) dependencies['@adonisjs/lucid'] = '^22.0.0'
  if (edge) dependencies['edge.js'] = '^6.0.0'

  await fs.createJson('package.json', {
    name: 'fixture-app',
    private: true,
    type: 'module',
    imports: {
      '#models/*': './app/models/*.js',
      '#start/*': './start/*.js',
      '#config/*': './config/*.js',
    },
    dependencies,
    devDependencies: { '@adonisjs/assembler': '^8.0.0' },
  })
  await fs.createJson('tsconfig.json', {
    compilerOptions: { module: 'NodeNext', experimentalDecorators: true, skipLibCheck: true },
    include: ['**/*'],
  })

  const providers = [
    `() => import('@adonisjs/core/providers/app_provider')`,
    ...(edge ? [`() => import('@adonisjs/core/providers/edge_provider')`] : []),
    ...(session ? [`() => import('@adonisjs/session/session_provider')`] : []),
    ...((options.lucid ?? true) ? [`() => import('@adonisjs/lucid/database_provider')`] : []),
    ...((options.authProvider ?? true) ? [`() => import('@adonisjs/auth/auth_provider')`] : []),
  ]
  await fs.create(
    'adonisrc.ts',
    `import { defineConfig } from '@adonisjs/core/app'

export default defineConfig({
  commands: [() => import('@adonisjs/core/commands')],
  providers: [
    ${providers.join(',\n    ')},
  ],
  preloads: [() => import('#start/routes'), () => import('#start/kernel')],
})
`
  )
  await fs.create(
    'start/env.ts',
    `import { Env } from '@adonisjs/core/env'

export default await Env.create(new URL('../', import.meta.url), {
  NODE_ENV: Env.schema.enum(['development', 'production', 'test'] as const),
  PORT: Env.schema.number(),
  APP_KEY: Env.schema.string(),
})
`
  )
  await fs.create(
    'start/kernel.ts',
    `import router from '@adonisjs/core/services/router'
import server from '@adonisjs/core/services/server'

server.use([])

router.use([
  () => import('@adonisjs/core/bodyparser_middleware'),${session ? `\n  () => import('@adonisjs/session/session_middleware'),` : ''}
  () => import('@adonisjs/auth/initialize_auth_middleware'),
])

export const middleware = router.named({
  auth: () => import('#middleware/auth_middleware'),
})
`
  )
  await fs.create('start/routes.ts', `import router from '@adonisjs/core/services/router'\n`)
  const authConfig = options.authConfig === undefined ? SESSION_AUTH_CONFIG : options.authConfig
  if (authConfig !== null) await fs.create('config/auth.ts', authConfig)
  await fs.create(
    '.env',
    options.env ?? 'NODE_ENV=development\nPORT=3333\nAPP_KEY=fixture-app-key-0123456789abcdef\n'
  )
  await fs.create('.env.example', 'NODE_ENV=development\nPORT=3333\nAPP_KEY=\n')
  if (options.usersMigration ?? true) {
    await fs.create(
      'database/migrations/1700000000000_create_users_table.ts',
      `import { BaseSchema } from '@adonisjs/lucid/schema'

export default class extends BaseSchema {
  protected tableName = 'users'

  async up() {
    this.schema.createTable(this.tableName, (table) => {
      table.increments('id').notNullable()
      table.string('email', 254).notNullable().unique()
      table.timestamp('created_at').notNullable()
    })
  }

  async down() {
    this.schema.dropTable(this.tableName)
  }
}
`
    )
  }
  return fs
}

/**
 * Runs `node ace configure rownd-adonis <args>` against the fixture app,
 * in-process, with the UI in raw mode so the output can be asserted on.
 */
export async function runConfigure(fs: FileSystem, args: string[] = []) {
  const ace = await new AceFactory().make(pathToFileURL(fs.basePath + '/'), {
    importer: (filePath: string) => import(filePath === 'rownd-adonis' ? PACKAGE_ENTRY : filePath),
  })
  await ace.app.init()
  ace.ui.switchMode('raw')
  const command = await ace.create(Configure, ['rownd-adonis', ...args])
  await command.exec()
  const logs = ace.ui.logger.getLogs().map((log) => log.message)
  return { command, logs, output: logs.join('\n') }
}

/** Names of the files in a fixture folder (empty when it does not exist) */
export async function listFiles(fs: FileSystem, folder: string) {
  if (!(await fs.exists(folder))) return []
  const entries = await fs.readDir(folder)
  return entries.map((entry) => entry.path).sort()
}

/** Contents of every file the hook may write or edit, to compare runs */
export async function snapshot(fs: FileSystem) {
  const files = [
    'adonisrc.ts',
    'config/rownd.ts',
    'config/auth.ts',
    'start/env.ts',
    'start/kernel.ts',
    'start/rownd.ts',
    '.env',
    '.env.example',
  ]
  const result: Record<string, string | null> = {}
  for (const file of files) result[file] = (await fs.exists(file)) ? await fs.contents(file) : null
  for (const file of await listFiles(fs, 'database/migrations')) {
    result[`database/migrations/${file}`] = await fs.contents(`database/migrations/${file}`)
  }
  return result
}
