/**
 * Harness for the starter-kit fixtures (tests/fixtures/kits/*): each test
 * group gets a fresh copy of one kit in a temp dir, with this package
 * installed from its npm tarball, and drives it as a user would: `node ace
 * ...` without a TTY, `bin/server.ts` on a free loopback port, plain HTTP.
 *
 * Everything is offline: node_modules entries are symlinks to this
 * checkout's, the Inertia frontend is built with the installed Vite.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile as fsReadFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile as fsWriteFile,
} from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import knex, { type Knex } from 'knex'
import { CookieJar } from './http.ts'

export type KitName = 'hypermedia' | 'inertia_react' | 'api'

export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const KITS_ROOT = join(PACKAGE_ROOT, 'tests/fixtures/kits')

/** Node 24 (the one running the tests; the system node is too old for this stack) */
const NODE = process.execPath

/** Fixed so cookies and sessions are reproducible across runs */
export const KIT_APP_KEY = 'kit-fixture-app-key-0123456789abcdef'

export interface RunResult {
  code: number | null
  /** Output with ANSI colour codes removed */
  stdout: string
  stderr: string
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[\d;?]*[\dA-Za-z]/g

/** Runs a command to completion: stdin closed (no TTY, no prompts), no colours */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: stdout.replace(ANSI, ''), stderr: stderr.replace(ANSI, '') })
    })
  })
}

/** A loopback port nothing listens on right now */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Sets or replaces KEY=value lines in dotenv text */
export function setEnvLines(contents: string, values: Record<string, string>) {
  for (const [key, value] of Object.entries(values)) {
    const line = `${key}=${value}`
    const pattern = new RegExp(`^${key}=.*$`, 'm')
    contents = pattern.test(contents) ? contents.replace(pattern, line) : `${contents}\n${line}\n`
  }
  return contents
}

function parseEnvKeys(contents: string) {
  return contents
    .split('\n')
    .map((line) => /^\s*([A-Z_][\w]*)\s*=/i.exec(line)?.[1])
    .filter((key): key is string => !!key)
}

let tarball: Promise<string> | undefined

/**
 * `npm pack` of this package (its prepack script builds it), once per test
 * process: every kit app installs the same tarball. Removed at exit.
 */
export function packTarball(): Promise<string> {
  tarball ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rownd-kits-pack-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: PACKAGE_ROOT,
      timeout: 180_000,
    })
    if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stdout}\n${pack.stderr}`)
    const [{ filename }] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))
    return join(dir, filename)
  })()
  return tarball
}

/**
 * Files that decide an Inertia app's frontend bundle, and the versions of
 * the packages that build it: a change to either means a new build
 */
async function assetsHash(root: string) {
  const hash = createHash('sha256')
  const walk = async (path: string): Promise<void> => {
    if (!existsSync(path)) return
    if ((await stat(path)).isDirectory()) {
      for (const entry of (await readdir(path)).sort()) await walk(join(path, entry))
      return
    }
    hash
      .update(relative(root, path))
      .update('\0')
      .update(await fsReadFile(path))
  }
  for (const entry of ['inertia', '.adonisjs/client', 'vite.config.ts', 'package.json']) {
    await walk(join(root, entry))
  }
  for (const name of [
    'vite',
    '@vitejs/plugin-react',
    '@adonisjs/vite',
    '@adonisjs/inertia',
    '@inertiajs/react',
    '@rownd/react',
    '@tuyau/core',
    'react',
    'react-dom',
    'sonner',
  ]) {
    const manifest = join(PACKAGE_ROOT, 'node_modules', name, 'package.json')
    hash.update(`${name}@${JSON.parse(await fsReadFile(manifest, 'utf-8')).version}\n`)
  }
  return hash.digest('hex').slice(0, 16)
}

/**
 * `vite build` of an Inertia app's frontend into public/assets (with its
 * manifest), cached under tmp/kit-assets/<label>-<hash> by content hash
 * (the kit as shipped and an app built from it keep separate entries). The
 * kit's vite.config.ts is used as shipped; its Inertia plugin points the
 * output at build/public/assets (for `node ace build`), so the result is
 * moved to public/assets, where config/vite.ts reads it when running from
 * source.
 */
async function buildFrontend(root: string, label: string) {
  const cacheDir = join(PACKAGE_ROOT, 'tmp/kit-assets')
  const cached = join(cacheDir, `${label}-${await assetsHash(root)}`)
  const target = join(root, 'public/assets')
  if (!existsSync(cached)) {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }
    delete env.NODE_ENV
    const args = ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn']
    const build = await run(NODE, args, { cwd: root, env, timeout: 120_000 })
    if (build.code !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`)
    const staging = `${cached}.${process.pid}`
    await mkdir(cacheDir, { recursive: true })
    await cp(join(root, 'build/public/assets'), staging, { recursive: true })
    await rename(staging, cached).catch(() => rm(staging, { recursive: true, force: true }))
    await rm(join(root, 'build'), { recursive: true, force: true })
    // Older builds under this label are dead weight (staging dirs, with a ".pid", are not)
    for (const entry of await readdir(cacheDir)) {
      const older =
        entry.startsWith(`${label}-`) && /^[\da-f]{16}$/.test(entry.slice(label.length + 1))
      if (older && join(cacheDir, entry) !== cached) {
        await rm(join(cacheDir, entry), { recursive: true, force: true })
      }
    }
  }
  await rm(target, { recursive: true, force: true })
  await cp(cached, target, { recursive: true })
}

