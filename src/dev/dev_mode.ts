/*
 * Dev mode (`ROWND_EMULATOR=true`): the app talks to the Rownd emulator and
 * the stand-in Hub it serves instead of Rownd, so `node ace serve` signs
 * users in with no Rownd account and no network.
 *
 * Loaded only behind the switch (see switch.ts and the provider). The
 * emulator runs in this process, or is one already running for this app:
 * the one `node ace rownd:emulator` started (ROWND_EMULATOR_URL), or the
 * in-process one of the app's running server (advertised in emulator.json
 * next to the state), so `node ace rownd:token` and the server share users.
 *
 * Its state (app credentials, signing keys with their private parts,
 * users, sessions) persists in `<state dir>/state.json`: after a restart,
 * the same email signs in as the same Rownd user, so as the same row.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { E_ROWND_CONFIG } from '../errors.ts'
import type { ResolvedRowndConfig } from '../types.ts'
import { RowndEmulator } from '../testing/emulator/emulator.ts'
import { readEmulatorState, type EmulatorState } from '../testing/emulator/persistence.ts'
import { DEV_URL_ENV } from './switch.ts'

/**
 * `iss` of dev tokens: stable across restarts (the port may change) and
 * plainly not Rownd's
 */
export const DEV_ISSUER = 'urn:rownd-adonis:emulator'

/** The emulator dev mode uses */
export interface DevEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41237` */
  url: string
  appId: string
  appKey: string
  appSecret: string
  issuer: string
  /** `in-process`: started here; `connected`: one already running for this app */
  mode: 'in-process' | 'connected'
  stateFile: string
  /** The emulator itself, when it runs in this process */
  emulator?: RowndEmulator
  /** Stops the in-process emulator (state written) and withdraws its advertisement */
  close(): Promise<void>
}

export interface DevEmulatorOptions {
  /** Directory of state.json and emulator.json */
  stateDir: string
  /** ROWND_EMULATOR_URL: connect to this emulator, never start one */
  url?: string
  /** Port of an in-process emulator (default 0: a free one) */
  port?: number
  /** Never connect to a running emulator: always start one here (`rownd:emulator`) */
  standalone?: boolean
}

/** What a running emulator writes next to the state, so other processes find it */
interface Advertisement {
  url: string
  pid: number
  appId: string
}

export function stateFileOf(stateDir: string) {
  return join(stateDir, 'state.json')
}

export function advertisementFileOf(stateDir: string) {
  return join(stateDir, 'emulator.json')
}

function processAlive(pid: number) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether an emulator serving this app id answers at `url` */
export async function emulatorAnswers(url: string, appId: string, timeout = 1000) {
  try {
    const response = await fetch(`${url}/hub/app-config?app_id=${encodeURIComponent(appId)}`, {
      signal: AbortSignal.timeout(timeout),
      redirect: 'error',
    })
    await response.body?.cancel()
    return response.status === 200
  } catch {
    return false
  }
}

async function readAdvertisement(stateDir: string): Promise<Advertisement | undefined> {
  try {
    const value = JSON.parse(await readFile(advertisementFileOf(stateDir), 'utf8'))
    if (typeof value?.url === 'string' && typeof value?.pid === 'number') return value
  } catch {}
  return undefined
}

function connected(url: string, state: EmulatorState, stateFile: string): DevEmulator {
  return {
    url: url.replace(/\/+$/, ''),
    appId: state.app.id,
    appKey: state.app.key,
    appSecret: state.app.secret,
    issuer: state.issuer ?? DEV_ISSUER,
    mode: 'connected',
    stateFile,
    close: async () => {},
  }
}

/**
 * The emulator for dev mode: ROWND_EMULATOR_URL when given (it must
 * answer), else the one advertised in the state dir when it still answers,
 * else a new one in this process on the persisted state.
 */
export async function startDevEmulator(options: DevEmulatorOptions): Promise<DevEmulator> {
  const stateFile = stateFileOf(options.stateDir)
  let state: EmulatorState | undefined
  try {
    state = await readEmulatorState(stateFile)
  } catch (error) {
    throw new E_ROWND_CONFIG((error as Error).message)
  }

  if (options.url) {
    if (!state) {
      throw new E_ROWND_CONFIG(
        `${DEV_URL_ENV} is set (${options.url}) but ${stateFile} does not exist: start that emulator with "node ace rownd:emulator" from this app, which writes it, or unset ${DEV_URL_ENV} to run one in-process`
      )
    }
    if (!(await emulatorAnswers(options.url, state.app.id))) {
      throw new E_ROWND_CONFIG(
        `No Rownd emulator for this app answers at ${options.url} (${DEV_URL_ENV}): start it with "node ace rownd:emulator", or unset ${DEV_URL_ENV} to run one in-process`
      )
    }
    return connected(options.url, state, stateFile)
  }

  if (state && !options.standalone) {
    const running = await readAdvertisement(options.stateDir)
    if (
      running &&
      running.pid !== process.pid &&
      running.appId === state.app.id &&
      processAlive(running.pid) &&
      (await emulatorAnswers(running.url, state.app.id))
    ) {
      return connected(running.url, state, stateFile)
    }
  }

  const emulator = await RowndEmulator.start({
    stateFile,
    port: options.port ?? 0,
    issuer: state?.issuer ?? DEV_ISSUER,
    appName: state?.app.name ?? 'Rownd emulator (rownd-adonis dev mode)',
  })
  const advertisement = advertisementFileOf(options.stateDir)
  await mkdir(options.stateDir, { recursive: true })
  await writeFile(
    advertisement,
    `${JSON.stringify({ url: emulator.url, pid: process.pid, appId: emulator.appId })}\n`
  )
  let closed: Promise<void> | undefined
  return {
    url: emulator.url,
    appId: emulator.appId,
    appKey: emulator.appKey,
    appSecret: emulator.appSecret,
    issuer: emulator.issuer,
    mode: 'in-process',
    stateFile,
    emulator,
    close() {
      closed ??= (async () => {
        const current = await readAdvertisement(options.stateDir)
        if (current?.pid === process.pid && current.url === emulator.url) {
          await rm(advertisement, { force: true })
        }
        await emulator.close()
      })()
      return closed
    },
  }
}

/**
 * The app's Rownd config pointed at the emulator: its credentials and
 * issuer, its URL for the API, the Hub (`@rowndHub()` loads the stand-in
 * Hub from it) and the Hub's API. Pinned keys are dropped (the emulator
 * publishes its own).
 */
export function devConfig(config: ResolvedRowndConfig, emulator: DevEmulator): ResolvedRowndConfig {
  return {
    ...config,
    appKey: emulator.appKey,
    appSecret: emulator.appSecret,
    apiUrl: emulator.url,
    appId: emulator.appId,
    issuer: emulator.issuer,
    jwks: undefined,
    hub: { ...config.hub, baseUrl: emulator.url, scriptUrl: undefined, apiUrl: emulator.url },
  }
}
