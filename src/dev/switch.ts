/*
 * The dev-mode switch, read at boot. This module loads nothing of the
 * emulator: with the switch off, nothing under src/testing or
 * src/dev/dev_mode.ts is ever imported.
 */
import type { ApplicationService } from '@adonisjs/core/types'
import { E_ROWND_CONFIG } from '../errors.ts'

/** `ROWND_EMULATOR=true`: Rownd emulator and stand-in Hub instead of Rownd */
export const DEV_MODE_ENV = 'ROWND_EMULATOR'
/** URL of an emulator started by `node ace rownd:emulator` to use instead of an in-process one */
export const DEV_URL_ENV = 'ROWND_EMULATOR_URL'
/** Port of the in-process emulator (default: a free one) */
export const DEV_PORT_ENV = 'ROWND_EMULATOR_PORT'
/** Where the emulator keeps its state (default: the app's tmp/rownd-emulator) */
export const DEV_STATE_DIR_ENV = 'ROWND_EMULATOR_STATE_DIR'

/** NODE_ENV values (as AdonisJS normalises them) dev mode runs under */
const DEV_MODE_ENVIRONMENTS = ['development', 'test']

/** Whether `ROWND_EMULATOR` asks for dev mode (`true`, `1`, `yes`, `on`) */
export function devModeRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['true', '1', 'yes', 'on'].includes((env[DEV_MODE_ENV] ?? '').trim().toLowerCase())
}

/**
 * Refuses dev mode outside development and tests, at boot: the emulator
 * signs anyone in with any email, unchecked.
 */
export function assertDevModeAllowed(nodeEnvironment: string) {
  if (DEV_MODE_ENVIRONMENTS.includes(nodeEnvironment)) return
  const where =
    nodeEnvironment === 'production'
      ? 'NODE_ENV is production'
      : nodeEnvironment === 'unknown'
        ? 'NODE_ENV is not set'
        : `NODE_ENV is "${nodeEnvironment}"`
  throw new E_ROWND_CONFIG(
    `${DEV_MODE_ENV}=true refused: ${where}. The Rownd emulator signs in any email without checking it, so it runs only with NODE_ENV=development or test. Remove ${DEV_MODE_ENV} from this environment and set ROWND_APP_KEY and ROWND_APP_SECRET for real Rownd`
  )
}

/** Whether a port number from the environment is usable */
export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new E_ROWND_CONFIG(`${DEV_PORT_ENV} must be a port number (0-65535), got "${value}"`)
  }
  return port
}

/**
 * Where dev mode keeps the emulator's state: `ROWND_EMULATOR_STATE_DIR`, else
 * the app's `tmp/rownd-emulator`
 */
export function devStateDir(app: ApplicationService) {
  return process.env[DEV_STATE_DIR_ENV] || app.tmpPath('rownd-emulator')
}
