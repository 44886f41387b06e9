/*
 * rownd-adonis benchmark
 *
 * Load generation: autocannon windows (runs in the driver process, pinned
 * to the driver core) and concurrent "storms" of first requests.
 */

import http from 'node:http'
import autocannon, { type AutocannonRequest } from 'autocannon'

export interface WindowOptions {
  url: string
  path: string
  connections: number
  /** Seconds; ignored when `amount` is set */
  duration?: number
  /** Total requests to send instead of a duration */
  amount?: number
  /** Fixed headers, or a pool of authorization headers rotated request by request */
  headers?: Record<string, string>
  rotate?: { pool: string[]; cursor: { next: number } }
}

export interface WindowResult {
  requests: number
  ok: number
  non2xx: number
  errors: number
  seconds: number
  rps: number
  p50: number
  p99: number
  statusCodes: Record<string, number>
  /** CPU the driver (load generator + emulator) used, as a share of the window */
  driverCpuShare: number
}

/** One autocannon run; rps counts 2xx responses only */
export async function runWindow(options: WindowOptions): Promise<WindowResult> {
  const requests: AutocannonRequest[] | undefined = options.rotate
    ? [
        {
          method: 'GET',
          path: options.path,
          setupRequest(request) {
            const { pool, cursor } = options.rotate!
            const value = pool[cursor.next++ % pool.length]
            request.headers = { ...options.headers, authorization: value }
            return request
          },
        },
      ]
    : undefined
  const cpuStart = process.cpuUsage()
  const started = performance.now()
  const result = await autocannon({
    url: `${options.url}${options.path}`,
    connections: options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 1 }),
    timeout: 10,
    headers: options.headers,
    requests,
  })
  const wall = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuStart)
  const seconds = options.amount ? wall : result.duration || wall
  const statusCodes: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    statusCodes[code] = stat.count
  }
  return {
    requests: result['2xx'] + result.non2xx,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    seconds,
    rps: result['2xx'] / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statusCodes,
    driverCpuShare: (cpu.user + cpu.system) / 1e6 / wall,
  }
}

/**
 * One lane's slices of a round as a single window: counts and seconds
 * summed, rps over the summed seconds, p50 the slices' median and p99 the
 * highest slice's (percentiles of slices do not add up to the window's)
 */
export function mergeWindows(slices: WindowResult[]): WindowResult {
  if (slices.length === 1) return slices[0]
  const sum = (pick: (slice: WindowResult) => number) =>
    slices.reduce((total, slice) => total + pick(slice), 0)
  const seconds = sum((slice) => slice.seconds)
  const ok = sum((slice) => slice.ok)
  const statusCodes: Record<string, number> = {}
  for (const slice of slices) {
    for (const [code, count] of Object.entries(slice.statusCodes)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + count
    }
  }
  const p50s = slices.map((slice) => slice.p50).sort((a, b) => a - b)
  const middle = Math.floor(p50s.length / 2)
  return {
    requests: sum((slice) => slice.requests),
    ok,
    non2xx: sum((slice) => slice.non2xx),
    errors: sum((slice) => slice.errors),
    seconds,
    rps: ok / seconds,
    p50: p50s.length % 2 ? p50s[middle] : (p50s[middle - 1] + p50s[middle]) / 2,
    p99: Math.max(...slices.map((slice) => slice.p99)),
    statusCodes,
    driverCpuShare: sum((slice) => slice.driverCpuShare * slice.seconds) / seconds,
  }
}

export interface StormResult {
  sent: number
  ok: number
  statusCodes: Record<string, number>
  networkErrors: number
  /** Milliseconds from the first request to the first 2xx */
  firstSuccessMs: number | null
  /** Milliseconds until every response arrived */
  allDoneMs: number
}

/**
 * Fires every request at once, each on its own connection (no agent), and
 * waits for all of them.
 */
export async function storm(
  url: string,
  requests: Array<{ path: string; headers: Record<string, string> }>
): Promise<StormResult> {
  const target = new URL(url)
  const statusCodes: Record<string, number> = {}
  let networkErrors = 0
  let ok = 0
  let firstSuccess: number | null = null
  const started = performance.now()
  await Promise.all(
    requests.map(
      (request) =>
        new Promise<void>((resolve) => {
          const req = http.request(
            {
              host: target.hostname,
              port: target.port,
              path: request.path,
              method: 'GET',
              headers: request.headers,
              agent: false,
              timeout: 30_000,
            },
            (res) => {
              res.resume()
              res.on('end', () => {
                const status = res.statusCode ?? 0
                statusCodes[status] = (statusCodes[status] ?? 0) + 1
                if (status >= 200 && status < 300) {
                  ok++
                  firstSuccess ??= performance.now() - started
                }
                resolve()
              })
            }
          )
          req.on('timeout', () => req.destroy(new Error('timeout')))
          req.on('error', () => {
            networkErrors++
            resolve()
          })
          req.end()
        })
    )
  )
  return {
    sent: requests.length,
    ok,
    statusCodes,
    networkErrors,
    firstSuccessMs: firstSuccess,
    allDoneMs: performance.now() - started,
  }
}