export interface KitAppOptions {
  /** Install this package's tarball into node_modules/rownd-adonis (default: packTarball()) */
  tarball?: string | false
  /** Extra or replaced .env lines */
  env?: Record<string, string>
  /** Build the Inertia frontend (default true; the other kits ship their assets) */
  buildAssets?: boolean
  /** Port the app listens on (default: a free one) */
  port?: number
}

export interface KitApp {
  kit: KitName
  /** The app's temp directory */
  root: string
  port: number
  /** http://127.0.0.1:<port> */
  baseUrl: string
  /** `node ace <args>`, stdin closed, no colours; `env` overrides the app's .env */
  ace(args: string[], env?: Record<string, string>): Promise<RunResult>
  /**
   * Builds the Inertia frontend as the app's files stand now (after edits
   * to inertia/), cached under `label` (default: the kit's name)
   */
  buildAssets(label?: string): Promise<void>
  /** Starts bin/server.ts and resolves with its base URL once it answers HTTP */
  start(env?: Record<string, string>): Promise<string>
  /** Stops the server (if running); the app can be started again */
  stop(): Promise<void>
  /** Stops the server, closes db(), deletes the temp directory */
  destroy(): Promise<void>
  /** Everything the running (or last) server wrote to stdout and stderr */
  logs(): string
  readFile(path: string): Promise<string>
  writeFile(path: string, contents: string): Promise<void>
  /** Knex on the app's SQLite file (tmp/db.sqlite3), opened on first use */
  db(): Knex
}

/**
 * A fresh copy of one kit fixture, ready for `ace(['migration:run'])` and
 * `start()`: node_modules symlinked from this checkout, the package tarball
 * extracted into node_modules/rownd-adonis (not configured), a .env from
 * .env.example with a fixed APP_KEY, HOST=127.0.0.1 and a free port, tmp/
 * for the SQLite file, and for inertia_react a built frontend.
 */
