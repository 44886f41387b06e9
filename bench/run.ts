/*
 * rownd-adonis benchmark: `npm run bench`
 *
 * Boots the test app compiled, in production mode, pinned to core 0, and
 * drives it from this process (pinned to core 1) with autocannon over
 * 127.0.0.1. Prints one table and writes bench/results/latest.json and
 * bench/results/latest.svg (bench/results is not committed).
 *
 * Throughput lanes (each answers `{ id }` of user 1 but `open`; API routes,
 * no session middleware but `session`'s):
 *   open                 unprotected route
 *   floor                do-nothing guard (tests/fixtures/test_app/app/guards/
 *                        floor_guard.ts) behind middleware.rownd(): the ceiling
 *   floor_inline         the same guard, authenticate() in the handler
 *   rownd                `rownd` guard as `node ace configure` writes it, middleware
 *   rownd_inline         the same guard, authenticate() in the handler
 *   rownd_uncached       `rownd` guard with identityCache: false
 *   session              AdonisJS session guard (with session middleware)
 *   tokens               AdonisJS access-tokens guard
 *   rownd_same_rotating  /bench/rownd, one token through the rotating-header path
 *   rownd_distinct       /bench/rownd, a new token (same user) on every request
 * Every lane is reported as a ratio to `floor` and to `open`, paired round by
 * round: median and min–max over rounds.
 *
 *   BENCH_QUICK=1     1 round, 1 s windows, small counts (CI smoke check)
 *   BENCH_ROUNDS=n    rounds (default 5)      BENCH_DURATION=s   window (default 4)
 *   BENCH_SLICES=n    each lane's window in a round is cut into n slices, taken
 *                     in turn with the other lanes' (default 4; 1 in quick mode)
 *   BENCH_ONLY=a,b    only these parts: lane names above and/or signin, cold,
 *                     memory; `open` and `floor` run too when any lane does
 *                     (every ratio needs them)
 *   BENCH_PROFILE=1   run the throughput server with --cpu-prof (tmp/bench_prof)
 *   BENCH_MEMORY_ONE_USER=1  memory part: 100k distinct tokens of one user (no
 *                     database lookups), to separate token caches from the DB path
 *   BENCH_SERVER_FLAGS="--max-old-space-size=96"   extra node flags for the app
 *   --write-docs      (`npm run bench -- --write-docs`, or BENCH_WRITE_DOCS=1)
 *                     after a full run without errors, writes docs/performance.svg
 *                     and the results block of docs/performance.md (between
 *                     <!-- bench:results:start --> and <!-- bench:results:end -->).
 *                     Refused for BENCH_QUICK and BENCH_ONLY runs.
 *
 * Exits non-zero on crashes and request errors only; missed targets are
 * reported, not fatal.
 */

import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import knex, { type Knex } from 'knex'
import { RowndEmulator } from '../src/testing/index.ts'
import { buildRowndClaims, signCompact } from '../src/testing/tokens.ts'
import { mergeWindows, runWindow, storm, type WindowResult } from './lib/load.ts'
import {
  buildBenchApp,
  DRIVER_CORE,
  pinSelf,
  ROOT,
  SERVER_CORE,
  startBenchServer,
  type BenchServer,
} from './lib/server.ts'
import { assertWellFormed, renderChart, type LaneGroup } from './lib/chart.ts'
import { replaceResultsBlock } from './lib/docs.ts'
import {
  formatSpread,
  markdownTable,
  median,
  round,
  spread,
  table,
  type Spread,
} from './lib/stats.ts'

const QUICK = process.env.BENCH_QUICK === '1'
const ONLY = process.env.BENCH_ONLY?.split(',').filter(Boolean)
const runs = (part: string) => !ONLY || ONLY.includes(part)
const PROFILE = process.env.BENCH_PROFILE === '1'
const WRITE_DOCS = process.argv.includes('--write-docs') || process.env.BENCH_WRITE_DOCS === '1'
const config = {
  rounds: Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5)),
  duration: Number(process.env.BENCH_DURATION ?? (QUICK ? 1 : 4)),
  // A whole number of slices, at least 1 (a typo must not silently skip every lane)
  slices: Math.max(1, Math.floor(Number(process.env.BENCH_SLICES ?? (QUICK ? 1 : 4))) || 1),
  warmup: QUICK ? 0.5 : 1,
  connections: 20,
  microMs: QUICK ? 300 : 1000,
  seedUsers: QUICK ? 3000 : 100_000,
  distinctPool: QUICK ? 4000 : 50_000,
  coldStorm: QUICK ? 100 : 500,
  signInUsers: QUICK ? 20 : 100,
  sameUserRequests: QUICK ? 20 : 100,
  memoryTokens: QUICK ? 2000 : 100_000,
}

