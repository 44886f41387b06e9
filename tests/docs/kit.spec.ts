/**
 * Issue 19: README and docs/ against a real app. A fresh copy of the
 * hypermedia starter kit, with this package installed from its npm
 * tarball, goes through README's marked install steps; then:
 *
 * - a Rownd sign-in reaches the page README protects, and a bearer token
 *   the API route;
 * - every ```ts block of README.md and docs/ type-checks in that app with
 *   its own TypeScript (one `tsc` run; errors point at the doc and line);
 * - README's test files (and docs/testing.md's setup) pass `node ace test`.
 *
 * Install-step markers (an HTML comment right before the block):
 * - `<!-- install-step: run -->` before ```sh: each line is run in the app
 *   (`node ace ...`; `npm i rownd-adonis` is the tarball already there);
 * - `<!-- install-step: env -->` before ```dotenv: the lines go into .env,
 *   placeholders filled with the emulator's credentials (the emulator
 *   stands in for Rownd: ROWND_API_URL points at it);
 * - `<!-- install-step: append <path> -->`: the block is appended to that file;
 * - `<!-- install-step: sign-in-button -->`: the markup configure tells you to add.
 *
 * Code blocks: ```ts file=<path> is that file of the app; other ```ts blocks
 * are modules of their own under docs_snippets/; ```ts fragment blocks
 * cannot stand alone and are only counted. Blocks of other languages with
 * file= (```dotenv file=.env.test) are written, not type-checked.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from '@japa/runner'
import { RowndEmulator } from '../../src/testing/index.ts'
import { createKitApp, HypermediaClient, run, type KitApp } from '../helpers/kit_app.ts'
import { CookieJar } from '../helpers/http.ts'
import { hubCommands, leftToDo } from '../kits/rownd_helpers.ts'
import { checkedDocs, codeBlocks, readDoc, type CodeBlock } from './markdown.ts'

/** Fragments are the exception: every other block must type-check as written */
const MAX_FRAGMENTS = 4

const TS = new Set(['ts', 'typescript'])

interface InstallLog {
  configureOutput: string
  button?: CodeBlock
  /** Blocks appended to app files, with the 1-based line where each starts there */
  appended: Array<{ block: CodeBlock; path: string; startLine: number }>
  steps: number
}

/** Runs README's marked install steps in the app, in order */
async function runInstallSteps(app: KitApp, emulator: RowndEmulator): Promise<InstallLog> {
  const log: InstallLog = { configureOutput: '', appended: [], steps: 0 }
  const placeholders: Record<string, string> = {
    ROWND_APP_KEY: emulator.appKey,
    ROWND_APP_SECRET: emulator.appSecret,
  }
  for (const block of codeBlocks(readDoc('README.md'))) {
    const step = block.installStep
    if (!step) continue
    log.steps++
    const where = `README.md:${block.line}`
    if (step === 'run') {
      for (const raw of block.code.split('\n')) {
        const line = raw.trim()
        if (line === '' || line.startsWith('#')) continue
        if (/^npm (i|install) rownd-adonis$/.test(line)) {
          // Installed from this checkout's tarball by createKitApp()
          if (!existsSync(join(app.root, 'node_modules/rownd-adonis/package.json'))) {
            throw new Error(`${where}: rownd-adonis is not installed`)
          }
          continue
        }
        const ace = /^node ace (.+)$/.exec(line)
        if (!ace) throw new Error(`${where}: the docs suite cannot run "${line}"`)
        const result = await app.ace(ace[1].split(/\s+/))
        if (result.code !== 0) {
          throw new Error(
            `${where}: "${line}" exited ${result.code}\n${result.stdout}${result.stderr}`
          )
        }
        if (ace[1].startsWith('configure')) log.configureOutput += result.stdout
      }
    } else if (step === 'env') {
      let env = await app.readFile('.env')
      for (const raw of block.code.split('\n')) {
        const line = raw.trim()
        if (line === '' || line.startsWith('#')) continue
        const key = /^([A-Z_]+)=/.exec(line)?.[1]
        if (!key || !(key in placeholders)) throw new Error(`${where}: no value for "${line}"`)
        env = setLine(env, key, placeholders[key])
      }
      // The emulator stands in for Rownd's API
      env = setLine(env, 'ROWND_API_URL', emulator.url)
      await app.writeFile('.env', env)
    } else if (step.startsWith('append ')) {
      const path = step.slice('append '.length)
      const before = await app.readFile(path)
      const separated = before.endsWith('\n') ? `${before}\n` : `${before}\n\n`
      log.appended.push({ block, path, startLine: separated.split('\n').length })
      await app.writeFile(path, `${separated}${block.code}\n`)
    } else if (step === 'sign-in-button') {
      log.button = block
    } else {
      throw new Error(`${where}: unknown install step "${step}"`)
    }
  }
  return log
}