export async function createKitApp(kit: KitName, options: KitAppOptions = {}): Promise<KitApp> {
  const root = await mkdtemp(join(tmpdir(), `rownd-kit-${kit}-`))
  await cp(join(KITS_ROOT, kit), root, {
    recursive: true,
    filter: (source) => !/[/\\](tmp|node_modules|build)$/.test(source),
  })

  const modules = join(root, 'node_modules')
  await mkdir(modules)
  for (const entry of await readdir(join(PACKAGE_ROOT, 'node_modules'))) {
    if (entry === 'rownd-adonis' || entry === '.vite') continue
    await symlink(join(PACKAGE_ROOT, 'node_modules', entry), join(modules, entry))
  }
  const tarballPath = options.tarball === undefined ? await packTarball() : options.tarball
  if (tarballPath) {
    await mkdir(join(modules, 'rownd-adonis'))
    const untar = await run(
      'tar',
      ['xzf', tarballPath, '-C', join(modules, 'rownd-adonis'), '--strip-components=1'],
      { cwd: root }
    )
    if (untar.code !== 0) throw new Error(`tar failed: ${untar.stderr}`)
  }

  const port = options.port || (await freePort())
  const baseUrl = `http://127.0.0.1:${port}`
  const example = await fsReadFile(join(root, '.env.example'), 'utf-8')
  await fsWriteFile(
    join(root, '.env'),
    setEnvLines(example, {
      APP_KEY: KIT_APP_KEY,
      HOST: '127.0.0.1',
      PORT: String(port),
      APP_URL: baseUrl,
      ...options.env,
    })
  )
  await mkdir(join(root, 'tmp'), { recursive: true })

  if (kit === 'inertia_react' && options.buildAssets !== false) await buildFrontend(root, kit)

  let server: ChildProcess | undefined
  let output = ''
  let database: Knex | undefined

  /**
   * The parent's environment minus what the app's .env sets (AdonisJS lets
   * process.env win over .env, and the test runner may carry NODE_ENV and
   * friends), plus explicit overrides
   */
  const childEnv = async (overrides: Record<string, string> = {}) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' }
    for (const key of parseEnvKeys(await fsReadFile(join(root, '.env'), 'utf-8'))) delete env[key]
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

  const app: KitApp = {
    kit,
    root,
    port,
    baseUrl,

    async ace(args, env) {
      return run(NODE, ['ace', ...args], { cwd: root, env: await childEnv(env), timeout: 60_000 })
    },

    buildAssets: (label = kit) => buildFrontend(root, label),

    async start(env) {
      if (server) throw new Error(`${kit} app already started`)
      output = ''
      const child = spawn(
        NODE,
        ['--enable-source-maps', '--import=@poppinss/ts-exec', 'bin/server.ts'],
        {
          cwd: root,
          env: await childEnv(env),
          stdio: ['ignore', 'pipe', 'pipe'],
        }
      )
      server = child
      child.stdout!.on('data', (chunk) => (output += chunk))
      child.stderr!.on('data', (chunk) => (output += chunk))

      const deadline = Date.now() + 30_000
      while (Date.now() < deadline) {
        if (child.exitCode !== null) {
          server = undefined
          throw new Error(`${kit} app exited early:\n${output}`)
        }
        try {
          // Any HTTP answer will do: the app is up
          await fetch(`${baseUrl}/`, { redirect: 'manual' })
          return baseUrl
        } catch {}
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      await stop()
      throw new Error(`${kit} app did not answer within 30 s:\n${output}`)
    },

    stop,

    async destroy() {
      await stop()
      await database?.destroy()
      database = undefined
      await rm(root, { recursive: true, force: true })
    },

    logs: () => output,

    readFile: (path) => fsReadFile(join(root, path), 'utf-8'),

    async writeFile(path, contents) {
      await mkdir(dirname(join(root, path)), { recursive: true })
      await fsWriteFile(join(root, path), contents)
    },

    db() {
      database ??= knex({
        client: 'better-sqlite3',
        connection: { filename: join(root, 'tmp/db.sqlite3') },
        useNullAsDefault: true,
      })
      return database
    },
  }
  return app
}

/** Decodes the entities html-entities and Edge escaping produce */
export function decodeHtml(text: string) {
  return text.replace(/&(#x[\da-f]+|#\d+|quot|amp|lt|gt|apos);/gi, (_, entity: string) => {
    const named: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }
    if (entity[0] !== '#') return named[entity.toLowerCase()]
    const code =
      entity[1].toLowerCase() === 'x'
        ? Number.parseInt(entity.slice(2), 16)
        : Number(entity.slice(1))
    return String.fromCodePoint(code)
  })
}

/** The location a redirect points to, as a path ("/login") */
export function redirectPath(response: Response) {
  const location = response.headers.get('location')
  if (!location) return null
  const url = new URL(location, 'http://placeholder')
  return `${url.pathname}${url.search}`
}

/**
 * A browser on the hypermedia kit: a cookie jar, forms posted with the
 * `_csrf` hidden field read from the page they are on
 */
export class HypermediaClient {
  jar = new CookieJar()

  constructor(public baseUrl: string) {}

  /** GET a page (redirects not followed) */
  async get(path: string) {
    const response = await this.jar.fetch(`${this.baseUrl}${path}`, {
      headers: { accept: 'text/html' },
    })
    return { response, html: await response.text() }
  }

  /** GET a page, following redirects like a browser; `path` is where it ended */
  async visit(path: string) {
    for (let hops = 0; hops < 5; hops++) {
      const { response, html } = await this.get(path)
      const next = redirectPath(response)
      if (response.status < 300 || response.status >= 400 || !next) {
        return { response, html, path }
      }
      path = next
    }
    throw new Error(`too many redirects from ${path}`)
  }

