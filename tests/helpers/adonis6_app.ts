/**
 * Harness for the AdonisJS 6 fixture (tests/fixtures/adonis6/web): the web
 * starter kit of AdonisJS 6 as users have it, run on the machine's system
 * Node 20 with its own dependencies.
 *
 * - `systemNode()` finds Node 20 outside any node_modules/.bin (npm scripts
 *   put this checkout's Node 24 first on PATH) and the npm that ships with it.
 * - `fixtureModules()` installs the fixture's lockfile with `npm ci
 *   --ignore-scripts` (no install script runs, so nothing can download a
 *   binary), then compiles the node-gyp addons (better-sqlite3 12) from
 *   source against that Node's own headers, in a network namespace with no
 *   network when `unshare` allows it. Cached in $TMPDIR/rownd-adonis-adonis6
 *   (ADONIS6_CACHE) by the hash of package.json, the lockfile and the Node
 *   version.
 * - `prepareAdonis6Base()` copies the fixture and those modules to a temp
 *   dir and runs `npm install <rownd-adonis tarball>` there, as a user would:
 *   npm checks the peer ranges and engines against AdonisJS 6 and Node 20.
 * - `createAdonis6App()` copies that base for one test group: `node ace`,
 *   `bin/server.js` and HTTP, all on Node 20; SQLite, or PostgreSQL in a
 *   database of its own (DB_CONNECTION=pg).
 *
 * The tests themselves run on Node 24 and talk to the app over HTTP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { accessSync, constants, existsSync, realpathSync, rmSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import knex, { type Knex } from 'knex'
import { freePort, PACKAGE_ROOT, run, setEnvLines, type RunResult } from './kit_app.ts'

export const ADONIS6_FIXTURE = join(PACKAGE_ROOT, 'tests/fixtures/adonis6/web')
/**
 * Where installs are cached: outside this checkout, because npm puts the
 * node_modules/.bin of every parent directory on the PATH of the scripts
 * it runs, and this checkout's holds Node 24
 */
const CACHE_ROOT = process.env.ADONIS6_CACHE ?? join(tmpdir(), 'rownd-adonis-adonis6')

/** Fixed so cookies and sessions are reproducible across runs */
export const ADONIS6_APP_KEY = 'adonis6-fixture-app-key-0123456789'

export type Adonis6Db = 'sqlite' | 'pg'

/** DB_CONNECTION of the lane: sqlite (default) or pg */
export function adonis6Db(): Adonis6Db {
  const kind = process.env.DB_CONNECTION ?? 'sqlite'
  if (kind !== 'sqlite' && kind !== 'pg') throw new Error(`adonis6 lane: unknown DB ${kind}`)
  return kind
}

export interface SystemNode {
  /** Absolute path of the node binary */
  node: string
  /** npm's CLI script of that Node (run as `node npm-cli.js`) */
  npmCli: string
  /** process.version of that node, e.g. v20.20.2 */
  version: string
}

function isExecutable(path: string) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** PATH without this checkout's (or any) node_modules/.bin */
function systemPath() {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !dir.split(/[/\\]/).includes('node_modules'))
}

let cachedSystemNode: SystemNode | undefined

/**
 * The system Node 20 (ADONIS6_NODE, or the first `node` on PATH outside
 * node_modules) and its npm. Throws unless it is Node 20.6 or later 20.x.
 */
export function systemNode(): SystemNode {
  if (cachedSystemNode) return cachedSystemNode
  const candidates = process.env.ADONIS6_NODE
    ? [process.env.ADONIS6_NODE]
    : systemPath().map((dir) => join(dir, 'node'))
  const ours = realpathSync(process.execPath)
  const node = candidates.find(
    (path) => existsSync(path) && isExecutable(path) && realpathSync(path) !== ours
  )
  if (!node) throw new Error('adonis6 lane: no system node on PATH (set ADONIS6_NODE)')
  const version = spawnSync(node, ['-p', 'process.version'], { encoding: 'utf-8' }).stdout.trim()
  const [major, minor] = version.slice(1).split('.').map(Number)
  if (major !== 20 || minor < 6) {
    throw new Error(`adonis6 lane: ${node} is ${version}, the lane needs Node 20.6+ (20.x)`)
  }
  const npmCandidates = [
    ...systemPath().map((dir) => join(dir, 'npm')),
    join(dirname(node), '../lib/node_modules/npm/bin/npm-cli.js'),
  ]
  const npmCli = npmCandidates
    .filter((path) => existsSync(path))
    .map((path) => realpathSync(path))
    .find((path) => path.endsWith('npm-cli.js'))
  if (!npmCli) throw new Error(`adonis6 lane: cannot find the npm of ${node}`)
  cachedSystemNode = { node, npmCli, version }
  return cachedSystemNode
}