const errors: string[] = []
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`)

// The docs show one full run: refuse before spending minutes on a run that cannot go there
if (WRITE_DOCS && (QUICK || ONLY)) {
  log(
    `--write-docs needs a full run: ${QUICK ? 'BENCH_QUICK' : 'BENCH_ONLY'} is set, so the docs are not written. Run \`npm run bench -- --write-docs\` alone.`
  )
  process.exit(1)
}

/*
 * ---------------------------------------------------------------
 * Setup
 * ---------------------------------------------------------------
 */

const pinned = pinSelf(DRIVER_CORE)
if (!pinned) log('taskset unavailable: driver and server are NOT pinned')
const loadBefore = os.loadavg()

log('compiling the package and the test app into tmp/bench_build')
buildBenchApp()

const emulator = await RowndEmulator.start()
const workDir = join(ROOT, 'tmp/bench_work')
mkdirSync(workDir, { recursive: true })
const sqliteFile = join(workDir, `bench-${process.pid}.sqlite3`)
rmSync(sqliteFile, { force: true })

const serverEnv = {
  ROWND_APP_KEY: emulator.appKey,
  ROWND_APP_SECRET: emulator.appSecret,
  ROWND_API_URL: emulator.url,
  SQLITE_FILE: sqliteFile,
  AUTO_MIGRATE: 'true',
}
const profileDir = join(ROOT, 'tmp/bench_prof')
const servers: BenchServer[] = []
async function start(options: { profile?: boolean } = {}) {
  const server = await startBenchServer({
    env: serverEnv,
    pin: pinned,
    nodeFlags: [
      // Lets GET /_test/stats?gc=1 collect garbage before reading RSS, so
      // memory numbers show what is retained, not what V8 has not collected yet
      '--expose-gc',
      ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
    ],
  })
  servers.push(server)
  return server
}

const db: Knex = knex({
  client: 'better-sqlite3',
  connection: { filename: sqliteFile },
  useNullAsDefault: true,
})

const rowndId = (index: number) => `bench_user_${String(index).padStart(6, '0')}`

/** Inserts users 1..count with Rownd ids, so tokens of those ids map to existing rows */
async function seedUsers(count: number) {
  const stamp = new Date().toISOString().slice(0, 19).replace('T', ' ')
  const rows = Array.from({ length: count }, (_, index) => ({
    email: `bench${index + 1}@bench.test`,
    full_name: `Bench User ${index + 1}`,
    role: 'member',
    rownd_user_id: rowndId(index + 1),
    created_at: stamp,
    updated_at: stamp,
  }))
  await db.transaction(async (trx) => {
    for (let offset = 0; offset < rows.length; offset += 500) {
      await trx('users').insert(rows.slice(offset, offset + 500))
    }
  })
}

/** A token for a Rownd user, signed with the emulator's current key (random jti: always distinct) */
function signToken(userId: string) {
  const now = Math.floor(Date.now() / 1000)
  return signCompact(
    { alg: 'EdDSA', kid: emulator.currentKid },
    buildRowndClaims({
      appId: emulator.appId,
      issuer: emulator.issuer,
      userId,
      sub: userId,
      authLevel: 'verified',
      isVerifiedUser: true,
      isAnonymous: false,
      issuedAt: now,
      expiresAt: now + 4 * 3600,
    }),
    emulator.signingKey
  )
}

async function signMany(count: number, userOf: (index: number) => string) {
  const out: string[] = new Array(count)
  for (let offset = 0; offset < count; offset += 256) {
    const batch = Math.min(256, count - offset)
    const tokens = await Promise.all(
      Array.from({ length: batch }, (_, index) => signToken(userOf(offset + index)))
    )
    for (let index = 0; index < batch; index++) out[offset + index] = `Bearer ${tokens[index]}`
  }
  return out
}

function outbound() {
  const counts = emulator.counts()
  return Object.values(counts).reduce((sum, count) => sum + count, 0)
}

/** Raw jose verification cost, measured on the server's core while the server idles */
function verifyMicro() {
  const args = ['--import=@poppinss/ts-exec', 'bench/verify_micro.ts', String(config.microMs)]
  const stdout = pinned
    ? execFileSync('taskset', ['-c', String(SERVER_CORE), process.execPath, ...args], { cwd: ROOT })
    : execFileSync(process.execPath, args, { cwd: ROOT })
  return JSON.parse(stdout.toString().trim().split('\n').pop()!) as {
    sequential: { count: number; cpuMicros: number; wallMicros: number }
    concurrent20: { count: number; cpuMicros: number; wallMicros: number }
  }
}

