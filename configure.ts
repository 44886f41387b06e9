import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type Configure from '@adonisjs/core/commands/configure'
import type { CallExpression, ObjectLiteralExpression, PropertyAssignment } from 'ts-morph'
import { stubsRoot } from './stubs/main.ts'

/** Provider, middleware and preload paths written into the host app */
const PROVIDER = 'rownd-adonis/rownd_provider'
const MIDDLEWARE = 'rownd-adonis/rownd_middleware'
const PRELOAD = '#start/rownd'
const DEFAULT_API_URL = 'https://api.rownd.io'

/** The guard added to `config/auth.ts` (or printed when it cannot be added safely) */
const GUARD_IMPORT = `import { rowndGuard, rowndUserProvider } from 'rownd-adonis'`
/** The guard as a formatted, multi-line property */
function guardSnippet(useSession: boolean, indent: string) {
  return [
    `${indent}rownd: rowndGuard({`,
    ...(useSession ? [] : [`${indent}  useSession: false,`]),
    `${indent}  provider: rowndUserProvider({`,
    `${indent}    model: () => import('#models/user'),`,
    `${indent}  }),`,
    `${indent}})`,
  ].join('\n')
}

function guardEntry(useSession: boolean) {
  const provider = `provider: rowndUserProvider({ model: () => import('#models/user') })`
  return useSession
    ? `rownd: rowndGuard({ ${provider} })`
    : `rownd: rowndGuard({ ${provider}, useSession: false })`
}

/** Options of the hook, all settable with flags so it runs without a TTY */
interface ConfigureOptions {
  apiOnly: boolean
  table: string
  createTable: boolean
  force: boolean
  appKey?: string
  appSecret?: string
  apiUrl?: string
}

/** What the host app has, read before anything is written */
interface AppFacts {
  dependencies: Set<string>
  rcFile: string
  hasSession: boolean
  hasEdge: boolean
  hasLucid: boolean
  hasAuthInitializeMiddleware: boolean
}

function flag(flags: Record<string, unknown>, name: string): unknown {
  const camel = name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
  return flags[name] ?? flags[camel]
}

function stringFlag(flags: Record<string, unknown>, name: string): string | undefined {
  const value = flag(flags, name)
  if (value === undefined || value === null || typeof value === 'boolean') return undefined
  return String(value)
}

function booleanFlag(flags: Record<string, unknown>, name: string): boolean {
  const value = flag(flags, name)
  return value === true || value === 'true' || value === ''
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf-8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Env keys already present in a dotenv file */
function envKeys(contents: string | undefined): Set<string> {
  const keys = new Set<string>()
  for (const line of (contents ?? '').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)
    if (match) keys.add(match[1])
  }
  return keys
}

/**
 * Reads the host app and refuses to go on (before writing anything) when
 * a prerequisite is missing. Returns the facts, or an error message.
 */
async function inspectApp(
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
  return {
    dependencies,
    rcFile,
    hasSession: !options.apiOnly && hasSessionPackage,
    hasEdge:
      dependencies.has('edge.js') || rcFile.includes('@adonisjs/core/providers/edge_provider'),
    hasLucid: dependencies.has('@adonisjs/lucid'),
    hasAuthInitializeMiddleware: kernel.includes('@adonisjs/auth/initialize_auth_middleware'),
  }
}

/** Migration files of the app with their contents */
async function readMigrations(folder: string) {
  let names: string[]
  try {
    names = await readdir(folder)
  } catch {
    return []
  }
  const files: { name: string; contents: string }[] = []
  for (const name of names.sort()) {
    if (!/\.(ts|js|mjs|cjs|mts)$/.test(name) || name.endsWith('.d.ts')) continue
    files.push({ name, contents: await readFile(join(folder, name), 'utf-8') })
  }
  return files
}

/** True when a migration mentions the table by name (tableName or a direct call) */
function mentionsTable(contents: string, table: string) {
  return contents.includes(`'${table}'`) || contents.includes(`"${table}"`)
}

/**
 * Writes the migration: an `alterTable` adding `rownd_user_id`, or a full
 * create-table when asked or when no migration creates the table yet.
 * Skips when a migration already adds the column (or overwrites that same
 * file with --force), so running twice never adds a second migration.
 */
