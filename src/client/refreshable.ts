import debug from '../debug.ts'
import { E_ROWND_UNAVAILABLE } from '../errors.ts'

export interface RefreshableOptions<T> {
  /** For debug logs */
  name: string
  load: () => Promise<T>
  /** Background refresh period after a success */
  refreshEvery: number
  /** A value keeps serving this long after its last successful load */
  maxStale: number
  retryBase: number
  retryMax: number
  /** Called after every successful load */
  onLoad?: (value: T) => void
}

/**
 * A value fetched from Rownd that is served from memory and refreshed in
 * the background. Concurrent callers share one fetch; after a failure,
 * callers fail fast (503 with Retry-After) until the backoff delay has
 * passed, while a background retry keeps trying with capped backoff. The
 * last good value keeps serving through failures for `maxStale`.
 */
export class Refreshable<T> {
  #options: RefreshableOptions<T>
  #value?: T
  #loadedAt = 0
  #inflight?: Promise<T>
  #failures = 0
  #retryAt = 0
  #timer?: NodeJS.Timeout
  #closed = false

  constructor(options: RefreshableOptions<T>) {
    this.#options = options
  }

  /** The current value without any I/O, when one is usable */
  peek(): T | undefined {
    if (this.#value === undefined) return undefined
    if (Date.now() - this.#loadedAt > this.#options.maxStale) return undefined
    return this.#value
  }

  /** Seeds a value (pinned config, or a copy from a shared store) */
  set(value: T, loadedAt = Date.now()) {
    this.#value = value
    this.#loadedAt = loadedAt
    this.#failures = 0
    this.#retryAt = 0
    this.#schedule(this.#options.refreshEvery)
  }

  get loadedAt() {
    return this.#loadedAt
  }

  /** The value from memory, or from one shared fetch when there is none */
  async get(): Promise<T> {
    const value = this.peek()
    if (value !== undefined) return value
    return this.refresh()
  }

  /**
   * Fetches now, sharing any fetch already in flight. While a previous
   * failure's backoff runs, fails fast instead of hitting Rownd again.
   */
  refresh(): Promise<T> {
    if (this.#inflight) return this.#inflight
    const wait = this.#retryAt - Date.now()
    if (wait > 0) {
      return Promise.reject(
        new E_ROWND_UNAVAILABLE('Rownd is temporarily unavailable', { retryAfter: wait / 1000 })
      )
    }
    this.#inflight = this.#load().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #load(): Promise<T> {
    try {
      const value = await this.#options.load()
      this.set(value)
      this.#options.onLoad?.(value)
      debug('%s loaded', this.#options.name)
      return value
    } catch (error) {
      this.#failures++
      const delay = Math.min(
        this.#options.retryMax,
        this.#options.retryBase * 2 ** (this.#failures - 1)
      )
      this.#retryAt = Date.now() + delay
      debug(
        '%s load failed (%d in a row), retrying in %dms',
        this.#options.name,
        this.#failures,
        delay
      )
      this.#schedule(delay)
      if (error instanceof E_ROWND_UNAVAILABLE) {
        error.retryAfter = Math.max(1, Math.ceil(delay / 1000))
      }
      throw error
    }
  }

  #schedule(delay: number) {
    if (this.#closed) return
    clearTimeout(this.#timer)
    // unref: a refresh timer must never keep the process alive
    this.#timer = setTimeout(() => {
      this.#retryAt = 0
      this.refresh().catch(() => {})
    }, delay).unref()
  }

  /** Stops background refreshes */
  close() {
    this.#closed = true
    clearTimeout(this.#timer)
  }
}
