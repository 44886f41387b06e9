/**
 * One build output for both Node lines: the installed tarball's JavaScript
 * loads and works on the system Node 20, uses no Node API newer than 20.6
 * outside src/compat (where each one is feature-detected), and keeps
 * working when `crypto.hash` is missing, as on Node 20.6 to 20.11.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { test } from '@japa/runner'
import { adonis6Base, node20Env, systemNode, type Adonis6Base } from '../helpers/adonis6_app.ts'
import { run } from '../helpers/kit_app.ts'

/**
 * Node APIs added after 20.6.0, with the version that has them. A use of
 * one outside src/compat breaks the package on an older Node 20.
 */
const NEWER_THAN_20_6: Array<[RegExp, string]> = [
  [
    /\bcrypto\.hash\(|import\s*{[^}]*\bhash\b[^}]*}\s*from\s*['"](node:)?crypto['"]/,
    'crypto.hash: 20.12',
  ],
  [/import\.meta\.(dirname|filename)\b/, 'import.meta.dirname/filename: 20.11'],
  [
    /\bprocess\.loadEnvFile\b|\bstyleText\b|\bparseEnv\b/,
    'process.loadEnvFile, util.styleText/parseEnv: 20.12',
  ],
  [/\bimport\b[^;\n]*\bwith\s*{\s*type\s*:/, 'import attributes (with): 20.10'],
  [/\b(Object|Map)\.groupBy\b/, 'Object.groupBy: 21'],
  [
    /\bPromise\.(withResolvers|try)\b|\bArray\.fromAsync\b/,
    'Promise.withResolvers, Array.fromAsync: 22',
  ],
  [
    /\.(union|intersection|symmetricDifference|isSubsetOf|isSupersetOf|isDisjointFrom)\(/,
    'Set methods: 22',
  ],
  [
    /\bIterator\.from\b|\.(values|keys|entries)\(\)\.(map|filter|take|drop|flatMap|reduce|toArray|forEach|some|every|find)\(/,
    'iterator helpers: 22',
  ],
  [
    /\bURL\.parse\(|\bprocess\.getBuiltinModule\b|['"]node:sqlite['"]|\bnavigator\./,
    'URL.parse, getBuiltinModule, node:sqlite, navigator: 21-22',
  ],
  [
    /\bRegExp\.escape\b|\bError\.isError\b|\bFloat16Array\b|\bMath\.sumPrecise\b/,
    'RegExp.escape, Error.isError, Float16Array: 24',
  ],
  [/\bUint8Array\.(fromBase64|fromHex)\b|\.toBase64\(|\.toHex\(/, 'Uint8Array base64/hex: 25'],
  [/^\s*(await\s+)?using\s+[\w$]+\s*=/m, 'using declarations: 24'],
]

const ENTRY_POINTS = [
  'rownd-adonis',
  'rownd-adonis/rownd_provider',
  'rownd-adonis/rownd_middleware',
  'rownd-adonis/session_sync_middleware',
  'rownd-adonis/types',
  'rownd-adonis/testing',
  'rownd-adonis/commands',
  'rownd-adonis/inertia',
]

/**
 * Runs on Node 20: the emulator (rownd-adonis/testing) serves Rownd, a
 * RowndClient verifies one of its tokens and fetches the profile
 */
const EMULATOR_SCRIPT = `
import { RowndEmulator } from 'rownd-adonis/testing'
import { RowndClient, defineConfig, hashToken } from 'rownd-adonis'
import { createHash } from 'node:crypto'

const emulator = await RowndEmulator.start()
const client = new RowndClient(
  defineConfig({ appKey: emulator.appKey, appSecret: emulator.appSecret, apiUrl: emulator.url, timeout: '5s' })
)
const user = emulator.createUser({ email: 'node20@example.com', emailVerified: true })
const token = await emulator.mintToken({ userId: user.userId })
const verified = await client.verifyToken(token)
const again = await client.verifyToken(token)
const profile = await client.getProfile(user.userId)
console.log(JSON.stringify({
  node: process.version,
  userId: verified.userId,
  cached: again === verified || again.userId === verified.userId,
  email: profile.data.email,
  hashMatches: hashToken(token) === createHash('sha256').update(token).digest('base64url'),
}))
await client.close()
await emulator.close()
`

/** Preload that removes crypto.hash, as Node 20.6 to 20.11 have none */
const WITHOUT_CRYPTO_HASH = `data:text/javascript,${encodeURIComponent(
  `import crypto from 'node:crypto'; import { syncBuiltinESMExports } from 'node:module'; delete crypto.hash; syncBuiltinESMExports();`
)}`

async function jsFiles(dir: string): Promise<string[]> {
  const files: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await jsFiles(path)))
    else if (entry.name.endsWith('.js')) files.push(path)
  }
  return files
}

test.group('adonis6 | one build for Node 20 and 24', (group) => {
  let base: Adonis6Base

  group.setup(async () => {
    base = await adonis6Base()
  })

  const node20 = (args: string[]) =>
    run(systemNode().node, args, { cwd: base.root, env: node20Env(), timeout: 60_000 })

  test('every entry point of the installed tarball loads on Node 20', async ({ assert }) => {
    const script = `for (const name of ${JSON.stringify(ENTRY_POINTS)}) await import(name); console.log(process.version)`
    const result = await node20(['--input-type=module', '-e', script])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout.trim(), /^v20\./)
  })

  test('no Node API newer than 20.6 outside src/compat', async ({ assert }) => {
    const build = join(base.root, 'node_modules/rownd-adonis/build')
    const files = await jsFiles(build)
    assert.isAbove(files.length, 20)
    const found: string[] = []
    for (const file of files) {
      const name = relative(build, file)
      if (name === 'src/compat.js') continue
      const text = await readFile(file, 'utf-8')
      for (const [pattern, what] of NEWER_THAN_20_6) {
        if (pattern.test(text)) found.push(`${name}: ${what}`)
      }
    }
    assert.deepEqual(found, [])
  })

  test('the emulator and token verification work on Node 20', async ({ assert }) => {
    const result = await node20(['--input-type=module', '-e', EMULATOR_SCRIPT])
    assert.equal(result.code, 0, result.stderr)
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!)
    assert.match(out.node, /^v20\./)
    assert.isTrue(out.cached)
    assert.equal(out.email, 'node20@example.com')
    assert.isTrue(out.hashMatches)
  })

  test('without crypto.hash (Node 20.6 to 20.11) verification still works', async ({ assert }) => {
    const probe = await node20([
      `--import=${WITHOUT_CRYPTO_HASH}`,
      '-p',
      `typeof require('node:crypto').hash`,
    ])
    assert.equal(probe.stdout.trim(), 'undefined', probe.stderr)
    const result = await node20([
      `--import=${WITHOUT_CRYPTO_HASH}`,
      '--input-type=module',
      '-e',
      EMULATOR_SCRIPT,
    ])
    assert.equal(result.code, 0, result.stderr)
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1)!)
    assert.isTrue(out.hashMatches)
    assert.equal(out.email, 'node20@example.com')
  })
})