  /** The `_csrf` hidden input of a page (every non-GET form has one) */
  static csrfToken(html: string) {
    const match = /<input[^>]*name=["']_csrf["'][^>]*value=["']([^"']*)["']/.exec(html)
    if (!match) throw new Error(`no _csrf field in:\n${html}`)
    return decodeHtml(match[1])
  }

  /** The page's <header> (nav: avatar and logout form, or signup/login links) */
  static header(html: string) {
    return /<header>[\s\S]*?<\/header>/.exec(html)?.[0] ?? ''
  }

  /**
   * Submits a form as the browser would: loads `fromPage`, takes its CSRF
   * token, POSTs urlencoded `fields` (plus `_csrf`) to `action`. The
   * response is returned as is (usually a redirect).
   */
  async submit(fromPage: string, action: string, fields: Record<string, string>) {
    const { html, path } = await this.visit(fromPage)
    return this.post(action, { _csrf: HypermediaClient.csrfToken(html), ...fields }, path)
  }

  /**
   * A raw urlencoded POST (no CSRF token added). `fromPage` becomes the
   * Referer, which `response.redirect('back')` sends the browser to.
   */
  post(action: string, fields: Record<string, string>, fromPage?: string) {
    return this.jar.fetch(`${this.baseUrl}${action}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'accept': 'text/html',
        ...(fromPage ? { referer: `${this.baseUrl}${fromPage}` } : {}),
      },
      body: new URLSearchParams(fields).toString(),
    })
  }
}

/** The Inertia page object (the `data-page` JSON, or an Inertia response body) */
export interface InertiaPage {
  component: string
  url: string
  version: string
  props: Record<string, any> & {
    errors?: Record<string, string>
    flash?: { error?: string }
    user?: Record<string, any>
  }
}

/**
 * The Inertia client of the inertia_react kit, over plain HTTP: the first
 * visit is a full HTML page (page object in `data-page`), later ones are
 * XHR visits (`X-Inertia: true`, the asset version) answered with JSON;
 * mutations echo the XSRF-TOKEN cookie in `X-XSRF-TOKEN`.
 */
export class InertiaClient {
  jar = new CookieJar()
  /** Asset version the server announced (md5 of the Vite manifest) */
  version = ''
  /** URL of the current page, sent as Referer like the browser does */
  location = '/'

  constructor(public baseUrl: string) {}

  /** The page object of a full HTML response */
  static pageFromHtml(html: string): InertiaPage {
    const match = /<div id="app" data-page="([^"]*)"/.exec(html)
    if (!match) throw new Error(`no data-page in:\n${html}`)
    return JSON.parse(decodeHtml(match[1]))
  }

  /** Headers of an Inertia XHR visit */
  inertiaHeaders(extra: Record<string, string> = {}) {
    return {
      'accept': 'text/html, application/xhtml+xml',
      'x-inertia': 'true',
      'x-inertia-version': this.version,
      'x-requested-with': 'XMLHttpRequest',
      ...extra,
    }
  }

  /** Full page load, as typing the URL: HTML with the page object in it */
  async load(path: string) {
    const response = await this.jar.fetch(`${this.baseUrl}${path}`, {
      headers: { accept: 'text/html' },
    })
    const html = await response.text()
    const page = response.status === 200 ? InertiaClient.pageFromHtml(html) : undefined
    if (page) {
      this.version = page.version
      this.location = page.url
    }
    return { response, html, page }
  }

  /** One Inertia XHR request, redirects not followed */
  request(method: string, path: string, body?: Record<string, unknown>) {
    const headers: Record<string, string> = this.inertiaHeaders({
      referer: `${this.baseUrl}${this.location}`,
    })
    if (method !== 'GET') {
      headers['content-type'] = 'application/json'
      const xsrf = this.jar.get('XSRF-TOKEN')
      if (xsrf) headers['x-xsrf-token'] = decodeURIComponent(xsrf)
    }
    return this.jar.fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  }

  /**
   * An Inertia visit (router.visit / <Form>): the XHR follows redirects as
   * GETs with the same Inertia headers; resolves with the final page object
   */
  async visit(method: string, path: string, body?: Record<string, unknown>) {
    let response = await this.request(method, path, body)
    for (let hops = 0; hops < 5; hops++) {
      const next = redirectPath(response)
      if (response.status < 300 || response.status >= 400 || !next) break
      response = await this.request('GET', next)
    }
    const page =
      response.headers.get('x-inertia') === 'true'
        ? ((await response.json()) as InertiaPage)
        : undefined
    if (page) this.location = page.url
    return { response, page }
  }
}

/** JSON client of the api kit, with an optional bearer access token */
export class ApiClient {
  constructor(
    public baseUrl: string,
    public token?: string
  ) {}

  async request(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    })
    const text = await response.text()
    let json: any
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, body: json, text }
  }

  get(path: string) {
    return this.request('GET', path)
  }

  post(path: string, body?: unknown) {
    return this.request('POST', path, body)
  }
}