/**
 * Environment of every Node 20 process: no npm_* variables of the npm
 * script running the tests (they describe this checkout), no NODE_OPTIONS,
 * the system Node's directory first on PATH (scripts that call `node` get 20)
 */
export function node20Env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE_OPTIONS' || key === 'INIT_CWD') continue
    env[key] = value
  }
  env.PATH = [dirname(systemNode().node), ...systemPath()].join(delimiter)
  env.NO_COLOR = '1'
  env.FORCE_COLOR = '0'
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

/** `npm <args>` of the system Node */
export function npm20(
  args: string[],
  cwd: string,
  env?: Record<string, string>,
  timeout = 600_000
) {
  const { node, npmCli } = systemNode()
  return run(node, [npmCli, ...args], { cwd, env: node20Env(env), timeout })
}

/** What the cached install did, as written to its meta.json */
export interface ModulesMeta {
  node: string
  nodeVersion: string
  /** Packages compiled by node-gyp (they have a binding.gyp) */
  builtFromSource: string[]
  /** Headers the addons were compiled against (npm's nodedir) */
  nodedir: string
  /** The compile ran in a network namespace without network (`unshare --net`) */
  networkIsolated: boolean
  ciSeconds: number
  buildSeconds: number
}

export interface FixtureModules {
  /** Directory holding node_modules, build.log and meta.json */
  dir: string
  meta: ModulesMeta
}

function headersDir(node: string) {
  // <prefix>/bin/node → <prefix>/include/node/node.h
  const prefix = dirname(dirname(realpathSync(node)))
  if (!existsSync(join(prefix, 'include/node/node.h'))) {
    throw new Error(
      `adonis6 lane: no Node headers under ${prefix}/include/node (install the headers of the system Node; nothing may download them)`
    )
  }
  return prefix
}

function canIsolateNetwork() {
  return spawnSync('unshare', ['--net', 'true']).status === 0
}

let modulesPromise: Promise<FixtureModules> | undefined

/**
 * The fixture's node_modules for the system Node, installed once per
 * lockfile: `npm ci --ignore-scripts` (so no install script runs:
 * better-sqlite3's prebuild-install never gets to download a binary), then
 * `node-gyp rebuild --release` of each node-gyp addon (a package with an
 * install script and a binding.gyp) on the system Node, against its own
 * headers (`--nodedir`: node-gyp downloads none), without network when
 * `unshare --net` is allowed. Loading the addon under that Node proves it.
 */
