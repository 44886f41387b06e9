/*
 * rownd-adonis
 *
 * Fault injection and request counters: tests make an endpoint slow, failing,
 * malformed or unreachable, then check how often it was called.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { sendError, sendRaw } from './http.ts'

/**
 * Every counted endpoint of the emulator
 */
export const EMULATOR_ENDPOINTS = [
  'app_config',
  'jwks',
  'discovery',
  'user_get',
  'user_put',
  'user_patch',
  'user_delete',
  'users_list',
  'signout',
  'magic_link',
  'token_refresh',
  'me_data',
  'me_signout',
] as const

export type EmulatorEndpoint = (typeof EMULATOR_ENDPOINTS)[number]

export type EmulatorFault =
  | { kind: 'latency'; ms: number }
  | { kind: 'status'; status: number }
  | { kind: 'malformed_json' }
  | { kind: 'malformed_jwks'; body?: unknown }
  | { kind: 'reset' }
  | { kind: 'hang' }

export interface EmulatorFaultOptions {
  /** Apply the fault to this many requests only, then answer normally */
  times?: number
}

function zeroCounts(): Record<EmulatorEndpoint, number> {
  return Object.fromEntries(EMULATOR_ENDPOINTS.map((name) => [name, 0])) as Record<
    EmulatorEndpoint,
    number
  >
}

/**
 * The faults set on endpoints, the requests counted per endpoint and the
 * timers of injected latency (cancelled on close, so close never waits).
 */
export class FaultInjector {
  #faults = new Map<EmulatorEndpoint | '*', { fault: EmulatorFault; remaining: number }>()
  #counts = zeroCounts()
  #timers = new Map<NodeJS.Timeout, () => void>()
  #closed = false

  set(
    endpoint: EmulatorEndpoint | '*',
    fault: EmulatorFault | null,
    options: EmulatorFaultOptions
  ) {
    if (endpoint !== '*' && !EMULATOR_ENDPOINTS.includes(endpoint)) {
      throw new Error(`Unknown emulator endpoint "${endpoint}"`)
    }
    if (fault === null) {
      this.#faults.delete(endpoint)
      return
    }
    if (
      fault.kind === 'status' &&
      !(Number.isInteger(fault.status) && fault.status >= 200 && fault.status <= 599)
    ) {
      throw new Error(`Invalid fault status "${fault.status}"`)
    }
    if (fault.kind === 'latency' && !(fault.ms >= 0)) {
      throw new Error(`Invalid fault latency "${fault.ms}"`)
    }
    this.#faults.set(endpoint, { fault: { ...fault }, remaining: options.times ?? Infinity })
  }

  clear() {
    this.#faults.clear()
  }

  count(endpoint: EmulatorEndpoint): number {
    return this.#counts[endpoint]
  }

  counts(): Record<EmulatorEndpoint, number> {
    return { ...this.#counts }
  }

  resetCounts() {
    this.#counts = zeroCounts()
  }

  /**
   * Counts the request, then applies the endpoint's fault (or the `'*'`
   * one). Returns true when the fault answered or swallowed the request.
   */
  async apply(endpoint: EmulatorEndpoint, req: IncomingMessage, res: ServerResponse) {
    this.#counts[endpoint]++
    const key = this.#faults.has(endpoint) ? endpoint : this.#faults.has('*') ? '*' : undefined
    if (!key) return false
    const entry = this.#faults.get(key)!
    entry.remaining--
    if (entry.remaining <= 0) this.#faults.delete(key)

    const fault = entry.fault
    switch (fault.kind) {
      case 'latency':
        await this.#delay(fault.ms)
        return false
      case 'status':
        req.resume()
        sendError(res, fault.status, 'E_INJECTED_FAULT', 'Injected fault')
        return true
      case 'malformed_json':
        req.resume()
        sendRaw(res, 200, '{"app": {"id": "trunc')
        return true
      case 'malformed_jwks':
        req.resume()
        sendRaw(res, 200, JSON.stringify(fault.body ?? { keys: [{ kty: 'OKP' }] }))
        return true
      case 'reset':
        req.socket.destroy()
        return true
      case 'hang':
        // Never answered; close() destroys the socket
        return true
    }
  }

  /** Resolves every pending latency at once and makes later ones immediate */
  close() {
    this.#closed = true
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer)
      resolve()
    }
    this.#timers.clear()
  }

  #delay(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        resolve()
      }, ms)
      this.#timers.set(timer, resolve)
    })
  }
}
