import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import { chromium, type Browser } from 'playwright-core'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const SCREENSHOTS = fileURLToPath(new URL('../../screenshots/', import.meta.url))
const TMP = fileURLToPath(new URL('../../tmp/browser/', import.meta.url))

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Rownd's Hub, as @rowndHub() loads it by default: a module and its nomodule fallback */
export const REAL_HUB_BASE = 'https://hub.rownd.io'
export const REAL_HUB_MODULE = `${REAL_HUB_BASE}/static/scripts/rph.mjs`
export const REAL_HUB_SCRIPT = `${REAL_HUB_BASE}/static/scripts/rph.js`

/** Launches Debian's Chromium headless, with no background traffic */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`
    )
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  })
}

export function screenshotPath(name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true })
  return `${SCREENSHOTS}${name}.png`
}

export interface Demo {
  url: string
  mode: string
  process: ChildProcess
  stdout: string[]
  stderr: string[]
  sqliteFile: string
  /** Sends the signal and resolves with the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export interface ExitedDemo {
  code: number | null
  stdout: string
  stderr: string
}

/** Environment for the demo: the test runner's, minus any Rownd settings */
function demoEnv(env: Record<string, string | undefined>) {
  const base: Record<string, string | undefined> = { ...process.env }
  for (const key of Object.keys(base)) {
    if (key.startsWith('ROWND_') || key === 'PORT' || key === 'APP_KEY') delete base[key]
  }
  return { ...base, LOG_LEVEL: 'warn', ...env }
}

function spawnDemo(env: Record<string, string | undefined>) {
  mkdirSync(TMP, { recursive: true })
  const sqliteFile = `${TMP}demo-${randomUUID()}.sqlite3`
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import=@poppinss/ts-exec', 'examples/web/bin/demo.ts'],
    {
      cwd: REPO_ROOT,
      env: demoEnv({ PORT: '0', SQLITE_FILE: sqliteFile, ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }
  )
  const stdout: string[] = []
  const stderr: string[] = []
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code))
  )
  return { child, stdout, stderr, sqliteFile, exited }
}

/**
 * Starts `examples/web/bin/demo.ts` as `npm run demo` does, on a free port
 * and a throwaway SQLite file; resolves once it prints its URL.
 */
export async function startDemo(env: Record<string, string | undefined> = {}): Promise<Demo> {
  const { child, stdout, stderr, sqliteFile, exited } = spawnDemo(env)
  const ready = await new Promise<{ url: string; mode: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`demo did not start in 60s:\n${stdout.join('')}\n${stderr.join('')}`))
    }, 60_000)
    const check = () => {
      const text = stdout.join('')
      const url = text.match(/running at (http:\/\/\S+)/)?.[1]
      const mode = text.match(/Mode: (.+)\n/)?.[1]
      if (url && mode && text.includes('Ctrl-C to stop')) {
        clearTimeout(timer)
        resolve({ url, mode })
      }
    }
    child.stdout!.on('data', check)
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`demo exited (${code}):\n${stdout.join('')}\n${stderr.join('')}`))
    })
  })
  let stopped: Promise<number | null> | undefined
  return {
    ...ready,
    process: child,
    stdout,
    stderr,
    sqliteFile,
    stop(signal = 'SIGTERM') {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        const code = await exited
        clearTimeout(timer)
        rmSync(sqliteFile, { force: true })
        return code
      })()
      return stopped
    },
  }
}

/** Runs the demo expecting it to exit by itself (bad config, port taken) */
export async function runDemoToExit(env: Record<string, string | undefined>): Promise<ExitedDemo> {
  const { child, stdout, stderr, sqliteFile, exited } = spawnDemo(env)
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const code = await exited
  clearTimeout(timer)
  rmSync(sqliteFile, { force: true })
  return { code, stdout: stdout.join(''), stderr: stderr.join('') }
}