export function fixtureModules(): Promise<FixtureModules> {
  modulesPromise ??= (async () => {
    const sys = systemNode()
    const hash = createHash('sha256')
    for (const file of ['package.json', 'package-lock.json']) {
      hash.update(await readFile(join(ADONIS6_FIXTURE, file)))
    }
    hash.update(`${sys.version} ${process.platform} ${process.arch}`)
    const key = hash.digest('hex').slice(0, 16)
    const dir = join(CACHE_ROOT, `modules-${key}`)
    if (existsSync(join(dir, 'meta.json'))) {
      return { dir, meta: JSON.parse(await readFile(join(dir, 'meta.json'), 'utf-8')) }
    }

    const staging = `${dir}.${process.pid}`
    await rm(staging, { recursive: true, force: true })
    await mkdir(staging, { recursive: true })
    for (const file of ['package.json', 'package-lock.json']) {
      await cp(join(ADONIS6_FIXTURE, file), join(staging, file))
    }
    const log: string[] = []
    const step = async (name: string, result: Promise<RunResult>) => {
      const started = Date.now()
      const output = await result
      log.push(`$ ${name} (exit ${output.code})`, output.stdout, output.stderr)
      await writeFile(join(staging, 'build.log'), log.join('\n'))
      if (output.code !== 0) {
        throw new Error(`adonis6 lane: ${name} failed:\n${output.stdout}\n${output.stderr}`)
      }
      return (Date.now() - started) / 1000
    }

    const ciSeconds = await step(
      'npm ci --ignore-scripts',
      npm20(['ci', '--ignore-scripts', '--no-audit', '--no-fund'], staging)
    )

    // The node-gyp addons among the packages that have install scripts
    const lock = JSON.parse(await readFile(join(staging, 'package-lock.json'), 'utf-8'))
    const addons = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([path, entry]) => path && entry.hasInstallScript)
      .map(([path]) => path)
      .filter((path) => existsSync(join(staging, path, 'binding.gyp')))
      .map((path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))

    // node-gyp (the one bundled with this npm) compiles each addon against
    // the system Node's own headers, on that Node, with no network at all
    const nodedir = headersDir(sys.node)
    const nodeGyp = join(dirname(dirname(sys.npmCli)), 'node_modules/node-gyp/bin/node-gyp.js')
    const networkIsolated = canIsolateNetwork()
    let buildSeconds = 0
    for (const addon of addons) {
      const args = [nodeGyp, 'rebuild', '--release', `--nodedir=${nodedir}`]
      const options = {
        cwd: join(staging, 'node_modules', addon),
        env: node20Env({ npm_config_nodedir: nodedir }),
        timeout: 900_000,
      }
      buildSeconds += await step(
        `${networkIsolated ? 'unshare --net ' : ''}node-gyp rebuild --release --nodedir=${nodedir} (node_modules/${addon})`,
        networkIsolated
          ? run('unshare', ['--net', sys.node, ...args], options)
          : run(sys.node, args, options)
      )
    }

    for (const addon of addons) {
      await step(
        `load ${addon} under ${sys.version}`,
        run(sys.node, ['-e', `require(${JSON.stringify(addon)})`], {
          cwd: staging,
          env: node20Env(),
        })
      )
    }

    const meta: ModulesMeta = {
      node: sys.node,
      nodeVersion: sys.version,
      builtFromSource: addons,
      nodedir,
      networkIsolated,
      ciSeconds,
      buildSeconds,
    }
    await writeFile(join(staging, 'meta.json'), JSON.stringify(meta, null, 2))
    await rename(staging, dir).catch(() => rm(staging, { recursive: true, force: true }))
    // Installs of older lockfiles are dead weight (staging dirs, with a ".pid", are not)
    for (const entry of await readdir(CACHE_ROOT)) {
      if (/^modules-[\da-f]+$/.test(entry) && join(CACHE_ROOT, entry) !== dir) {
        await rm(join(CACHE_ROOT, entry), { recursive: true, force: true })
      }
    }
    return { dir, meta }
  })()
  return modulesPromise
}

/** A base app: the fixture with its modules and this package installed from the tarball */
export interface Adonis6Base {
  root: string
  /** Output of `npm install <tarball>` */
  install: RunResult
  modules: FixtureModules
}

/** `cp -a` (keeps symlinks and modes; much faster than fs.cp on node_modules) */
async function copyTree(from: string, to: string) {
  const result = await run('cp', ['-a', `${from}/.`, to], { cwd: PACKAGE_ROOT, timeout: 120_000 })
  if (result.code !== 0) throw new Error(`cp -a ${from} failed: ${result.stderr}`)
}

/**
 * Fixture + installed modules + `npm install <tarball>` in a temp dir: what
 * a user's app looks like after `npm i rownd-adonis`. Install scripts stay
 * off (rownd-adonis, jose and lru-cache have none; the addons are built).
 */
export async function prepareAdonis6Base(tarball: string): Promise<Adonis6Base> {
  const modules = await fixtureModules()
  const root = await mkdtemp(join(tmpdir(), 'rownd-a6-base-'))
  await cp(ADONIS6_FIXTURE, root, {
    recursive: true,
    filter: (source) => !/[/\\](tmp|node_modules|build)$/.test(source),
  })
  await mkdir(join(root, 'node_modules'))
  await copyTree(join(modules.dir, 'node_modules'), join(root, 'node_modules'))
  const install = await npm20(
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball],
    root
  )
  if (install.code !== 0) {
    throw new Error(`npm install of the tarball failed:\n${install.stdout}\n${install.stderr}`)
  }
  return { root, install, modules }
}

/*
 * PostgreSQL: a database per app, named after this process, so lanes and
 * engineers sharing the server never meet
 */
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' }
let pgCounter = 0

