import { spawn, type ChildProcess } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const STARTER_APP = fileURLToPath(new URL('../fixtures/starter_app/', import.meta.url))

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to completion, no TTY (stdin closed), output captured */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** A port nothing listens on right now (loopback only) */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Sets or replaces KEY=value lines in a dotenv file, as a user editing .env would */
async function setEnv(path: string, values: Record<string, string>) {
  let contents = await readFile(path, 'utf-8')
  for (const [key, value] of Object.entries(values)) {
    const line = `${key}=${value}`
    const pattern = new RegExp(`^${key}=.*$`, 'm')
    contents = pattern.test(contents) ? contents.replace(pattern, line) : `${contents}\n${line}`
  }
  await writeFile(path, contents)
}

async function waitForServer(url: string, server: ChildProcess, logs: () => string) {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited early:\n${logs()}`)
    try {
      const response = await fetch(url)
      if (response.ok) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 150))
  }
  throw new Error(`server did not start:\n${logs()}`)
}

test.group('configure | end to end, as a user would', () => {
  test('npm pack, node ace configure, migration:run, server: bearer and session sign-in work', async ({
    assert,
    cleanup,
  }) => {
    const node = process.execPath
    const workDir = await mkdtemp(join(tmpdir(), 'rownd-e2e-'))
    cleanup(() => rm(workDir, { recursive: true, force: true }))

    /**
     * 1. The package as published: npm pack (prepack builds it)
     */
    const pack = await run('npm', ['pack', '--json', '--pack-destination', workDir], {
      cwd: PACKAGE_ROOT,
      timeout: 90_000,
    })
    assert.equal(pack.code, 0, pack.stderr)
    const [{ filename }] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))
    const tarball = join(workDir, filename)

    /**
     * 2. The starter app, its dependencies from this checkout (offline), the
     *    package extracted from the tarball into node_modules/rownd-adonis
     */
    const appRoot = join(workDir, 'app')
    await cp(STARTER_APP, appRoot, { recursive: true })
    const modules = join(appRoot, 'node_modules')
    await mkdir(modules)
    for (const entry of await readdir(join(PACKAGE_ROOT, 'node_modules'))) {
      if (entry === 'rownd-adonis') continue
      await symlink(join(PACKAGE_ROOT, 'node_modules', entry), join(modules, entry))
    }
    await mkdir(join(modules, 'rownd-adonis'))
    const untar = await run(
      'tar',
      ['xzf', tarball, '-C', join(modules, 'rownd-adonis'), '--strip-components=1'],
      { cwd: workDir }
    )
    assert.equal(untar.code, 0, untar.stderr)
    await cp(join(appRoot, '.env.example'), join(appRoot, '.env'))
    await setEnv(join(appRoot, '.env'), { APP_KEY: 'starter-app-key-0123456789abcdefghij' })
    await mkdir(join(appRoot, 'tmp'))

    /**
     * 3. node ace configure rownd-adonis (no TTY)
     */
    const configure = await run(node, ['ace', 'configure', 'rownd-adonis'], { cwd: appRoot })
    assert.equal(configure.code, 0, configure.stdout + configure.stderr)
    assert.include(configure.stdout, 'node ace migration:run')
    assert.include(
      await readFile(join(appRoot, 'adonisrc.ts'), 'utf-8'),
      'rownd-adonis/rownd_provider'
    )
    assert.include(await readFile(join(appRoot, 'config/auth.ts'), 'utf-8'), 'rowndGuard(')

    // Running it again changes nothing
    const again = await run(node, ['ace', 'configure', 'rownd-adonis'], { cwd: appRoot })
    assert.equal(again.code, 0, again.stdout + again.stderr)
    assert.lengthOf(await readdir(join(appRoot, 'database/migrations')), 3)

    // Webhooks, set up later: a secret in .env, the route with the session routes
    const webhooks = await run(node, ['ace', 'configure', 'rownd-adonis', '--webhooks'], {
      cwd: appRoot,
    })
    assert.equal(webhooks.code, 0, webhooks.stdout + webhooks.stderr)
    const webhookSecret = /^ROWND_WEBHOOK_SECRET=(\S+)$/m.exec(
      await readFile(join(appRoot, '.env'), 'utf-8')
    )?.[1]
    assert.isString(webhookSecret)
    assert.notInclude(webhooks.stdout, webhookSecret!)

    /**
     * 4. What the user does next: credentials in .env, a protected route
     */
    const emulator = await RowndEmulator.start()
    cleanup(() => emulator.close())
    await setEnv(join(appRoot, '.env'), {
      ROWND_APP_KEY: emulator.appKey,
      ROWND_APP_SECRET: emulator.appSecret,
      ROWND_API_URL: emulator.url,
    })
    const routes = join(appRoot, 'start/routes.ts')
    await writeFile(
      routes,
      `${await readFile(routes, 'utf-8')}
import { middleware } from '#start/kernel'

router
  .get('/me', ({ auth }) => {
    const user = auth.use('rownd').user!
    return { id: user.id, email: user.email, rowndUserId: user.rowndUserId }
  })
  .use(middleware.rownd())
`
    )

    const migrate = await run(node, ['ace', 'migration:run'], { cwd: appRoot })
    assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr)
    assert.include(migrate.stdout, 'add_rownd_user_id_to_users_table')

    const list = await run(node, ['ace', 'list:routes', '--json'], { cwd: appRoot })
    assert.equal(list.code, 0, list.stderr)
    const listed = JSON.parse(list.stdout.slice(list.stdout.indexOf('[')))
      .flatMap(
        (domain: { routes: { name: string; pattern: string; methods: string[] }[] }) =>
          domain.routes
      )
      .map(
        (route: { name: string; pattern: string; methods: string[] }) =>
          `${route.methods.join(',')} ${route.pattern} ${route.name}`
      )
    assert.includeMembers(listed, [
      'POST /rownd/session_authenticate rownd.session_authenticate',
      'POST /rownd/session_sign_out rownd.session_sign_out',
      'POST /rownd/user_data_update rownd.user_data_update',
    ])
    assert.isTrue(
      listed.some((line: string) =>
        /POST.* \/rownd\/webhooks\/:secret\? rownd\.webhook$/.test(line)
      ),
      listed.join('\n')
    )

    /**
     * 4b. The published rownd:sync: a Rownd user gets a row before signing in
     */
    const imported = emulator.createUser({ email: 'imported@example.com', firstName: 'Imp' })
    const dryRun = await run(node, ['ace', 'rownd:sync', '--dry-run'], { cwd: appRoot })
    assert.equal(dryRun.code, 0, dryRun.stdout + dryRun.stderr)
    assert.match(dryRun.stdout, /created\W+1\W/)
    const sync = await run(node, ['ace', 'rownd:sync'], { cwd: appRoot })
    assert.equal(sync.code, 0, sync.stdout + sync.stderr)
    assert.match(sync.stdout, /created\W+1\W/)

    /**
     * 5. The server, then a bearer request and a session sign-in
     */
    const port = await freePort()
    let serverLogs = ''
    const server = spawn(node, ['--import=@poppinss/ts-exec', 'bin/server.ts'], {
      cwd: appRoot,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'development' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server.stdout!.on('data', (chunk) => (serverLogs += chunk))
    server.stderr!.on('data', (chunk) => (serverLogs += chunk))
    cleanup(async () => {
      if (server.exitCode !== null) return
      const exited = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGTERM')
      const timer = setTimeout(() => server.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    })
    const base = `http://127.0.0.1:${port}`
    await waitForServer(`${base}/`, server, () => serverLogs)

    const user = emulator.createUser({ email: 'ada@example.com', emailVerified: true })
    const token = await emulator.mintToken({ userId: user.userId })

    const anonymous = await fetch(`${base}/me`, { headers: { accept: 'application/json' } })
    assert.equal(anonymous.status, 401)

    const bearer = await fetch(`${base}/me`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    })
    assert.equal(bearer.status, 200, serverLogs)
    const me = await bearer.json()
    assert.equal(me.rowndUserId, user.userId)
    assert.equal(me.email, 'ada@example.com')

    const signIn = await fetch(`${base}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept': 'application/json' },
      body: JSON.stringify({ access_token: token }),
    })
    assert.equal(signIn.status, 200, serverLogs)
    const signedIn = await signIn.json()
    assert.isTrue(signedIn.should_refresh_page)
    const cookies = signIn.headers
      .getSetCookie()
      .map((cookie) => cookie.split(';')[0])
      .join('; ')
    assert.include(cookies, 'adonis-session=')

    // The session alone (no bearer) now authenticates the same user
    const bySession = await fetch(`${base}/me`, {
      headers: { cookie: cookies, accept: 'application/json' },
    })
    assert.equal(bySession.status, 200, serverLogs)
    assert.equal((await bySession.json()).id, me.id)

    // The imported user signs in onto the row rownd:sync made
    const importedToken = await emulator.mintToken({ userId: imported.userId })
    const importedMe = await fetch(`${base}/me`, {
      headers: { authorization: `Bearer ${importedToken}`, accept: 'application/json' },
    })
    assert.equal(importedMe.status, 200, serverLogs)
    const importedRow = await importedMe.json()
    assert.equal(importedRow.email, 'imported@example.com')
    assert.equal(importedRow.id, 1, 'the row rownd:sync created first')

    // Rownd's connector: deleting the user in Rownd ends their session here
    emulator.webhooks.configure({ url: `${base}/rownd/webhooks/${webhookSecret}` })
    emulator.deleteUser(user.userId)
    await emulator.webhooks.settled()
    assert.equal(emulator.webhooks.of(user.userId).at(-1)!.status, 200, serverLogs)
    const afterDelete = await fetch(`${base}/me`, {
      headers: { cookie: cookies, accept: 'application/json' },
    })
    assert.equal(afterDelete.status, 401)

    assert.notInclude(serverLogs, emulator.appSecret)
    assert.notInclude(serverLogs, token)
    assert.notInclude(serverLogs, webhookSecret!)
  }).timeout(120_000)
})