/*
 * ---------------------------------------------------------------
 * Throughput: sections 1, 2 and 3
 * ---------------------------------------------------------------
 */

interface Scenario {
  name: string
  label: string
  /** Colour in the chart */
  group: LaneGroup
  path: string
  headers: Record<string, string>
  rotate?: { pool: string[]; cursor: { next: number } }
}

interface RoundSample extends WindowResult {
  serverCpuMicrosPerRequest: number
  outbound: number
}

const results: Record<string, unknown> = {}
const samples: Record<string, RoundSample[]> = {}
const micro: Array<ReturnType<typeof verifyMicro>> = []

let server = await start({ profile: PROFILE })
log(`server ${server.url} (pid ${server.pid}), emulator ${emulator.url}`)
log(`seeding ${config.seedUsers} users`)
await seedUsers(config.seedUsers)

const loginResponse = await fetch(`${server.url}/_test/web_login/1`, { method: 'POST' })
if (!loginResponse.ok) throw new Error(`web_login answered ${loginResponse.status}`)
const cookie = loginResponse.headers
  .getSetCookie()
  .map((header) => header.split(';')[0])
  .join('; ')
const tokenResponse = await fetch(`${server.url}/_test/api_token/1`, { method: 'POST' })
if (!tokenResponse.ok) throw new Error(`api_token answered ${tokenResponse.status}`)
const accessToken = ((await tokenResponse.json()) as { token: string }).token

const warmBearer = `Bearer ${await signToken(rowndId(1))}`
log(`signing ${config.distinctPool} distinct tokens for one user`)
const distinctPool = await signMany(config.distinctPool, () => rowndId(1))

const allScenarios: Scenario[] = [
  { name: 'open', label: 'unprotected', group: 'reference', path: '/bench/open', headers: {} },
  {
    // No token work: what any guard pays in AdonisJS, the rownd lanes' ceiling
    name: 'floor',
    label: 'floor: do-nothing guard, middleware',
    group: 'reference',
    path: '/bench/floor',
    headers: { authorization: warmBearer },
  },
  {
    name: 'floor_inline',
    label: 'floor, in handler',
    group: 'reference',
    path: '/bench/floor_inline',
    headers: { authorization: warmBearer },
  },
  {
    name: 'rownd',
    label: 'rownd, warm token, middleware',
    group: 'rownd',
    path: '/bench/rownd',
    headers: { authorization: warmBearer },
  },
  {
    // auth.use('rownd').authenticate() in the handler: no middleware to resolve
    name: 'rownd_inline',
    label: 'rownd, warm token, in handler',
    group: 'rownd',
    path: '/bench/rownd_inline',
    headers: { authorization: warmBearer },
  },
  {
    name: 'rownd_uncached',
    label: 'rownd, identity cache off',
    group: 'rownd',
    path: '/bench/rownd_uncached',
    headers: { authorization: warmBearer },
  },
  {
    name: 'session',
    label: 'AdonisJS session guard',
    group: 'other',
    path: '/bench/session',
    headers: { cookie },
  },
  {
    name: 'tokens',
    label: 'AdonisJS access tokens',
    group: 'other',
    path: '/bench/tokens',
    headers: { authorization: `Bearer ${accessToken}` },
  },
  {
    name: 'rownd_same_rotating',
    label: 'rownd, warm (rotation path)',
    group: 'rownd',
    path: '/bench/rownd',
    headers: {},
    rotate: { pool: [warmBearer], cursor: { next: 0 } },
  },
  {
    name: 'rownd_distinct',
    label: 'rownd, a new token per request',
    group: 'rownd',
    path: '/bench/rownd',
    headers: {},
    rotate: { pool: distinctPool, cursor: { next: 0 } },
  },
]
/** Every ratio is taken against these two: they run whenever any lane does */
const REFERENCES = ['open', 'floor']
const anyLane = allScenarios.some((s) => runs(s.name))
const scenarios = allScenarios.filter(
  (s) => runs(s.name) || (anyLane && REFERENCES.includes(s.name))
)

// Each route must answer 200 with user 1 before it is measured
for (const scenario of scenarios) {
  const headers = scenario.rotate ? { authorization: scenario.rotate.pool[0] } : scenario.headers
  const response = await fetch(`${server.url}${scenario.path}`, { headers })
  const body = (await response.json().catch(() => null)) as { id?: number; ok?: boolean } | null
  if (response.status !== 200 || (scenario.name !== 'open' && body?.id !== 1)) {
    throw new Error(`${scenario.path} answered ${response.status} ${JSON.stringify(body)}`)
  }
}

