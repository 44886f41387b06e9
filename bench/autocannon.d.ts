/**
 * The part of autocannon's programmatic API the benchmark uses (the
 * package ships no types).
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    setupRequest?: (
      request: AutocannonRequest,
      context: Record<string, unknown>
    ) => AutocannonRequest
  }

  export interface AutocannonOptions {
    url: string
    connections?: number
    duration?: number
    amount?: number
    timeout?: number
    pipelining?: number
    headers?: Record<string, string>
    method?: string
    requests?: AutocannonRequest[]
    setupClient?: (client: EventEmitter) => void
  }

  export interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p99: number
    p99_9: number
    sent?: number
  }

  export interface AutocannonResult {
    'duration': number
    'start': Date
    'finish': Date
    'errors': number
    'timeouts': number
    'non2xx': number
    'resets': number
    '2xx': number
    '4xx': number
    '5xx': number
    'statusCodeStats': Record<string, { count: number }>
    'latency': Histogram
    'requests': Histogram
    'throughput': Histogram
  }

  type Instance = EventEmitter & { stop(): void }

  function autocannon(options: AutocannonOptions): Promise<AutocannonResult> & Instance
  export default autocannon
}