async function writeMigration(
  command: Configure,
  codemods: Awaited<ReturnType<Configure['createCodemods']>>,
  options: ConfigureOptions,
  done: string[]
) {
  const folder = 'database/migrations'
  const migrations = await readMigrations(command.app.makePath(folder))
  const existing = migrations.find(
    (file) => file.contents.includes('rownd_user_id') && mentionsTable(file.contents, options.table)
  )
  if (existing && !options.force) {
    command.logger
      .action(`create ${folder}/${existing.name}`)
      .skipped(`a migration already adds rownd_user_id to "${options.table}"`)
    return
  }

  const createsTable = migrations.some(
    (file) =>
      file !== existing &&
      /createTable(IfNotExists)?\(/.test(file.contents) &&
      mentionsTable(file.contents, options.table)
  )
  // --force rewrites an existing migration in its own variant, under its own name
  const create = existing
    ? /createTable(IfNotExists)?\(/.test(existing.contents)
    : options.createTable || !createsTable
  const fileName =
    existing?.name ??
    (create
      ? `${Date.now()}_create_${options.table}_table.ts`
      : `${Date.now()}_add_rownd_user_id_to_${options.table}_table.ts`)

  const stub = create
    ? 'make/migration/create_users_table.stub'
    : 'make/migration/add_rownd_user_id.stub'
  const result = await codemods.makeUsingStub(stubsRoot, stub, {
    migration: { folder, fileName, tableName: options.table },
  })
  if (result.status !== 'skipped') {
    done.push(
      create
        ? `migration creating the "${options.table}" table with rownd_user_id (${folder}/${fileName})`
        : `migration adding rownd_user_id to "${options.table}" (${folder}/${fileName})`
    )
  }
}

/**
 * Adds the `rownd` guard to `config/auth.ts` when the file has the usual
 * `defineConfig({ guards: { ... } })` shape. Returns false when it could
 * not do so safely (the caller prints the lines to paste).
 */
async function addGuard(
  command: Configure,
  codemods: Awaited<ReturnType<Configure['createCodemods']>>,
  useSession: boolean
): Promise<'added' | 'exists' | 'manual'> {
  const authPath = command.app.configPath('auth.ts')
  const source = await readOptional(authPath)
  if (source === undefined) return 'manual'
  if (/\browndGuard\s*\(/.test(source)) return 'exists'

  const project = await codemods.getTsMorphProject()
  if (!project) return 'manual'
  const file = project.getSourceFile(authPath) ?? project.addSourceFileAtPath(authPath)
  // Work on what is on disk, not a copy ts-morph loaded earlier
  await file.refreshFromFileSystem()

  /**
   * Kinds are compared by name: ts-morph comes with the app's
   * @adonisjs/assembler and is not a dependency of this package.
   */
  const call = file
    .getDescendants()
    .find(
      (node): node is CallExpression =>
        node.getKindName() === 'CallExpression' &&
        (node as CallExpression).getExpression().getText() === 'defineConfig'
    )
  const config = call?.getArguments()[0]
  if (config?.getKindName() !== 'ObjectLiteralExpression') return 'manual'
  const guards = (config as ObjectLiteralExpression).getProperty('guards')
  if (guards?.getKindName() !== 'PropertyAssignment') return 'manual'
  const guardsObject = (guards as PropertyAssignment).getInitializer()
  if (guardsObject?.getKindName() !== 'ObjectLiteralExpression') return 'manual'
  if ((guardsObject as ObjectLiteralExpression).getProperty('rownd')) return 'exists'

  /**
   * Edits are made as text at AST positions, so the rest of the file keeps
   * its formatting: the new guard follows the indentation of its siblings.
   */
  const guardsLiteral = guardsObject as ObjectLiteralExpression
  const text = file.getFullText()
  const edits: { at: number; insert: string }[] = []
  const properties = guardsLiteral.getProperties()
  const closeBrace = guardsLiteral.getEnd() - 1
  const lineIndent = (position: number) => {
    const lineStart = text.lastIndexOf('\n', position - 1) + 1
    return /^[ \t]*/.exec(text.slice(lineStart))![0]
  }
  if (properties.length) {
    const last = properties.at(-1)!
    const indent = lineIndent(properties[0].getStart())
    const after = text.slice(last.getEnd(), closeBrace)
    const comma = /^\s*,/.exec(after)
    edits.push({
      at: comma ? last.getEnd() + comma[0].length : last.getEnd(),
      insert: `${comma ? '' : ','}\n${guardSnippet(useSession, indent)},`,
    })
  } else {
    const indent = lineIndent(guardsLiteral.getStart())
    edits.push({
      at: closeBrace,
      insert: `\n${guardSnippet(useSession, `${indent}  `)},\n${indent}`,
    })
  }

  const existingImport = file
    .getImportDeclarations()
    .find(
      (declaration) =>
        declaration.getModuleSpecifierValue() === 'rownd-adonis' && !declaration.isTypeOnly()
    )
  const imported = new Set(existingImport?.getNamedImports().map((named) => named.getName()))
  const missing = ['rowndGuard', 'rowndUserProvider'].filter((name) => !imported.has(name))
  if (missing.length) {
    const lastImport = file.getImportDeclarations().at(-1)
    const line = `import { ${missing.join(', ')} } from 'rownd-adonis'`
    edits.push(
      lastImport ? { at: lastImport.getEnd(), insert: `\n${line}` } : { at: 0, insert: `${line}\n` }
    )
  }

  let updated = text
  for (const edit of edits.sort((left, right) => right.at - left.at)) {
    updated = updated.slice(0, edit.at) + edit.insert + updated.slice(edit.at)
  }
  await writeFile(authPath, updated)
  await file.refreshFromFileSystem()
  return 'added'
}

/**
 * `node ace configure rownd-adonis`
 *
 * Flags (every prompt-free, so it runs in CI):
 * - `--api-only`: no session routes (bearer tokens only)
 * - `--table=<name>`: the users table (default `users`)
 * - `--create-table`: write a migration creating the table
 * - `--app-key`, `--app-secret`, `--api-url`: values written to `.env`
 * - `--force`: overwrite files this command writes
 */
export async function configure(command: Configure) {
  const flags = command.parsedFlags as Record<string, unknown>
  const options: ConfigureOptions = {
    apiOnly: booleanFlag(flags, 'api-only'),
    table: stringFlag(flags, 'table') ?? 'users',
    createTable: booleanFlag(flags, 'create-table'),
    force: command.force === true || booleanFlag(flags, 'force'),
    appKey: stringFlag(flags, 'app-key'),
    appSecret: stringFlag(flags, 'app-secret'),
    apiUrl: stringFlag(flags, 'api-url'),
  }

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

  /**
   * Provider, and the session routes as a preload
   */
  await codemods.updateRcFile((rcFile) => {
    rcFile.addProvider(PROVIDER)
    if (facts.hasSession) rcFile.addPreloadFile(PRELOAD)
  })
  if (!facts.rcFile.includes(`'${PROVIDER}'`)) done.push(`provider ${PROVIDER} in adonisrc.ts`)
  if (facts.hasSession && !facts.rcFile.includes(`'${PRELOAD}'`)) {
    done.push(`preload ${PRELOAD} in adonisrc.ts`)
  }

  /**
   * Config file
   */
  const config = await codemods.makeUsingStub(stubsRoot, 'config/rownd.stub', {})
  if (config.status !== 'skipped') done.push('config/rownd.ts')

  /**
   * Env variables: only the missing ones, so a second run (or --force)
   * never wipes credentials already set. Values given as flags win.
   */
  const present = envKeys(await readOptional(command.app.makePath('.env')))
  const wanted: Record<string, string> = {
    ROWND_APP_KEY: options.appKey ?? '',
    ROWND_APP_SECRET: options.appSecret ?? '',
    ROWND_API_URL: options.apiUrl ?? DEFAULT_API_URL,
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
    (await readOptional(command.app.makePath('.env'))) !== undefined ||
    (await readOptional(command.app.makePath('.env.example'))) !== undefined
  if (!hasEnvFile) {
    todo.push('Create a .env file with ROWND_APP_KEY, ROWND_APP_SECRET and ROWND_API_URL')
  } else if (Object.keys(variables).length) {
    await codemods.defineEnvVariables(variables, { omitFromExample: ['ROWND_APP_SECRET'] })
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
    },
  })

  /**
   * Named middleware for routes and groups: middleware.rownd()
   */
  await codemods.registerMiddleware('named', [{ name: 'rownd', path: MIDDLEWARE }])
  if (!facts.hasAuthInitializeMiddleware) {
    todo.push(
      `Add () => import('@adonisjs/auth/initialize_auth_middleware') to router.use([...]) in start/kernel.ts`
    )
  }

  /**
   * Session routes (traditional apps)
   */
  if (facts.hasSession) {
    const routes = await codemods.makeUsingStub(stubsRoot, 'start/rownd.stub', {})
    if (routes.status !== 'skipped')
      done.push('start/rownd.ts (POST /rownd/session_authenticate, /rownd/session_sign_out)')
  }

  /**
   * Migration
   */
  if (facts.hasLucid) {
    await writeMigration(command, codemods, options, done)
  } else {
    todo.push(
      `Add a nullable, unique rownd_user_id column to your "${options.table}" table (@adonisjs/lucid is not installed, so no migration was written)`
    )
  }

  /**
   * Guard
   */
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

  /**
   * Summary
   */
  if (failures.length) {
    command.exitCode = 1
    command.logger.error(
      `rownd-adonis could not finish:\n${failures.map((m) => `  - ${m}`).join('\n')}`
    )
  }
  if (!facts.hasSession) {
    command.logger.info(
      options.apiOnly
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
  if (facts.hasLucid) todo.push('Run "node ace migration:run"')
  const userModel = await readOptional(command.app.makePath('app/models/user.ts'))
  if (!userModel?.includes('rowndUserId')) {
    todo.push(
      'Give app/models/user.ts the Rownd id column: @column() declare rowndUserId: string | null'
    )
  }
  todo.push("Protect routes with middleware.rownd(), or use auth.use('rownd')")
  if (facts.hasEdge && facts.hasSession) {
    todo.push(
      'Add @rowndHub() inside <head> of your Edge layout: it renders the Rownd Hub wired to the session routes'
    )
  }

  command.logger.log('')
  command.logger.log('rownd-adonis: done')
  for (const line of done) command.logger.log(`  - ${line}`)
  command.logger.log('rownd-adonis: left to do')
  todo.forEach((line, index) => command.logger.log(`  ${index + 1}. ${line}`))
}