log('warming up')
for (const scenario of scenarios) {
  await runWindow({
    url: server.url,
    connections: config.connections,
    duration: config.warmup,
    ...scenario,
  })
}

/** One slice of a lane: its window, the server CPU and the Rownd calls it caused */
async function measureSlice(scenario: Scenario, duration: number) {
  emulator.resetCounts()
  const cpuBefore = server.cpuMicros()
  const window = await runWindow({
    url: server.url,
    connections: config.connections,
    duration,
    ...scenario,
  })
  return { window, cpuUsed: server.cpuMicros() - cpuBefore, outbound: outbound() }
}

/*
 * A round gives every lane `duration` seconds, cut into slices taken in
 * turn (lane A, B, C, A, B, C, ...): this VM's speed drifts by up to 2x
 * within seconds, and lanes measured in alternating slices see the same
 * drift, so their ratios within a round hold where back-to-back 4 s
 * windows did not.
 */
for (let roundIndex = 0; roundIndex < config.rounds; roundIndex++) {
  const slices: Record<string, Array<Awaited<ReturnType<typeof measureSlice>>>> = {}
  for (let slice = 0; slice < config.slices; slice++) {
    // Rotate the order so no scenario always runs first or last
    const shift = roundIndex + slice
    for (let index = 0; index < scenarios.length; index++) {
      const scenario = scenarios[(index + shift) % scenarios.length]
      ;(slices[scenario.name] ??= []).push(
        await measureSlice(scenario, config.duration / config.slices)
      )
    }
  }
  for (const scenario of scenarios) {
    const taken = slices[scenario.name]
    const window = mergeWindows(taken.map((each) => each.window))
    const cpuUsed = taken.reduce((total, each) => total + each.cpuUsed, 0)
    const sample: RoundSample = {
      ...window,
      serverCpuMicrosPerRequest: cpuUsed / Math.max(1, window.requests),
      outbound: taken.reduce((total, each) => total + each.outbound, 0),
    }
    if (window.non2xx > 0 || window.errors > 0) {
      errors.push(
        `${scenario.name}: ${window.non2xx} non-2xx, ${window.errors} errors (${JSON.stringify(window.statusCodes)})`
      )
    }
    ;(samples[scenario.name] ??= []).push(sample)
    log(
      `round ${roundIndex + 1}/${config.rounds} ${scenario.name.padEnd(20)} ${round(sample.rps, 0)} req/s, p50 ${sample.p50} ms, p99 ${sample.p99} ms, cpu ${round(sample.serverCpuMicrosPerRequest, 0)} us/req, outbound ${sample.outbound}`
    )
  }
  micro.push(verifyMicro())
}

/** Per-round ratios of `a` over `b`, pairing samples taken in the same round */
function ratioRounds(a: string, b: string) {
  if (!samples[a] || !samples[b]) return []
  return samples[a].map((s, index) => s.rps / samples[b][index].rps)
}
/** A per-round ratio's median and range, with the rounds it came from */
function ratioSpread(a: string, b: string): Spread & { rounds: number[] } {
  const rounds = ratioRounds(a, b)
  return { ...spread(rounds), rounds }
}
/** Median over rounds of the extra time per request of `a` over `b` */
function extraMicros(
  a: string,
  b: string,
  perRequest: (s: RoundSample) => number = (s) => 1e6 / s.rps
) {
  if (!samples[a] || !samples[b]) return Number.NaN
  return median(samples[a].map((s, index) => perRequest(s) - perRequest(samples[b][index])))
}

interface LaneSummary {
  label: string
  path: string
  /** Medians over rounds */
  rps: number
  p50: number
  p99: number
  serverCpuMicrosPerRequest: number
  /** Sum over rounds */
  outbound: number
  driverCpuShare: number
  /** Median and min–max over rounds */
  spread: { rps: Spread; serverCpuMicrosPerRequest: Spread }
  /** req/s over the floor lane's, per round: median, min–max and the rounds */
  vsFloor: Spread & { rounds: number[] }
  /** req/s over the unprotected lane's, per round */
  vsOpen: Spread & { rounds: number[] }
}

