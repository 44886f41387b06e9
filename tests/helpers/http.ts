/**
 * Small HTTP helpers for the full-stack suites (native fetch, real sockets).
 */
export function bearer(token: string, extra: Record<string, string> = {}) {
  return { authorization: `Bearer ${token}`, accept: 'application/json', ...extra }
}

/** Keeps cookies across requests, like a browser would for one site */
export class CookieJar {
  #cookies = new Map<string, string>()

  store(response: Response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const index = pair.indexOf('=')
      const name = pair.slice(0, index).trim()
      const value = pair.slice(index + 1).trim()
      if (/expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0\b/i.test(line) || value === '') {
        this.#cookies.delete(name)
      } else {
        this.#cookies.set(name, value)
      }
    }
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  get(name: string) {
    return this.#cookies.get(name)
  }

  clone() {
    const jar = new CookieJar()
    for (const [name, value] of this.#cookies) jar.#cookies.set(name, value)
    return jar
  }

  /** fetch with this jar's cookies, storing what the server sets */
  async fetch(url: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers)
    const cookie = this.header()
    if (cookie) headers.set('cookie', cookie)
    const response = await fetch(url, { ...init, headers, redirect: 'manual' })
    this.store(response)
    return response
  }
}

/** POST the Hub's post-authentication call: JSON body `{ access_token }` */
export function signIn(
  jar: CookieJar,
  baseUrl: string,
  token: string,
  path = '/rownd/session_authenticate',
  headers = {}
) {
  return jar.fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept': 'application/json', ...headers },
    body: JSON.stringify({ access_token: token }),
  })
}
