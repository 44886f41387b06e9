import { RowndClient } from '../../src/client/rownd_client.ts'
import { defineConfig } from '../../src/define_config.ts'
import type { RowndConfigInput } from '../../src/types.ts'
import {
  EMULATOR_ENDPOINTS,
  RowndEmulator,
  type EmulatorEndpoint,
} from '../../src/testing/index.ts'

/**
 * Shared setup of the client suites: a real emulator and a client pointed
 * at it with short timeouts and backoff, both closed by the test's cleanup.
 */
export type Cleanup = (handler: () => void | Promise<void>) => void
export type ErrorClass = abstract new (...args: any[]) => Error

export async function startEmulator(cleanup: Cleanup) {
  const emulator = await RowndEmulator.start()
  cleanup(() => emulator.close())
  return emulator
}

export function createClient(
  cleanup: Cleanup,
  emulator: RowndEmulator,
  config: RowndConfigInput = {}
) {
  const client = new RowndClient(
    defineConfig({
      appKey: emulator.appKey,
      appSecret: emulator.appSecret,
      apiUrl: emulator.url,
      issuer: emulator.issuer,
      timeout: 500,
      ...config,
      cache: { retryBase: 50, retryMax: 200, ...config.cache },
    })
  )
  cleanup(() => client.close())
  return client
}

export async function setup(cleanup: Cleanup, config: RowndConfigInput = {}) {
  const emulator = await startEmulator(cleanup)
  const client = createClient(cleanup, emulator, config)
  return { emulator, client }
}

/**
 * Awaits a rejection and checks its class, code and status, plus that
 * nothing secret (the raw token, the app secret) shows in any rendering
 * of the error.
 */
export async function rejects(
  assert: any,
  promise: Promise<unknown>,
  errorClass: ErrorClass & { code?: string; status?: number },
  secrets: unknown[] = []
): Promise<any> {
  let error: any
  try {
    await promise
  } catch (caught) {
    error = caught
  }
  assert.exists(error, `expected a ${errorClass.code} rejection`)
  assert.instanceOf(error, errorClass, `got ${String(error)}`)
  assert.equal(error.code, errorClass.code)
  assert.equal(error.status, errorClass.status)
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length < 8) continue
    for (const rendering of [
      String(error),
      error.message,
      error.stack ?? '',
      JSON.stringify(error),
    ]) {
      assert.notInclude(rendering, secret)
    }
  }
  return error
}

/** Request counts of an emulator nobody has called yet */
export function zeroCounts(): Record<EmulatorEndpoint, number> {
  return Object.fromEntries(EMULATOR_ENDPOINTS.map((endpoint) => [endpoint, 0])) as Record<
    EmulatorEndpoint,
    number
  >
}