const summary: Record<string, LaneSummary> = {}
for (const scenario of scenarios) {
  const list = samples[scenario.name]
  const rps = spread(list.map((s) => s.rps))
  const cpu = spread(list.map((s) => s.serverCpuMicrosPerRequest))
  summary[scenario.name] = {
    label: scenario.label,
    path: scenario.path,
    rps: rps.median,
    p50: median(list.map((s) => s.p50)),
    p99: median(list.map((s) => s.p99)),
    serverCpuMicrosPerRequest: cpu.median,
    outbound: list.reduce((sum, s) => sum + s.outbound, 0),
    driverCpuShare: median(list.map((s) => s.driverCpuShare)),
    spread: { rps, serverCpuMicrosPerRequest: cpu },
    vsFloor: ratioSpread(scenario.name, 'floor'),
    vsOpen: ratioSpread(scenario.name, 'open'),
  }
}

const rawVerify = {
  sequentialCpuMicros: median(micro.map((m) => m.sequential.cpuMicros)),
  sequentialWallMicros: median(micro.map((m) => m.sequential.wallMicros)),
  concurrent20CpuMicros: median(micro.map((m) => m.concurrent20.cpuMicros)),
}
const distinct = {
  extraMicrosFromThroughput: extraMicros('rownd_distinct', 'rownd_same_rotating'),
  extraMicrosFromThroughputVsFixedHeader: extraMicros('rownd_distinct', 'rownd'),
  extraServerCpuMicros: extraMicros(
    'rownd_distinct',
    'rownd_same_rotating',
    (s) => s.serverCpuMicrosPerRequest
  ),
}

/*
 * ---------------------------------------------------------------
 * Section 5: first sign-in storm (on the warm server)
 * ---------------------------------------------------------------
 */

async function signInStorm() {
  const ids = Array.from({ length: config.signInUsers }, (_, index) => `signin_${index + 1}`)
  for (const [index, userId] of ids.entries()) {
    emulator.createUser({ userId, email: `signin${index + 1}@bench.test`, firstName: 'New' })
  }
  const tokens = await Promise.all(ids.map((userId) => emulator.mintToken({ userId })))
  emulator.resetCounts()
  const many = await storm(
    server.url,
    tokens.map((token) => ({ path: '/bench/rownd', headers: { authorization: `Bearer ${token}` } }))
  )
  const manyRows = await db('users').whereIn('rownd_user_id', ids).count({ count: '*' })
  const manyProfileFetches = emulator.requestCount('user_get')

  const single = 'signin_single'
  emulator.createUser({ userId: single, email: 'single@bench.test' })
  const token = await emulator.mintToken({ userId: single })
  emulator.resetCounts()
  const one = await storm(
    server.url,
    Array.from({ length: config.sameUserRequests }, () => ({
      path: '/bench/rownd',
      headers: { authorization: `Bearer ${token}` },
    }))
  )
  const oneRows = await db('users').where('rownd_user_id', single).count({ count: '*' })
  const result = {
    newUsers: {
      users: ids.length,
      ...many,
      rowsCreated: Number(manyRows[0].count),
      profileFetches: manyProfileFetches,
      errors: many.sent - many.ok,
    },
    oneNewUser: {
      ...one,
      rowsCreated: Number(oneRows[0].count),
      profileFetches: emulator.requestCount('user_get'),
      errors: one.sent - one.ok,
    },
  }
  if (result.newUsers.errors || result.newUsers.rowsCreated !== ids.length) {
    errors.push(`sign-in storm: ${JSON.stringify(result.newUsers)}`)
  }
  if (result.oneNewUser.errors || result.oneNewUser.rowsCreated !== 1) {
    errors.push(`one-user storm: ${JSON.stringify(result.oneNewUser)}`)
  }
  return result
}

/*
 * ---------------------------------------------------------------
 * Section 4: cold-start storm, then section 6: memory (fresh process)
 * ---------------------------------------------------------------
 */

async function coldStorm() {
  const tokens = await signMany(config.coldStorm, (index) => rowndId(index + 1))
  emulator.resetCounts()
  server = await start()
  const bootOutbound = outbound()
  const result = await storm(
    server.url,
    tokens.map((authorization) => ({ path: '/bench/rownd', headers: { authorization } }))
  )
  const fetches = {
    appConfig: emulator.requestCount('app_config'),
    jwks: emulator.requestCount('jwks'),
    total: outbound(),
    duringBoot: bootOutbound,
  }
  if (result.ok !== result.sent) errors.push(`cold storm: ${JSON.stringify(result)}`)
  return { ...result, fetches }
}