function setLine(env: string, key: string, value: string) {
  const pattern = new RegExp(`^${key}=.*$`, 'm')
  return pattern.test(env) ? env.replace(pattern, `${key}=${value}`) : `${env}\n${key}=${value}\n`
}

/** A file name for a doc block of its own: docs_snippets/docs_errors_md_L12.ts */
function scratchPath(block: CodeBlock) {
  return `docs_snippets/${block.doc.replace(/[^\w]+/g, '_')}_L${block.line}.ts`
}

interface Snippets {
  /** `path:firstLine` in the app → the block written there, and its line offset in that file */
  owners: Map<string, { block: CodeBlock; offset: number }>
  counts: { checked: number; fragments: number; other: number }
}

/**
 * Writes every block of README.md and docs/ into the app: ```ts file=... at
 * its path, other ```ts blocks under docs_snippets/, blocks of other
 * languages with file= at their path. Appended install steps are already
 * in place.
 */
async function writeDocBlocks(app: KitApp, install: InstallLog): Promise<Snippets> {
  const owners = new Map<string, { block: CodeBlock; offset: number }>()
  const counts = { checked: 0, fragments: 0, other: 0 }
  const at = (block: CodeBlock) => `${block.doc}:${block.line}`
  const appended = new Set(install.appended.map((entry) => at(entry.block)))
  for (const entry of install.appended) {
    owners.set(`${entry.path}:${entry.startLine}`, {
      block: entry.block,
      offset: entry.startLine - 1,
    })
  }
  for (const doc of checkedDocs()) {
    for (const block of codeBlocks(doc)) {
      const file = typeof block.attrs.file === 'string' ? block.attrs.file : undefined
      if (!TS.has(block.lang)) {
        counts.other++
        if (file) await app.writeFile(file, `${block.code}\n`)
        continue
      }
      if (block.attrs.fragment) {
        counts.fragments++
        continue
      }
      counts.checked++
      // Type-checked where the install steps put it
      if (appended.has(at(block))) continue
      const path = file ?? scratchPath(block)
      const taken = [...owners.entries()].find(([key]) => key.startsWith(`${path}:`))
      if (taken) {
        throw new Error(
          `${block.doc}:${block.line}: ${path} is already the block at ${taken[1].block.doc}:${taken[1].block.line}`
        )
      }
      owners.set(`${path}:1`, { block, offset: 0 })
      // A module of its own, even when it has no import or export
      await app.writeFile(path, file ? `${block.code}\n` : `${block.code}\n\nexport {}\n`)
    }
  }
  return { owners, counts }
}

