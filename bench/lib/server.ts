/*
 * rownd-adonis benchmark
 *
 * Compiles the package and the test app once, then runs the compiled app
 * in production mode pinned to one core.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { waitForListening } from '../../tests/helpers/test_app.ts'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BUILD_DIR = join(ROOT, 'tmp/bench_build')
const APP_DIR = join(BUILD_DIR, 'tests/fixtures/test_app')

/** Core the app runs on; the driver (load generator, emulator) takes the other one */
export const SERVER_CORE = 0
export const DRIVER_CORE = 1

/**
 * `tsc -p bench/tsconfig.bench.json` into tmp/bench_build. tsc rewrites
 * `.ts` specifiers of most dynamic imports, but not the provider/preload
 * thunks of adonisrc, so relative `import('./x.ts')` left in the output
 * are rewritten here.
 */
export function buildBenchApp() {
  rmSync(BUILD_DIR, { recursive: true, force: true })
  try {
    execFileSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(ROOT, 'bench/tsconfig.bench.json'),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }
    )
  } catch (error) {
    // Type errors still emit JavaScript (typecheck is `npm run typecheck`'s job)
    if (!existsSync(join(APP_DIR, 'bin/server.js'))) throw error
    const output = String((error as { stdout?: Buffer }).stdout ?? '').trim()
    process.stderr.write(
      `[bench] tsc reported type errors, JavaScript emitted anyway:\n${output}\n`
    )
  }
  const leftover = /(import\(\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"]\s*\))/g
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) visit(path)
      else if (name.endsWith('.js')) {
        const source = readFileSync(path, 'utf8')
        const rewritten = source.replace(leftover, '$1$2.js$3')
        if (rewritten !== source) writeFileSync(path, rewritten)
      }
    }
  }
  visit(BUILD_DIR)
}

/** Pins every thread of this process to one core; false when taskset is unavailable */
export function pinSelf(core: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

let clockTicks: number | undefined
function ticksPerSecond() {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** CPU time (user + system, all threads) a process used so far, in microseconds */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may contain spaces) start at ") "
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return ((utime + stime) * 1e6) / ticksPerSecond()
}

export interface BenchServer {
  url: string
  pid: number
  process: ChildProcess
  output: string[]
  stats(options?: { gc?: boolean }): Promise<{
    verifiedTokens: number
    profiles: number
    revocations: number
    identities: number
    /** Identity cache entries of the default `rownd` guard (the one the bench drives) */
    defaultIdentities: number
    rss: number
  }>
  cpuMicros(): number
  stop(): Promise<void>
}

export interface StartOptions {
  env: Record<string, string>
  /** Extra node flags, e.g. --cpu-prof */
  nodeFlags?: string[]
  pin?: boolean
}

/** Starts the compiled app (NODE_ENV=production) on 127.0.0.1, pinned to SERVER_CORE */
export async function startBenchServer(options: StartOptions): Promise<BenchServer> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    RECORD_EVENTS: 'false',
    DB_CONNECTION: 'sqlite',
    ...options.env,
  }
  delete env.NODE_OPTIONS
  const nodeArgs = [...(options.nodeFlags ?? []), 'bin/server.js']
  const child =
    options.pin === false
      ? spawn(process.execPath, nodeArgs, { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('taskset', ['-c', String(SERVER_CORE), process.execPath, ...nodeArgs], {
          cwd: APP_DIR,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
  const output: string[] = []
  const url = await waitForListening(child, output, 'bench app', 500)
  const pid = child.pid!

  return {
    url,
    pid,
    process: child,
    output,
    async stats(request: { gc?: boolean } = {}) {
      const response = await fetch(`${url}/_test/stats${request.gc ? '?gc=1' : ''}`)
      if (!response.ok) throw new Error(`GET /_test/stats answered ${response.status}`)
      return (await response.json()) as Awaited<ReturnType<BenchServer['stats']>>
    },
    cpuMicros: () => processCpuMicros(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
