import debug from '../debug.ts'
import { E_ROWND_API_ERROR, E_ROWND_UNAVAILABLE } from '../errors.ts'

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  query?: Record<string, string | number | undefined>
  body?: unknown
  /** `app`: app key only; `secret`: app key and secret; `none`: no credentials */
  auth: 'none' | 'app' | 'secret'
}

export interface HttpClientOptions {
  apiUrl: string
  appKey: string
  appSecret: string
  timeout: number
}

/**
 * Every call to Rownd goes through here: native fetch with a timeout, the
 * app credentials as headers, and one mapping of failures. Network errors,
 * timeouts, 429 and 5xx become `E_ROWND_UNAVAILABLE` (an outage); other
 * 4xx become `E_ROWND_API_ERROR` with Rownd's message and code.
 */
export class RowndHttpClient {
  #options: HttpClientOptions

  constructor(options: HttpClientOptions) {
    this.#options = options
  }

  get apiUrl() {
    return this.#options.apiUrl
  }

  async request<T>(request: HttpRequest): Promise<T> {
    const url = new URL(this.#options.apiUrl + request.path)
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value))
    }

    const headers: Record<string, string> = { accept: 'application/json' }
    if (request.auth !== 'none') headers['x-rownd-app-key'] = this.#options.appKey
    if (request.auth === 'secret') headers['x-rownd-app-secret'] = this.#options.appSecret
    if (request.body !== undefined) headers['content-type'] = 'application/json'

    const method = request.method ?? 'GET'
    let response: Response
    let text: string
    try {
      response = await fetch(url, {
        method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.timeout(this.#options.timeout),
        // A redirect would carry the app secret header to another origin
        redirect: 'error',
      })
      text = await response.text()
    } catch (error) {
      // Only the error name: a message could echo a URL or header
      const name = error instanceof Error ? error.name : 'Error'
      const redirected = isRedirectRefusal(error)
      debug('%s %s failed: %s', method, request.path, redirected ? 'redirect refused' : name)
      throw new E_ROWND_UNAVAILABLE(
        name === 'TimeoutError'
          ? 'Rownd did not answer in time'
          : redirected
            ? 'Rownd answered with a redirect, which is never followed'
            : 'Rownd could not be reached'
      )
    }

    if (response.status >= 500 || response.status === 429) {
      debug('%s %s answered %d', method, request.path, response.status)
      const retryAfter = Number(response.headers.get('retry-after'))
      throw new E_ROWND_UNAVAILABLE(`Rownd answered ${response.status}`, {
        retryAfter: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      })
    }

    if (response.status >= 400) {
      const envelope = parseJson(text) as { message?: unknown; code?: unknown } | undefined
      const message =
        typeof envelope?.message === 'string'
          ? this.#redact(envelope.message).slice(0, 300)
          : 'request failed'
      debug('%s %s answered %d', method, request.path, response.status)
      throw new E_ROWND_API_ERROR(`Rownd API error ${response.status}: ${message}`, {
        rowndStatus: response.status,
        rowndCode:
          typeof envelope?.code === 'string'
            ? this.#redact(envelope.code).slice(0, 100)
            : undefined,
      })
    }

    if (response.status === 204 || text.length === 0) return undefined as T
    const json = parseJson(text)
    if (json === undefined) {
      debug('%s %s answered malformed JSON', method, request.path)
      throw new E_ROWND_UNAVAILABLE('Rownd sent an unusable answer')
    }
    return json as T
  }

  /** Rownd's text is quoted in errors: never let it echo the app secret back */
  #redact(text: string): string {
    const secret = this.#options.appSecret
    return secret ? text.replaceAll(secret, '[redacted]') : text
  }
}

/** undici rejects `redirect: 'error'` with a TypeError whose cause says so */
function isRedirectRefusal(error: unknown): boolean {
  const cause = (error as { cause?: { message?: unknown } })?.cause
  return typeof cause?.message === 'string' && cause.message.includes('redirect')
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