test.group('docs | README in a starter kit', (group) => {
  let emulator: RowndEmulator
  let app: KitApp
  let install: InstallLog
  let snippets: Snippets

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    app = await createKitApp('hypermedia')
    try {
      install = await runInstallSteps(app, emulator)
      snippets = await writeDocBlocks(app, install)
      await app.start()
    } catch (error) {
      await app.destroy()
      await emulator.close()
      throw error
    }
    return async () => {
      await app.destroy()
      await emulator.close()
    }
  })

  test('configure asks for the sign-in button README shows', ({ assert }) => {
    assert.isAtLeast(install.steps, 5)
    assert.exists(install.button, 'README has no install-step: sign-in-button block')
    const button = install.button!.code.trim()
    assert.isTrue(
      leftToDo(install.configureOutput).some((step) => step.endsWith(button)),
      `configure's steps do not end with ${button}:\n${install.configureOutput}`
    )
  })

  test('after the install steps, a Rownd sign-in reaches the protected page and a bearer token the API', async ({
    assert,
  }) => {
    const browser = new HypermediaClient(app.baseUrl)
    const anonymous = await browser.get('/dashboard')
    assert.equal(anonymous.response.status, 302, app.logs())
    assert.match(anonymous.response.headers.get('location') ?? '', /\/login/)

    // The page carries the Hub, configured by @rowndHub() with the page's CSRF token
    const { html } = await browser.visit('/login')
    const commands = hubCommands(html)
    assert.equal(commands.setAppKey, emulator.appKey)
    const headers = commands.setPostAuthenticationApi.extra_headers as Record<string, string>

    const rowndUser = emulator.createUser({ email: 'docs-install@example.com' })
    const token = await emulator.mintToken({ userId: rowndUser.userId })
    const signIn = await browser.jar.fetch(`${app.baseUrl}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept': 'application/json', ...headers },
      body: JSON.stringify({ access_token: token }),
    })
    assert.equal(signIn.status, 200, app.logs())
    assert.containsSubset(await signIn.json(), { should_refresh_page: true })

    const page = await browser.get('/dashboard')
    assert.equal(page.response.status, 200, app.logs())
    assert.include(page.html, 'docs-install@example.com')

    const api = await new CookieJar().fetch(`${app.baseUrl}/api/me`, {
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
    })
    assert.equal(api.status, 200, app.logs())
    assert.containsSubset(await api.json(), {
      email: 'docs-install@example.com',
      rowndUserId: rowndUser.userId,
    })
  })

  test('every ts block of README.md and docs/ type-checks in the app', async ({ assert }) => {
    const tsc = await run(
      process.execPath,
      [
        'node_modules/typescript/bin/tsc',
        '--noEmit',
        '--pretty',
        'false',
        // Doc examples bind values to show what a call returns
        '--noUnusedLocals',
        'false',
        '--noUnusedParameters',
        'false',
      ],
      { cwd: app.root, timeout: 180_000 }
    )
    const { owners, counts } = snippets
    const errors = `${tsc.stdout}${tsc.stderr}`
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      .map((line) => {
        const at = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line)
        if (!at) return line
        const [, path, lineNumber, column, message] = at
        const owner = [...owners.entries()]
          .filter(([key]) => key.slice(0, key.lastIndexOf(':')) === path)
          .map(([, value]) => value)
          .filter((value) => Number(lineNumber) > value.offset)
          .sort((a, b) => b.offset - a.offset)[0]
        if (!owner) return `${path}:${lineNumber}:${column} (app file) ${message}`
        const docLine = owner.block.line + Number(lineNumber) - 1 - owner.offset
        return `${owner.block.doc}:${docLine}:${column} ${message}`
      })
    console.log(
      `  docs: ${counts.checked} ts blocks type-checked, ${counts.fragments} fragments skipped, ${counts.other} blocks of other languages`
    )
    assert.deepEqual(errors, [], tsc.stdout + tsc.stderr)
    assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr)
    assert.isAtLeast(counts.checked, 15)
    assert.isAtMost(counts.fragments, MAX_FRAGMENTS, 'fragments cannot be checked: keep them rare')
  }).timeout(240_000)

  test("README's test files pass `node ace test` (docs/testing.md's setup)", async ({ assert }) => {
    assert.isTrue(existsSync(join(app.root, 'bin/test.ts')), 'docs/testing.md has bin/test.ts')
    // The test runner serves the app on the same PORT
    await app.stop()
    // The suite docs/testing.md asks the Edge kit to add (a fragment there)
    const rc = await app.readFile('adonisrc.ts')
    const unit = `{ files: ['tests/unit/**/*.spec.ts'], name: 'unit', timeout: 2000 },`
    assert.include(rc, unit)
    await app.writeFile(
      'adonisrc.ts',
      rc.replace(
        unit,
        `${unit}\n      { files: ['tests/functional/**/*.spec.ts'], name: 'functional', timeout: 30000 },`
      )
    )
    const result = await app.ace(['test', 'functional'])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    assert.match(result.stdout, /Tests\s+\d+ passed/)
    assert.notMatch(result.stdout, /failed/)
  }).timeout(120_000)
})
