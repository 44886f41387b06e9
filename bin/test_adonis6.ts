/**
 * AdonisJS 6 lane (`npm run test:adonis6`): the web starter kit of
 * AdonisJS 6 (tests/fixtures/adonis6/web) on the system Node 20, with
 * rownd-adonis installed from its npm tarball, on SQLite then PostgreSQL
 * (ADONIS6_DBS=sqlite,pg by default).
 *
 * This process (Node 24, like every package script) prepares what both
 * runs share, once: the tarball, the fixture's node_modules for Node 20
 * (`npm ci`, native addons compiled from source; cached by lockfile) and a
 * base app with the tarball installed. Each database then gets a Japa run
 * of its own, in a child process with DB_CONNECTION set; the tests drive
 * the Node 20 app over HTTP. The last line sums the runs up the way Japa
 * does, which is the line .ci/run reads.
 */
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { assert } from '@japa/assert'
import { configure, processCLIArgs, run } from '@japa/runner'
import {
  describeBase,
  fixtureModules,
  prepareAdonis6Base,
  systemNode,
} from '../tests/helpers/adonis6_app.ts'
import { packTarball } from '../tests/helpers/kit_app.ts'

const FILES = [
  'tests/adonis6/**/*.spec.ts',
  // The hostile corpus' HTTP cases, aimed at the AdonisJS 6 app (tests/adonis6/target.ts)
  'tests/security/hostile_http.spec.ts',
]

if (process.env.ADONIS6_CHILD) {
  processCLIArgs(process.argv.splice(2))
  // forceExit: an app left running by a failed group setup cannot keep the run alive
  configure({ files: FILES, plugins: [assert()], timeout: 60_000, forceExit: true })
  await run()
} else {
  await orchestrate()
}

interface Summary {
  db: string
  passed: number
  failed: number
  skipped: number
  seconds: number
  code: number | null
}

function seconds(since: number) {
  return Math.round((Date.now() - since) / 100) / 10
}

async function orchestrate() {
  const started = Date.now()
  const sys = systemNode()
  console.log(`adonis6 lane: the app runs on ${sys.node} (${sys.version})`)

  const modules = await fixtureModules()
  const { meta } = modules
  console.log(
    `adonis6 lane: fixture modules in ${modules.dir} (${meta.builtFromSource.join(', ') || 'no addons'} built from source against ${meta.nodedir}/include/node${meta.networkIsolated ? ', without network' : ''})`
  )
  const tarball = await packTarball()
  const base = await prepareAdonis6Base(tarball)
  await describeBase(base)
  // Interrupted: the children get the signal too; the base app goes with us
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      rmSync(base.root, { recursive: true, force: true })
      process.exit(130)
    })
  }
  const prepared = seconds(started)
  console.log(`adonis6 lane: base app ready in ${prepared}s`)

  const dbs = (process.env.ADONIS6_DBS ?? 'sqlite,pg').split(',').filter(Boolean)
  const summaries: Summary[] = []
  try {
    for (const db of dbs) summaries.push(await runChild(db, base.root))
  } finally {
    await rm(base.root, { recursive: true, force: true })
  }

  console.log('')
  for (const s of summaries) {
    console.log(
      `adonis6 ${s.db}: ${s.passed} passed, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}, ${s.seconds}s (exit ${s.code})`
    )
  }
  const passed = summaries.reduce((sum, s) => sum + s.passed, 0)
  const failed = summaries.reduce((sum, s) => sum + s.failed, 0)
  const broken = summaries.filter((s) => s.code !== 0 && s.failed === 0).length
  console.log(`adonis6 lane: ${seconds(started)}s in all (${prepared}s preparing)`)
  console.log(`Tests  ${passed} passed, ${failed + broken} failed (${passed + failed + broken})`)
  process.exitCode = summaries.every((s) => s.code === 0) ? 0 : 1
}

function runChild(db: string, baseRoot: string): Promise<Summary> {
  const started = Date.now()
  console.log(`\nadonis6 lane: ${db}`)
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--enable-source-maps',
        '--import=@poppinss/ts-exec',
        fileURLToPath(import.meta.url),
        ...process.argv.slice(2),
      ],
      {
        env: {
          ...process.env,
          ADONIS6_CHILD: '1',
          ADONIS6_BASE: baseRoot,
          DB_CONNECTION: db,
          ROWND_TEST_TARGET: 'adonis6',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      }
    )
    let output = ''
    child.stdout!.on('data', (chunk) => {
      process.stdout.write(chunk)
      output += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => {
      // eslint-disable-next-line no-control-regex
      const plain = output.replace(/\u001B\[[\d;]*m/g, '')
      const line = plain.split('\n').findLast((text) => /^\s*Tests\s+/.test(text)) ?? ''
      const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(line)?.[1] ?? 0)
      resolve({
        db,
        passed: count('passed'),
        failed: count('failed'),
        skipped: count('skipped'),
        seconds: seconds(started),
        code,
      })
    })
  })
}