async function withPgAdmin<T>(work: (db: Knex) => Promise<T>): Promise<T> {
  const admin = knex({ client: 'pg', connection: { ...PG, database: 'postgres' } })
  try {
    return await work(admin)
  } finally {
    await admin.destroy()
  }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function createPgDatabase() {
  const name = `rownd_a6_${process.pid}_${++pgCounter}`
  await withPgAdmin(async (admin) => {
    // Databases left by lanes that died
    const { rows } = await admin.raw(
      `select datname from pg_database where datname like 'rownd\\_a6\\_%'`
    )
    for (const { datname } of rows as { datname: string }[]) {
      const pid = Number(/^rownd_a6_(\d+)_/.exec(datname)?.[1])
      if (pid && !isAlive(pid)) await admin.raw(`drop database if exists "${datname}"`)
    }
    await admin.raw(`drop database if exists "${name}"`)
    await admin.raw(`create database "${name}"`)
  })
  return name
}

async function dropPgDatabase(name: string) {
  await withPgAdmin((admin) => admin.raw(`drop database if exists "${name}" with (force)`))
}

export interface Adonis6AppOptions {
  /** Extra or replaced .env lines */
  env?: Record<string, string>
  db?: Adonis6Db
}

export interface Adonis6App {
  root: string
  db: Adonis6Db
  port: number
  /** http://127.0.0.1:<port> */
  baseUrl: string
  /** The PostgreSQL database of this app (pg only) */
  pgDatabase?: string
  /** `node ace <args>` on Node 20, stdin closed, no colours; `env` overrides .env */
  ace(args: string[], env?: Record<string, string>): Promise<RunResult>
  /** Any command with the app's Node 20 environment (cwd: the app) */
  exec(command: string, args: string[], env?: Record<string, string>): Promise<RunResult>
  /** Starts bin/server.js on Node 20 and resolves with its base URL once it answers HTTP */
  start(env?: Record<string, string>): Promise<string>
  /** The running server process */
  readonly process: ChildProcess | undefined
  /** Output lines of the running (or last) server */
  readonly output: string[]
  logs(): string
  stop(): Promise<void>
  /** Stops the server, closes db(), drops the pg database, deletes the directory */
  destroy(): Promise<void>
  readFile(path: string): Promise<string>
  writeFile(path: string, contents: string): Promise<void>
  /** Knex on the app's database (from the test process, Node 24) */
  knex(): Knex
}

function parseEnvKeys(contents: string) {
  return contents
    .split('\n')
    .map((line) => /^\s*([A-Z_][\w]*)\s*=/i.exec(line)?.[1])
    .filter((key): key is string => !!key)
}

/**
 * A copy of the base app for one test group: .env from .env.example with a
 * fixed APP_KEY, HOST=127.0.0.1 and a free port. With pg, Lucid is set up
 * for PostgreSQL the way `npm init adonisjs -- -K=web --db=postgres` does
 * (`node ace configure @adonisjs/lucid --db=postgres`), on a new database.
 * rownd-adonis is installed, not configured.
 */
export async function createAdonis6App(
  base: Adonis6Base,
  options: Adonis6AppOptions = {}
): Promise<Adonis6App> {
  const sys = systemNode()
  const db = options.db ?? adonis6Db()
  const root = await mkdtemp(join(tmpdir(), 'rownd-a6-app-'))
  await copyTree(base.root, root)
  await mkdir(join(root, 'tmp'), { recursive: true })

  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const example = await readFile(join(root, '.env.example'), 'utf-8')
  const envFile = join(root, '.env')
  await writeFile(
    envFile,
    setEnvLines(example, { APP_KEY: ADONIS6_APP_KEY, HOST: '127.0.0.1', PORT: String(port) })
  )

  let server: ChildProcess | undefined
  let output: string[] = []
  let database: Knex | undefined
  let pgDatabase: string | undefined

  /** Environment minus what .env sets (AdonisJS lets process.env win), plus overrides */
  const childEnv = async (overrides: Record<string, string> = {}) => {
    const env = node20Env()
    for (const key of parseEnvKeys(await readFile(envFile, 'utf-8'))) delete env[key]
    return { ...env, ...overrides }
  }

  const stop = async () => {
    const child = server
    server = undefined
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  /**
   * A group whose setup failed may never destroy its app: its Node 20
   * server must not outlive this process, nor its copy of the app
   */
  const cleanUpAtExit = () => {
    if (server && server.exitCode === null) server.kill('SIGKILL')
    rmSync(root, { recursive: true, force: true })
  }
  process.once('exit', cleanUpAtExit)

  const app: Adonis6App = {
    root,
    db,
    port,
    baseUrl,
    get pgDatabase() {
      return pgDatabase
    },
    get process() {
      return server
    },
    get output() {
      return output
    },

    async ace(args, env) {
      return run(sys.node, ['ace', ...args], {
        cwd: root,
        env: await childEnv(env),
        timeout: 120_000,
      })
    },

    async exec(command, args, env) {
      return run(command, args, { cwd: root, env: await childEnv(env), timeout: 120_000 })
    },

    async start(env) {
      if (server) throw new Error('adonis6 app already started')
      output = []
      // What `node ace serve` runs (assembler 7), without the file watcher
      const child = spawn(
        sys.node,
        ['--import=ts-node-maintained/register/esm', '--enable-source-maps', 'bin/server.js'],
        { cwd: root, env: await childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }
      )
      server = child
      const lines = output
      let partial = ''
      const onData = (chunk: Buffer) => {
        const text = partial + chunk.toString()
        const parts = text.split('\n')
        partial = parts.pop()!
        lines.push(...parts)
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)

      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        if (child.exitCode !== null) {
          server = undefined
          throw new Error(`adonis6 app exited early:\n${app.logs()}`)
        }
        try {
          // Any HTTP answer will do: the app is up
          await fetch(`${baseUrl}/favicon.ico`, { redirect: 'manual' })
          return baseUrl
        } catch {}
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      await stop()
      throw new Error(`adonis6 app did not answer within 60 s:\n${app.logs()}`)
    },

    stop,

    logs: () => output.join('\n'),

    async destroy() {
      await stop()
      await database?.destroy()
      database = undefined
      if (pgDatabase) await dropPgDatabase(pgDatabase)
      await rm(root, { recursive: true, force: true })
      process.off('exit', cleanUpAtExit)
    },

    readFile: (path) => readFile(join(root, path), 'utf-8'),

    async writeFile(path, contents) {
      await mkdir(dirname(join(root, path)), { recursive: true })
      await writeFile(join(root, path), contents)
    },

    knex() {
      database ??= knex(
        db === 'pg'
          ? { client: 'pg', connection: { ...PG, database: pgDatabase } }
          : {
              client: 'better-sqlite3',
              connection: { filename: join(root, 'tmp/db.sqlite3') },
              useNullAsDefault: true,
            }
      )
      return database
    },
  }

  if (db === 'pg') {
    const lucid = await app.ace([
      'configure',
      '@adonisjs/lucid',
      '--db=postgres',
      '--no-install',
      '--force',
    ])
    if (lucid.code !== 0) {
      await app.destroy()
      throw new Error(
        `configure @adonisjs/lucid --db=postgres failed:\n${lucid.stdout}${lucid.stderr}`
      )
    }
    pgDatabase = await createPgDatabase()
    await app.writeFile(
      '.env',
      setEnvLines(await app.readFile('.env'), {
        DB_HOST: PG.host,
        DB_PORT: String(PG.port),
        DB_USER: PG.user,
        DB_PASSWORD: '',
        DB_DATABASE: pgDatabase,
      })
    )
  }
  if (options.env) await app.writeFile('.env', setEnvLines(await app.readFile('.env'), options.env))
  return app
}

/** File in a base app that describes it to the lane's child runs */
const BASE_INFO = '.rownd-a6-base.json'

/** Writes the base's description into it, for `adonis6Base()` in child runs */
export async function describeBase(base: Adonis6Base) {
  await writeFile(join(base.root, BASE_INFO), JSON.stringify(base))
}

let basePromise: Promise<Adonis6Base> | undefined

/**
 * The lane's base app: the one bin/test_adonis6.ts prepared (ADONIS6_BASE),
 * or, when a spec runs on its own, one prepared here from a fresh tarball
 * and removed at exit
 */
export function adonis6Base(): Promise<Adonis6Base> {
  basePromise ??= (async () => {
    if (process.env.ADONIS6_BASE) {
      return JSON.parse(await readFile(join(process.env.ADONIS6_BASE, BASE_INFO), 'utf-8'))
    }
    const { packTarball } = await import('./kit_app.ts')
    const base = await prepareAdonis6Base(await packTarball())
    process.once('exit', () => rmSync(base.root, { recursive: true, force: true }))
    return base
  })()
  return basePromise
}