async function memory() {
  // The bench API routes run without session middleware, like an API app's;
  // the guard as configure writes it, so its caches are the defaults.
  // Baseline after JIT and heap warm-up with a repeated token, so growth is the caches'
  await runWindow({
    url: server.url,
    path: '/bench/rownd',
    connections: config.connections,
    duration: config.warmup * 2,
    headers: { authorization: warmBearer },
  })
  const before = await server.stats({ gc: true })
  log(`signing ${config.memoryTokens} tokens for ${config.memoryTokens} users`)
  const pool = await signMany(config.memoryTokens, (index) =>
    rowndId(process.env.BENCH_MEMORY_ONE_USER ? 1 : index + 1)
  )
  emulator.resetCounts()
  const run = await runWindow({
    url: server.url,
    path: '/bench/rownd',
    connections: config.connections,
    amount: config.memoryTokens,
    rotate: { pool, cursor: { next: 0 } },
  })
  // Idle a moment, as a server between bursts: V8 gives back heap it grew
  // for the burst's garbage, so what remains is what the caches retain
  await new Promise((resolve) => setTimeout(resolve, QUICK ? 500 : 10_000))
  const after = await server.stats({ gc: true })
  if (run.non2xx || run.errors) {
    errors.push(`memory run: ${run.non2xx} non-2xx, ${run.errors} errors`)
  }
  return {
    tokens: config.memoryTokens,
    users: config.memoryTokens,
    rps: run.rps,
    outbound: outbound(),
    before,
    after,
    rssGrowthMb: (after.rss - before.rss) / 2 ** 20,
  }
}

let signIn: Awaited<ReturnType<typeof signInStorm>> | undefined
let cold: Awaited<ReturnType<typeof coldStorm>> | undefined
let mem: Awaited<ReturnType<typeof memory>> | undefined
try {
  if (runs('signin')) {
    log('first sign-in storm')
    signIn = await signInStorm()
  }
  await server.stop()
  if (runs('cold')) {
    log(`cold-start storm (${config.coldStorm} requests)`)
    cold = await coldStorm()
  }
  if (runs('memory')) {
    if (!cold) server = await start()
    log(`memory (${config.memoryTokens} distinct tokens, users)`)
    mem = await memory()
  }
  await server.stop()
} finally {
  for (const running of servers) await running.stop()
  await db.destroy()
  await emulator.close()
  rmSync(sqliteFile, { force: true })
}

/*
 * ---------------------------------------------------------------
 * Report
 * ---------------------------------------------------------------
 */

interface Target {
  name: string
  target: string
  /** The median over rounds, for throughput targets */
  value: number | string
  /** min–max over rounds, when the value is a median of rounds */
  range?: string
  /** Digits shown (2 unless set) */
  digits?: number
  pass: boolean | 'n/a'
}
const rangeOf = (value: Spread, digits = 2) =>
  Number.isFinite(value.min) ? `${round(value.min, digits)}–${round(value.max, digits)}` : ''
/** req/s of lane `a` over lane `b`, round by round; 'n/a' when BENCH_ONLY left one out */
function ratioAtLeast(name: string, a: string, b: string, wanted: number): Target {
  const value = ratioSpread(a, b)
  return {
    name,
    target: `>= ${wanted}`,
    value: value.median,
    range: rangeOf(value),
    pass: Number.isNaN(value.median) ? 'n/a' : value.median >= wanted,
  }
}
const distinctRatio = distinct.extraMicrosFromThroughput / rawVerify.sequentialCpuMicros
const uncachedCpu = summary.rownd_uncached?.spread.serverCpuMicrosPerRequest ?? spread([])
const targets: Target[] = [
  ratioAtLeast('rownd (default config) / floor, middleware', 'rownd', 'floor', 0.9),
  ratioAtLeast('rownd (default config) / floor, in handler', 'rownd_inline', 'floor_inline', 0.9),
  ratioAtLeast('warm bearer / unprotected', 'rownd', 'open', 0.5),
  ratioAtLeast('warm bearer / session guard', 'rownd', 'session', 1.2),
  ratioAtLeast('warm bearer / access-tokens guard', 'rownd', 'tokens', 2.5),
  {
    name: 'identity cache off: server CPU us/req',
    target: '<= 200',
    value: uncachedCpu.median,
    range: rangeOf(uncachedCpu, 0),
    digits: 0,
    pass: Number.isNaN(uncachedCpu.median) ? 'n/a' : uncachedCpu.median <= 200,
  },
  {
    name: 'extra us per distinct token / raw verify us',
    target: '<= 1.25',
    value: distinctRatio,
    pass: Number.isNaN(distinctRatio) ? 'n/a' : distinctRatio <= 1.25,
  },
  {
    name: 'outbound requests once warm',
    target: '0',
    value: Object.values(summary).reduce((sum, s) => sum + s.outbound, 0),
    pass: Object.values(summary).every((s) => s.outbound === 0),
  },
  ...(cold
    ? [
        {
          name: 'cold storm app_config + jwks fetches',
          target: '1 + 1',
          value: `${cold.fetches.appConfig} + ${cold.fetches.jwks}`,
          pass: cold.fetches.appConfig === 1 && cold.fetches.jwks === 1,
        },
      ]
    : []),
  ...(mem
    ? [
        {
          name: `RSS growth over ${mem.tokens} distinct tokens (MB)`,
          target: '<= 64',
          value: mem.rssGrowthMb,
          pass: mem.rssGrowthMb <= 64,
        },
      ]
    : []),
]

