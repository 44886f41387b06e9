/*
 * Shared plumbing of the security suite: the app under attack, raw HTTP
 * (node:http and bare sockets, for what fetch refuses to send), token
 * crafting and the "nothing got in, nothing leaked" assertions.
 */

import { request, type Agent } from 'node:http'
import { connect } from 'node:net'
import { generateKeyPair } from 'jose'
import { RowndEmulator } from '../../src/testing/index.ts'
import { buildRowndClaims, ROWND_CLAIMS } from '../../src/testing/tokens.ts'
import { startTestApp, type TestApp } from '../helpers/test_app.ts'

export type Cleanup = (handler: () => unknown) => void

export interface Target {
  emulator: RowndEmulator
  app: TestApp
}

/**
 * Emulator + test app in production mode (error bodies as users get them,
 * no debug pages) with every log switched on, so hygiene checks see all.
 */
export async function startTarget(env: Record<string, string | undefined> = {}): Promise<Target> {
  const emulator = await RowndEmulator.start()
  const appEnv = { NODE_ENV: 'production', LOG_LEVEL: 'trace', NODE_DEBUG: 'rownd-adonis', ...env }
  // The adonis6 lane (bin/test_adonis6.ts) aims the same cases at the AdonisJS 6 kit app
  const app =
    process.env.ROWND_TEST_TARGET === 'adonis6'
      ? await (await import('../adonis6/target.ts')).startAdonis6Target({ emulator, env: appEnv })
      : await startTestApp({ emulator, env: appEnv })
  return { emulator, app }
}

export async function stopTarget(target: Target | undefined) {
  await target?.app.stop()
  await target?.emulator.close()
}

export interface RawResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  json(): any
}

export interface RawRequestOptions {
  method?: string
  /** An object, or a flat `[name, value, name, value...]` list (repeated headers) */
  headers?: Record<string, string> | string[]
  body?: string | Buffer
  agent?: Agent
}

/** One request through node:http, which sends what fetch would refuse (repeated headers...) */
export function rawRequest(
  base: string,
  path: string,
  options: RawRequestOptions = {}
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      {
        method: options.method ?? 'GET',
        headers: options.headers as any,
        agent: options.agent,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8')
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body,
            json: () => JSON.parse(body),
          })
        })
      }
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/**
 * Writes bytes on a bare socket and returns the status line's code and the
 * whole answer: for requests no HTTP client will produce (invalid header
 * bytes, malformed framing).
 */
export function socketRequest(
  base: string,
  bytes: Buffer | string
): Promise<{ status: number; text: string; headers: string; body: string }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    const chunks: Buffer[] = []
    const timer = setTimeout(() => socket.destroy(new Error('socket request timed out')), 5000)
    socket.on('connect', () => socket.write(bytes))
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      // One answer is enough; the server may keep the connection open
      const text = Buffer.concat(chunks).toString('latin1')
      const head = text.indexOf('\r\n\r\n')
      if (head === -1) return
      const length = /content-length: *(\d+)/i.exec(text.slice(0, head))
      if (length && text.length >= head + 4 + Number(length[1])) socket.end()
    })
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`))
      const head = text.indexOf('\r\n\r\n')
      resolve({
        status: Number(status[1]),
        text,
        headers: text.slice(0, head),
        body: head === -1 ? '' : text.slice(head + 4),
      })
    })
  })
}

export async function countUsers(app: TestApp): Promise<number> {
  const [row] = await app.db('users').count('* as n')
  return Number((row as { n: number | string }).n)
}

/** Fails when any captured log line holds one of the secrets (strings shorter than 12 are skipped) */
export function leakedIn(lines: string[], secrets: Iterable<string>): string | undefined {
  const wanted = [...secrets].filter((secret) => typeof secret === 'string' && secret.length >= 12)
  for (const line of lines) {
    for (const secret of wanted) {
      if (line.includes(secret)) return `${secret.slice(0, 24)}… in ${line.slice(0, 200)}`
    }
  }
  return undefined
}

/**
 * The pieces of a token worth looking for in logs: the token, and its
 * signature alone (a partial leak is a leak too).
 */
export function secretsOf(token: string): string[] {
  const signature = token.split('.')[2]
  return signature && signature.length >= 16 ? [token, signature] : [token]
}

/** `Cookie` header value from a response's Set-Cookie list */
export function cookiesOf(response: RawResponse | Response): string {
  const list =
    response instanceof Response
      ? response.headers.getSetCookie()
      : ([] as string[]).concat(response.headers['set-cookie'] ?? [])
  return list.map((cookie) => cookie.split(';')[0]).join('; ')
}

/*
 * ---------------------------------------------------------------
 * Token crafting
 * ---------------------------------------------------------------
 */

const encoder = new TextEncoder()

export const b64 = (text: string | Uint8Array) =>
  Buffer.from(typeof text === 'string' ? encoder.encode(text) : text).toString('base64url')

/** Claims of a valid Rownd token for the emulator's app, with overrides (`undefined` deletes) */
export function validClaims(
  emulator: RowndEmulator,
  overrides: Record<string, unknown> = {},
  userId = `user_sec_${Math.random().toString(36).slice(2, 12)}`
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  const claims = buildRowndClaims({
    appId: emulator.appId,
    issuer: emulator.issuer,
    userId,
    sub: userId,
    authLevel: 'verified',
    isVerifiedUser: true,
    isAnonymous: false,
    issuedAt: now,
    expiresAt: now + 3600,
  })
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete claims[key]
    else claims[key] = value
  }
  return claims
}

/**
 * Signs raw header and payload texts with the emulator's current Ed25519
 * key: a token Rownd's key really signed, whatever JSON it holds
 * (duplicate keys, odd shapes).
 */
export async function signRaw(
  emulator: RowndEmulator,
  headerText: string,
  payloadText: string
): Promise<string> {
  const input = `${b64(headerText)}.${b64(payloadText)}`
  const signature = await crypto.subtle.sign('Ed25519', emulator.signingKey, encoder.encode(input))
  return `${input}.${b64(new Uint8Array(signature))}`
}

export async function signWithEmulatorKey(
  emulator: RowndEmulator,
  header: Record<string, unknown>,
  payload: Record<string, unknown>
) {
  return signRaw(
    emulator,
    JSON.stringify({ alg: 'EdDSA', kid: emulator.currentKid, ...header }),
    JSON.stringify(payload)
  )
}

export async function foreignKeys() {
  const [rs, es, ed] = await Promise.all([
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
    generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true }),
  ])
  return { rs, es, ed }
}

export { ROWND_CLAIMS }