const cpus = os.cpus()
const machine = {
  cpu: cpus[0]?.model ?? 'unknown',
  cores: cpus.length,
  os: `${os.type()} ${os.release()}`,
  memoryGb: round(os.totalmem() / 2 ** 30, 1),
  loadAverageBefore: loadBefore.map((value) => round(value)),
  loadAverageAfter: os.loadavg().map((value) => round(value)),
  pinned: pinned ? { server: SERVER_CORE, driver: DRIVER_CORE } : false,
}

/** A number for a table: rounded, or n/a when BENCH_ONLY left out what it needs */
const show = (value: number, digits = 2) => (Number.isFinite(value) ? round(value, digits) : 'n/a')

/** The lane table; `code` puts lane names in backticks (Markdown) */
function throughputRows(code = false): Array<Array<string | number>> {
  return [
    [
      'lane',
      'what',
      'req/s',
      'x floor',
      'x open',
      'p50 ms',
      'p99 ms',
      'server CPU us/req',
      'outbound',
    ],
    ...Object.entries(summary).map(([name, s]) => [
      code ? `\`${name}\`` : name,
      s.label,
      formatSpread(s.spread.rps, 0),
      formatSpread(s.vsFloor),
      formatSpread(s.vsOpen),
      s.p50,
      s.p99,
      formatSpread(s.spread.serverCpuMicrosPerRequest, 0),
      s.outbound,
    ]),
  ]
}
const targetRows: Array<Array<string | number>> = [
  ['target', 'wanted', 'got (median)', 'rounds min–max', 'result'],
  ...targets.map((t) => [
    t.name,
    t.target,
    typeof t.value === 'number' ? show(t.value, t.digits) : t.value,
    t.range ?? '',
    t.pass === 'n/a' ? 'n/a' : t.pass ? 'pass' : 'MISS',
  ]),
]
const otherRows: Array<Array<string | number>> = [
  ['measure', 'value'],
  ['raw jose EdDSA verify, CPU us (tight loop)', show(rawVerify.sequentialCpuMicros, 1)],
  ['raw jose EdDSA verify, CPU us (20 in flight)', show(rawVerify.concurrent20CpuMicros, 1)],
  ['distinct token extra us/req (from req/s)', show(distinct.extraMicrosFromThroughput, 1)],
  ['distinct token extra server CPU us/req', show(distinct.extraServerCpuMicros, 1)],
]
if (cold) {
  otherRows.push(
    [
      `cold storm: ${cold.sent} first requests, ok / fetches app_config+jwks (total)`,
      `${cold.ok} / ${cold.fetches.appConfig}+${cold.fetches.jwks} (${cold.fetches.total})`,
    ],
    [
      'cold storm: first success / all done (ms)',
      `${round(cold.firstSuccessMs ?? Number.NaN, 0)} / ${round(cold.allDoneMs, 0)}`,
    ]
  )
}
if (signIn) {
  otherRows.push(
    [
      `sign-in storm: ${signIn.newUsers.users} new users, rows / errors / profile fetches`,
      `${signIn.newUsers.rowsCreated} / ${signIn.newUsers.errors} / ${signIn.newUsers.profileFetches}`,
    ],
    [
      `sign-in storm: ${signIn.oneNewUser.sent} requests of one new user, rows / errors / profile fetches`,
      `${signIn.oneNewUser.rowsCreated} / ${signIn.oneNewUser.errors} / ${signIn.oneNewUser.profileFetches}`,
    ]
  )
}
if (mem) {
  otherRows.push(
    [
      `memory: RSS before / after ${mem.tokens} tokens+users (MB)`,
      `${round(mem.before.rss / 2 ** 20, 1)} / ${round(mem.after.rss / 2 ** 20, 1)}`,
    ],
    [
      'memory: verified-token / identity / profile cache entries after',
      `${mem.after.verifiedTokens} / ${mem.after.defaultIdentities} / ${mem.after.profiles}`,
    ]
  )
}

const date = new Date().toISOString()
const machineLine = [
  `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}`,
  `Node ${process.version}, ${date.slice(0, 10)}`,
  pinned
    ? `server pinned to core ${SERVER_CORE}, load generator to core ${DRIVER_CORE}`
    : 'NOT pinned (taskset unavailable)',
  `load average before ${machine.loadAverageBefore.join(' ')}, after ${machine.loadAverageAfter.join(' ')}`,
  `${config.rounds} round(s) x ${config.duration} s (${config.slices} interleaved slices), ${config.connections} connections, median of rounds`,
].join('; ')
const header = `rownd-adonis bench${QUICK ? ' (QUICK smoke run: numbers are not meaningful)' : ''}
${machineLine}
ratios (x floor, x open): req/s over that lane's in the same round; median (min–max over rounds)`
process.stdout.write(
  `\n${header}\n\n${table(throughputRows(), 2)}\n\n${table(otherRows)}\n\n${table(targetRows)}\n`
)
if (errors.length) process.stdout.write(`\nERRORS:\n${errors.map((e) => `  ${e}`).join('\n')}\n`)

/*
 * ---------------------------------------------------------------
 * Files: latest.json, latest.svg, and the docs on request
 * ---------------------------------------------------------------
 */

const chart = renderChart({
  title: `rownd-adonis bench${QUICK ? ' (QUICK smoke run: not meaningful)' : ''}`,
  subtitle: `${machine.cpu}, ${machine.cores} cores, Node ${process.version}, ${date.slice(0, 10)}; ${config.rounds} round(s) x ${config.duration} s, ${config.connections} connections`,
  lanes: scenarios.map((scenario) => ({
    label: scenario.label,
    group: scenario.group,
    rps: summary[scenario.name].spread.rps,
    cpuMicros: summary[scenario.name].spread.serverCpuMicrosPerRequest,
  })),
})
try {
  assertWellFormed(chart)
} catch (error) {
  errors.push(`chart: not well-formed SVG (${(error as Error).message})`)
}

const resultsDir = join(ROOT, 'bench/results')
mkdirSync(resultsDir, { recursive: true })
Object.assign(results, {
  date,
  node: process.version,
  machine,
  machineLine,
  quick: QUICK,
  config,
  throughput: summary,
  rounds: samples,
  rawVerify,
  rawVerifyRounds: micro,
  distinct,
  ratios: {
    rowndVsFloor: ratioSpread('rownd', 'floor'),
    rowndInlineVsFloorInline: ratioSpread('rownd_inline', 'floor_inline'),
    rowndUncachedVsFloor: ratioSpread('rownd_uncached', 'floor'),
    rowndVsOpen: ratioSpread('rownd', 'open'),
    floorVsOpen: ratioSpread('floor', 'open'),
    rowndVsSession: ratioSpread('rownd', 'session'),
    rowndVsTokens: ratioSpread('rownd', 'tokens'),
  },
  coldStorm: cold,
  signInStorm: signIn,
  memory: mem,
  targets,
  errors,
  markdown: {
    throughput: markdownTable(throughputRows(true), 2),
    other: markdownTable(otherRows),
    targets: markdownTable(targetRows),
  },
})
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
writeFileSync(join(resultsDir, 'latest.svg'), chart)
log(
  `wrote bench/results/latest.json and latest.svg${PROFILE ? `; CPU profile in ${profileDir}` : ''}`
)

if (WRITE_DOCS) {
  if (errors.length) {
    log('--write-docs: the run had errors, so the docs are not written')
  } else {
    const page = join(ROOT, 'docs/performance.md')
    const block = [
      '<!-- Written by `npm run bench -- --write-docs` (bench/run.ts): edits between the markers are overwritten -->',
      '',
      `${machineLine}. Ratios: req/s over the floor lane's (\`x floor\`) and the unprotected route's (\`x open\`) in the same round; median (min–max over rounds).`,
      '',
      markdownTable(throughputRows(true), 2),
      '',
      markdownTable(targetRows),
      '',
      markdownTable(otherRows),
      '',
      '![bench chart](performance.svg)',
    ].join('\n')
    writeFileSync(join(ROOT, 'docs/performance.svg'), chart)
    writeFileSync(page, replaceResultsBlock(readFileSync(page, 'utf8'), block))
    log('wrote docs/performance.md (results block) and docs/performance.svg')
  }
}

process.exitCode = errors.length ? 1 : 0
