/*
 * rownd-adonis
 *
 * A Rownd compatible API server for tests: serves app config, JWKS, the users
 * API and magic links over real HTTP on loopback, mints tokens signed with its
 * own keys and injects faults on demand.
 */

import { createServer, STATUS_CODES } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { randomInt, timingSafeEqual } from 'node:crypto'
import {
  applyOverrides,
  buildRowndClaims,
  createKid,
  generateSigningKey,
  randomId,
  signCompact,
  type RowndAuthLevel,
  type RowndPublicJwk,
  type SigningKey,
} from './tokens.ts'
import type { CryptoKey } from 'jose'

/** Largest accepted request body */
const BODY_LIMIT = 64 * 1024

/** Beyond this we stop draining an oversized body and drop the connection */
const DISCARD_LIMIT = 1024 * 1024

const EXPIRATION_PATTERN =
  /^(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)$/

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

export interface RowndEmulatorOptions {
  appId?: string
  appKey?: string
  appSecret?: string
  appName?: string
  /** Port to listen on, 0 (default) picks a free one */
  port?: number
  /** `iss` of minted tokens, defaults to `https://api.rownd.io` */
  issuer?: string
}

/**
 * A user stored by the emulator. The object is live: tests may mutate it.
 */
export interface RowndEmulatorUser {
  userId: string
  /** Legacy token subject (e.g. `google-oauth2|1148...`); tokens use `userId` when unset */
  sub?: string
  emailVerified: boolean
  phoneVerified: boolean
  authLevel: RowndAuthLevel
  state: 'enabled' | 'disabled'
  /** Profile data, always holding `user_id` */
  data: Record<string, unknown>
  groups: unknown[]
  meta: { created: string; modified: string; first_sign_in: string; last_sign_in: string }
}

export interface CreateUserInput {
  userId?: string
  email?: string
  /** Defaults to true */
  emailVerified?: boolean
  phone?: string
  phoneVerified?: boolean
  firstName?: string
  lastName?: string
  data?: Record<string, unknown>
  /** Legacy subject, see {@link RowndEmulatorUser.sub} */
  sub?: string
  authLevel?: RowndAuthLevel
}

export interface MintTokenOptions {
  /** `app_user_id` claim; unknown ids create the user. Default: a new user */
  userId?: string
  /** Default: the user's legacy `sub`, else the user id */
  sub?: string
  /** App id used for the default audience `['app:<appId>']` */
  appId?: string
  /** Replaces `aud` entirely */
  audience?: string | string[]
  issuer?: string
  /** Lifetime in seconds, default 3600 */
  expiresIn?: number
  /** Issued 2 hours ago, expired 1 hour ago */
  expired?: boolean
  issuedAt?: number
  notBefore?: number
  /** Header kid, default the current kid */
  kid?: string
  /** Sign with a key that is not published, keeping the current kid */
  foreignKey?: boolean
  /** Default: the user's auth level ('verified' unless created otherwise) */
  authLevel?: RowndAuthLevel
  /** Default: authLevel === 'verified' */
  isVerifiedUser?: boolean
  /** Default: authLevel === 'guest' */
  isAnonymous?: boolean
  /** Extra or overriding claims, `undefined` deletes a claim */
  claims?: Record<string, unknown>
  /** Extra or overriding protected header fields, `undefined` deletes a field */
  header?: Record<string, unknown>
}

export interface RowndSignOut {
  userId: string
  all: boolean
}

export interface RowndMagicLink {
  id: string
  link: string
  userId: string
  verificationType: 'email' | 'phone'
  redirectUrl: string
  expiration?: string
  visited: boolean
}

/**
 * Error rendered as Rownd's error envelope
 */
class EmulatorHttpError extends Error {
  status: number
  code: string
  closeConnection: boolean

  constructor(status: number, code: string, message: string, closeConnection = false) {
    super(message)
    this.status = status
    this.code = code
    this.closeConnection = closeConnection
  }
}

interface Route {
  endpoint?: EmulatorEndpoint
  run: () => Promise<void> | void
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function safeEqual(given: string | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function nowIso(): string {
  return new Date().toISOString()
}

/**
 * Rownd compatible HTTP server for tests. Start with {@link RowndEmulator.start}
 * and always {@link RowndEmulator.close} it.
 */
export class RowndEmulator {
  /** Rownd application id */
  readonly appId: string
  /** Public app key */
  readonly appKey: string
  /** Server side app secret */
  readonly appSecret: string
  /** Application name served by app config */
  readonly appName: string
  /** `iss` claim of minted tokens */
  #issuer?: string

  /** Session revocations received through the users API, in order */
  readonly signOuts: RowndSignOut[] = []
  /** Magic links created through the API, in order */
  readonly magicLinks: RowndMagicLink[] = []

  #server?: Server
  #port: number
  #closed = false
  #sockets = new Set<Socket>()
  #timers = new Map<NodeJS.Timeout, () => void>()

  #users = new Map<string, RowndEmulatorUser>()
  #faults = new Map<EmulatorEndpoint | '*', { fault: EmulatorFault; remaining: number }>()
  #counts = RowndEmulator.#zeroCounts()

  #allKids = new Set<string>()
  #published: SigningKey[] = []
  #current!: SigningKey
  #foreign?: SigningKey

  private constructor(options: RowndEmulatorOptions) {
    this.appId = options.appId ?? String(randomInt(1e8, 1e9)) + String(randomInt(1e8, 1e9))
    this.appKey = options.appKey ?? `key_${randomId(24)}`
    this.appSecret = options.appSecret ?? `ras_${randomId(40)}`
    this.appName = options.appName ?? 'Rownd emulator'
    this.#issuer = options.issuer
    this.#port = options.port ?? 0
  }

  /**
   * Creates an emulator with a fresh signing key and starts listening on 127.0.0.1
   */
  static async start(options: RowndEmulatorOptions = {}): Promise<RowndEmulator> {
    const emulator = new RowndEmulator(options)
    await emulator.#addKey()
    await emulator.#listen()
    return emulator
  }

  static #zeroCounts(): Record<EmulatorEndpoint, number> {
    return Object.fromEntries(EMULATOR_ENDPOINTS.map((name) => [name, 0])) as Record<
      EmulatorEndpoint,
      number
    >
  }

  /**
   * The `iss` of minted tokens: the emulator's own URL unless configured,
   * matching the client's default (issuer = API URL)
   */
  get issuer(): string {
    return this.#issuer ?? this.url
  }

  /** Base URL, e.g. `http://127.0.0.1:54321` */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`
  }

  /** Port the emulator listens (or listened) on */
  get port(): number {
    return this.#port
  }

  /** Whether the server currently accepts connections */
  get listening(): boolean {
    return this.#server?.listening ?? false
  }

  /** Kid of the key currently signing tokens */
  get currentKid(): string {
    return this.#current.kid
  }

  /** Private key currently signing tokens, to craft tokens by hand */
  get signingKey(): CryptoKey {
    return this.#current.privateKey
  }

  /** The JWKS currently published on `/hub/auth/keys` */
  get jwks(): { keys: RowndPublicJwk[] } {
    return { keys: this.#published.map((key) => ({ ...key.publicJwk })) }
  }

  /*
   * ---------------------------------------------------------------
   * Lifecycle
   * ---------------------------------------------------------------
   */

  #listen(): Promise<void> {
    const server = createServer((req, res) => this.#onRequest(req, res))
    server.on('connection', (socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
    // Malformed HTTP must never crash the process
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
      else socket.destroy()
    })

    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => {
        server.off('error', reject)
        const address = server.address()
        if (address && typeof address === 'object') this.#port = address.port
        this.#server = server
        resolve()
      })
    })
  }

  /**
   * Stops listening and drops open connections; clients then get ECONNREFUSED.
   * Users, keys, faults and counts are kept.
   */
  async stop(): Promise<void> {
    const server = this.#server
    if (!server) return
    this.#server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    // Keep-alive and hanging sockets would otherwise keep answering or block close
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    await closed
  }

  /**
   * Listens again on the same port with the same keys and users
   */
  async restart(): Promise<void> {
    if (this.#closed) throw new Error('The Rownd emulator has been closed')
    if (this.#server) return
    await this.#listen()
  }

  /**
   * Stops for good, destroying open sockets and pending timers
   */
  async close(): Promise<void> {
    this.#closed = true
    for (const [timer, resolve] of this.#timers) {
      clearTimeout(timer)
      resolve()
    }
    this.#timers.clear()
    await this.stop()
  }

  /*
   * ---------------------------------------------------------------
   * Faults and counters
   * ---------------------------------------------------------------
   */

  /**
   * Injects a fault on one endpoint or, with `'*'`, on every counted endpoint.
   * A fault set on an endpoint wins over `'*'`. Pass `null` to remove it.
   */
  setFault(
    endpoint: EmulatorEndpoint | '*',
    fault: EmulatorFault | null,
    options: EmulatorFaultOptions = {}
  ): void {
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

  /** Removes every fault */
  clearFaults(): void {
    this.#faults.clear()
  }

  /** Requests received by an endpoint, faulted ones included */
  requestCount(endpoint: EmulatorEndpoint): number {
    return this.#counts[endpoint]
  }

  /** Requests received per endpoint */
  counts(): Record<EmulatorEndpoint, number> {
    return { ...this.#counts }
  }

  /** Sets every counter back to zero */
  resetCounts(): void {
    this.#counts = RowndEmulator.#zeroCounts()
  }

  /*
   * ---------------------------------------------------------------
   * Users
   * ---------------------------------------------------------------
   */

  /**
   * Stores a new user. Email is verified unless `emailVerified: false`.
   */
  createUser(input: CreateUserInput = {}): RowndEmulatorUser {
    const userId = input.userId ?? `user_${randomId(24)}`
    if (this.#users.has(userId)) throw new Error(`User "${userId}" already exists`)

    const data: Record<string, unknown> = { ...input.data, user_id: userId }
    if (input.email !== undefined) data.email = input.email
    if (input.phone !== undefined) data.phone_number = input.phone
    if (input.firstName !== undefined) data.first_name = input.firstName
    if (input.lastName !== undefined) data.last_name = input.lastName

    const emailVerified = input.emailVerified ?? true
    const phoneVerified = input.phoneVerified ?? false
    const hasVerified = (emailVerified && !!data.email) || (phoneVerified && !!data.phone_number)
    const now = nowIso()
    const user: RowndEmulatorUser = {
      userId,
      sub: input.sub,
      emailVerified,
      phoneVerified,
      authLevel: input.authLevel ?? (hasVerified || !data.email ? 'verified' : 'unverified'),
      state: 'enabled',
      data,
      groups: [],
      meta: { created: now, modified: now, first_sign_in: now, last_sign_in: now },
    }
    this.#users.set(userId, user)
    return user
  }

  /** Returns the stored (live) user */
  getUser(userId: string): RowndEmulatorUser | undefined {
    return this.#users.get(userId)
  }

  /** Finds a user by email, case-insensitively */
  findUserByEmail(email: string): RowndEmulatorUser | undefined {
    const needle = email.toLowerCase()
    for (const user of this.#users.values()) {
      if (typeof user.data.email === 'string' && user.data.email.toLowerCase() === needle)
        return user
    }
    return undefined
  }

  /** Every stored user, in creation order */
  listUsers(): RowndEmulatorUser[] {
    return [...this.#users.values()]
  }

  /** Removes a user; returns false when unknown */
  deleteUser(userId: string): boolean {
    return this.#users.delete(userId)
  }

  /** The user as the users API serializes it */
  userProfile(userId: string): Record<string, unknown> | undefined {
    const user = this.#users.get(userId)
    return user ? this.#profile(user) : undefined
  }

  #profile(user: RowndEmulatorUser): Record<string, unknown> {
    const verified: Record<string, unknown> = {}
    if (user.emailVerified && typeof user.data.email === 'string') verified.email = user.data.email
    if (user.phoneVerified && typeof user.data.phone_number === 'string') {
      verified.phone_number = user.data.phone_number
    }
    return {
      rownd_user: user.userId,
      state: user.state,
      auth_level: user.authLevel,
      data: { ...user.data },
      verified_data: verified,
      groups: [...user.groups],
      meta: { ...user.meta },
    }
  }

  /** Replaces or merges profile data; a changed email loses its verification */
  #writeData(user: RowndEmulatorUser, data: Record<string, unknown>, merge: boolean) {
    const previousEmail = user.data.email
    const previousPhone = user.data.phone_number
    user.data = { ...(merge ? user.data : {}), ...data, user_id: user.userId }
    if (user.data.email !== previousEmail) user.emailVerified = false
    if (user.data.phone_number !== previousPhone) user.phoneVerified = false
    user.meta.modified = nowIso()
  }

  /*
   * ---------------------------------------------------------------
   * Keys and tokens
   * ---------------------------------------------------------------
   */

  async #addKey(): Promise<SigningKey> {
    const key = await generateSigningKey(createKid(this.#allKids))
    this.#allKids.add(key.kid)
    this.#published.push(key)
    this.#current = key
    return key
  }

  /**
   * Starts signing with a new key. The old keys stay published unless
   * `withdrawOld` is set. Returns the new kid.
   */
  async rotateKeys(options: { withdrawOld?: boolean } = {}): Promise<string> {
    const key = await this.#addKey()
    if (options.withdrawOld) this.#published = [key]
    return key.kid
  }

  /**
   * Mints an access token shaped like Rownd's, signed with the current key
   */
  async mintToken(options: MintTokenOptions = {}): Promise<string> {
    let user = options.userId ? this.#users.get(options.userId) : undefined
    if (!user) {
      user = this.createUser({
        userId: options.userId,
        authLevel: options.authLevel,
        sub: options.sub,
      })
    }
    user.meta.last_sign_in = nowIso()

    const now = Math.floor(Date.now() / 1000)
    let issuedAt = options.issuedAt ?? now
    let expiresAt = issuedAt + (options.expiresIn ?? 3600)
    if (options.expired) {
      issuedAt = options.issuedAt ?? now - 7200
      expiresAt = now - 3600
    }

    const authLevel = options.authLevel ?? user.authLevel
    let claims = buildRowndClaims({
      appId: options.appId ?? this.appId,
      issuer: options.issuer ?? this.issuer,
      userId: user.userId,
      sub: options.sub ?? user.sub ?? user.userId,
      authLevel,
      isVerifiedUser: options.isVerifiedUser ?? authLevel === 'verified',
      isAnonymous: options.isAnonymous ?? authLevel === 'guest',
      issuedAt,
      expiresAt,
    })
    if (options.audience !== undefined) claims.aud = options.audience
    if (options.notBefore !== undefined) claims.nbf = options.notBefore
    claims = applyOverrides(claims, options.claims)

    let key = this.#current.privateKey
    if (options.foreignKey) {
      this.#foreign ??= await generateSigningKey(this.#current.kid)
      key = this.#foreign.privateKey
    }
    const protectedHeader = applyOverrides(
      { alg: 'EdDSA', kid: options.kid ?? this.#current.kid },
      options.header
    )
    return signCompact(protectedHeader, claims, key)
  }

  /*
   * ---------------------------------------------------------------
   * HTTP
   * ---------------------------------------------------------------
   */

  #onRequest(req: IncomingMessage, res: ServerResponse) {
    this.#handle(req, res).catch((error: unknown) => {
      if (error instanceof EmulatorHttpError) {
        this.#sendError(res, error.status, error.code, error.message, error.closeConnection)
      } else {
        this.#sendError(res, 500, 'E_INTERNAL', 'Internal emulator error')
      }
    })
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? 'GET'
    const rawUrl = req.url ?? '/'
    const queryStart = rawUrl.indexOf('?')
    const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart)
    const query = new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1))

    if (method === 'OPTIONS') return this.#preflight(req, res)

    let segments: string[]
    try {
      segments = path.split('/').slice(1).map(decodeURIComponent)
    } catch {
      throw new EmulatorHttpError(400, 'E_BAD_REQUEST', 'Malformed URL')
    }
    if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop()

    const routes = this.#routes(segments, query, req, res)
    if (!routes) {
      req.resume()
      throw new EmulatorHttpError(404, 'E_NOT_FOUND', `Cannot ${method} ${path}`)
    }
    const route = routes[method]
    if (!route) {
      req.resume()
      res.setHeader('allow', Object.keys(routes).join(', '))
      throw new EmulatorHttpError(405, 'E_METHOD_NOT_ALLOWED', `Cannot ${method} ${path}`)
    }

    if (route.endpoint) {
      this.#counts[route.endpoint]++
      if (await this.#applyFault(route.endpoint, req, res)) return
    }
    await route.run()
  }

  #routes(
    s: string[],
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse
  ): Record<string, Route> | undefined {
    const path = s.join('/')

    if (path === 'hub/app-config') {
      return { GET: { endpoint: 'app_config', run: () => this.#appConfig(req, res, query) } }
    }
    if (path === 'hub/auth/keys') {
      return { GET: { endpoint: 'jwks', run: () => this.#send(res, 200, this.jwks) } }
    }
    if (path === 'hub/auth/.well-known/oauth-authorization-server') {
      return { GET: { endpoint: 'discovery', run: () => this.#send(res, 200, this.#discovery()) } }
    }
    if (path === 'hub/auth/magic') {
      return { POST: { endpoint: 'magic_link', run: () => this.#createMagicLink(req, res) } }
    }
    if (s.length === 2 && s[0] === 'magic') {
      return { GET: { run: () => this.#visitMagicLink(res, s[1]) } }
    }
    if (path === '__emulator/health') {
      return { GET: { run: () => this.#send(res, 200, { ok: true }) } }
    }
    if (path === '__emulator/tokens') {
      return { POST: { run: () => this.#controlToken(req, res) } }
    }

    if (s[0] !== 'applications' || s[2] !== 'users') return undefined
    const app = s[1]
    if (s.length === 4 && s[3] === 'data') {
      return {
        GET: { endpoint: 'users_list', run: () => this.#listUsersRoute(req, res, app, query) },
      }
    }
    if (s.length === 5 && s[4] === 'data') {
      const userId = s[3]
      return {
        GET: { endpoint: 'user_get', run: () => this.#userRoute(req, res, app, userId, 'get') },
        PUT: { endpoint: 'user_put', run: () => this.#userRoute(req, res, app, userId, 'put') },
        PATCH: {
          endpoint: 'user_patch',
          run: () => this.#userRoute(req, res, app, userId, 'patch'),
        },
        DELETE: {
          endpoint: 'user_delete',
          run: () => this.#userRoute(req, res, app, userId, 'delete'),
        },
      }
    }
    if (s.length === 5 && s[4] === 'signout') {
      return { POST: { endpoint: 'signout', run: () => this.#signOutRoute(req, res, app, s[3]) } }
    }
    return undefined
  }

  /** Returns true when the fault answered (or swallowed) the request */
  async #applyFault(endpoint: EmulatorEndpoint, req: IncomingMessage, res: ServerResponse) {
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
        this.#sendError(res, fault.status, 'E_INJECTED_FAULT', 'Injected fault')
        return true
      case 'malformed_json':
        req.resume()
        this.#sendRaw(res, 200, '{"app": {"id": "trunc')
        return true
      case 'malformed_jwks':
        req.resume()
        this.#sendRaw(res, 200, JSON.stringify(fault.body ?? { keys: [{ kty: 'OKP' }] }))
        return true
      case 'reset':
        req.socket.destroy()
        return true
      case 'hang':
        // Never answered; close() destroys the socket
        return true
    }
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

  #cors(): Record<string, string> {
    return { 'access-control-allow-origin': '*' }
  }

  #preflight(req: IncomingMessage, res: ServerResponse) {
    req.resume()
    if (res.writableEnded || res.destroyed) return
    res.writeHead(204, {
      ...this.#cors(),
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
      'access-control-allow-headers':
        'content-type, authorization, x-rownd-app-key, x-rownd-hub-key, x-rownd-app-secret',
      'access-control-max-age': '600',
    })
    res.end()
  }

  #sendRaw(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}) {
    if (res.writableEnded || res.destroyed || res.headersSent) return
    const noBody = status === 204 || status === 304
    res.writeHead(status, {
      ...this.#cors(),
      ...(noBody
        ? {}
        : {
            'content-type': 'application/json; charset=utf-8',
            'content-length': String(Buffer.byteLength(body)),
          }),
      ...extra,
    })
    res.end(noBody ? undefined : body)
  }

  #send(res: ServerResponse, status: number, body?: unknown) {
    this.#sendRaw(res, status, body === undefined ? '' : JSON.stringify(body))
  }

  #sendError(res: ServerResponse, status: number, code: string, message: string, close = false) {
    const envelope = {
      statusCode: status,
      error: STATUS_CODES[status] ?? 'Error',
      code,
      message,
      messages: [],
    }
    this.#sendRaw(res, status, JSON.stringify(envelope), close ? { connection: 'close' } : {})
  }

  #readBody(req: IncomingMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const declared = Number(header(req, 'content-length'))
      if (declared > DISCARD_LIMIT) {
        reject(new EmulatorHttpError(413, 'E_PAYLOAD_TOO_LARGE', 'Request body too large', true))
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      let tooLarge = false
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > DISCARD_LIMIT) {
          req.destroy()
          return
        }
        if (size > BODY_LIMIT) {
          tooLarge = true
          chunks.length = 0
          return
        }
        chunks.push(chunk)
      })
      req.on('error', reject)
      req.on('end', () => {
        if (tooLarge) {
          reject(new EmulatorHttpError(413, 'E_PAYLOAD_TOO_LARGE', 'Request body too large'))
          return
        }
        const text = Buffer.concat(chunks).toString('utf8')
        if (text.trim() === '') return resolve(undefined)
        try {
          resolve(JSON.parse(text))
        } catch {
          reject(new EmulatorHttpError(400, 'E_INVALID_JSON', 'Request body is not valid JSON'))
        }
      })
    })
  }

  async #readObject(req: IncomingMessage, optional = false): Promise<Record<string, unknown>> {
    const body = await this.#readBody(req)
    if (body === undefined && optional) return {}
    if (!isPlainObject(body)) {
      throw new EmulatorHttpError(400, 'E_VALIDATION', 'Request body must be a JSON object')
    }
    return body
  }

  #requireSecret(req: IncomingMessage) {
    if (
      !safeEqual(header(req, 'x-rownd-app-key'), this.appKey) ||
      !safeEqual(header(req, 'x-rownd-app-secret'), this.appSecret)
    ) {
      throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Missing or invalid app credentials')
    }
  }

  #requireApp(app: string) {
    if (app !== this.appId) {
      throw new EmulatorHttpError(404, 'E_NOT_FOUND', `Application "${app}" not found`)
    }
  }

  #appConfig(req: IncomingMessage, res: ServerResponse, query: URLSearchParams) {
    const key = header(req, 'x-rownd-app-key') ?? header(req, 'x-rownd-hub-key')
    const appId = query.get('app_id')
    if (key !== undefined) {
      if (!safeEqual(key, this.appKey)) {
        throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Invalid app key')
      }
    } else if (appId !== null) {
      if (appId !== this.appId) {
        throw new EmulatorHttpError(404, 'E_NOT_FOUND', `Application "${appId}" not found`)
      }
    } else {
      throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Missing app key')
    }

    const field = (displayName: string, type = 'string') => ({
      display_name: displayName,
      type,
      data_category: 'pii_basic',
      required: false,
      owned_by: 'user',
      user_visible: true,
      encryption: { state: 'disabled' },
    })
    this.#send(res, 200, {
      app: {
        id: this.appId,
        name: this.appName,
        schema: {
          email: field('Email'),
          first_name: field('First name'),
          last_name: field('Last name'),
          phone_number: field('Phone number'),
        },
        user_verification_fields: ['email'],
        config: {
          hub: {
            auth: {
              sign_in_methods: {
                email: { enabled: true },
                phone: { enabled: false },
                anonymous: { enabled: false },
              },
              allow_unverified_users: true,
            },
          },
          default_redirect_url: '/',
        },
      },
    })
  }

  #discovery() {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.url}/hub/auth/keys`,
      token_endpoint: `${this.url}/hub/auth/token`,
      response_types_supported: ['token'],
      grant_types_supported: ['refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      id_token_signing_alg_values_supported: ['EdDSA'],
    }
  }

  #userOr404(userId: string): RowndEmulatorUser {
    const user = this.#users.get(userId)
    if (!user) throw new EmulatorHttpError(404, 'E_NOT_FOUND', `User "${userId}" not found`)
    return user
  }

  async #userRoute(
    req: IncomingMessage,
    res: ServerResponse,
    app: string,
    userId: string,
    action: 'get' | 'put' | 'patch' | 'delete'
  ) {
    this.#requireSecret(req)
    this.#requireApp(app)

    if (action === 'get' || action === 'delete') {
      req.resume()
      const user = this.#userOr404(userId)
      if (action === 'get') return this.#send(res, 200, this.#profile(user))
      this.#users.delete(user.userId)
      return this.#send(res, 204)
    }

    const body = await this.#readObject(req)
    if (!isPlainObject(body.data)) {
      throw new EmulatorHttpError(400, 'E_VALIDATION', '"data" must be an object')
    }
    // PUT is an upsert in Rownd's API; PATCH needs an existing user
    let user = this.#users.get(userId)
    if (!user && action === 'put') user = this.createUser({ userId, emailVerified: false })
    if (!user) user = this.#userOr404(userId)
    this.#writeData(user, body.data, action === 'patch')
    this.#send(res, 200, this.#profile(user))
  }

  #listUsersRoute(req: IncomingMessage, res: ServerResponse, app: string, query: URLSearchParams) {
    this.#requireSecret(req)
    this.#requireApp(app)
    req.resume()

    const list = (name: string) =>
      (query.get(name) ?? '')
        .split(',')
        .map((value) => value.trim())
        .filter(Boolean)
    const lookups = list('lookup_filter').map((value) => value.toLowerCase())
    const ids = list('id_filter')

    const rawSize = query.get('page_size')
    const pageSize = rawSize === null ? 100 : Number(rawSize)
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new EmulatorHttpError(400, 'E_VALIDATION', '"page_size" must be between 1 and 1000')
    }

    let matches = [...this.#users.values()].filter((user) => {
      if (ids.length && !ids.includes(user.userId)) return false
      if (!lookups.length) return true
      const values = [user.userId, user.data.email, user.data.phone_number]
        .filter((value): value is string => typeof value === 'string')
        .map((value) => value.toLowerCase())
      return values.some((value) => lookups.includes(value))
    })
    const total = matches.length
    const after = query.get('after')
    if (after) {
      const index = matches.findIndex((user) => user.userId === after)
      matches = index === -1 ? [] : matches.slice(index + 1)
    }
    this.#send(res, 200, {
      total_results: total,
      results: matches.slice(0, pageSize).map((user) => this.#profile(user)),
    })
  }

  async #signOutRoute(req: IncomingMessage, res: ServerResponse, app: string, userId: string) {
    this.#requireSecret(req)
    this.#requireApp(app)
    const body = await this.#readObject(req, true)
    if (body.sign_out_all !== undefined && typeof body.sign_out_all !== 'boolean') {
      throw new EmulatorHttpError(400, 'E_VALIDATION', '"sign_out_all" must be a boolean')
    }
    this.#userOr404(userId)
    this.signOuts.push({ userId, all: body.sign_out_all === true })
    this.#send(res, 204)
  }

  async #createMagicLink(req: IncomingMessage, res: ServerResponse) {
    this.#requireSecret(req)
    const body = await this.#readObject(req)
    const invalid = (message: string) => new EmulatorHttpError(400, 'E_VALIDATION', message)

    const type = body.verification_type
    if (type !== 'email' && type !== 'phone') {
      throw invalid('"verification_type" must be "email" or "phone"')
    }
    if (!isPlainObject(body.data)) throw invalid('"data" must be an object')
    const data = body.data
    if (
      type === 'email' &&
      !(typeof data.email === 'string' && /^[^@\s]+@[^@\s]+$/.test(data.email))
    ) {
      throw invalid('"data.email" must be an email address')
    }
    if (
      type === 'phone' &&
      !(typeof data.phone_number === 'string' && data.phone_number.length > 3)
    ) {
      throw invalid('"data.phone_number" must be a phone number')
    }
    if (typeof body.redirect_url !== 'string' || body.redirect_url === '') {
      throw invalid('"redirect_url" must be a string')
    }
    if (
      body.expiration !== undefined &&
      !(typeof body.expiration === 'string' && EXPIRATION_PATTERN.test(body.expiration))
    ) {
      throw invalid('"expiration" must look like "1h", "2d" or "30d"')
    }
    if (body.user_id !== undefined && typeof body.user_id !== 'string') {
      throw invalid('"user_id" must be a string')
    }

    // Identifying data auto-matches an existing user, whatever user_id says
    let user =
      type === 'email'
        ? this.findUserByEmail(data.email as string)
        : this.listUsers().find((candidate) => candidate.data.phone_number === data.phone_number)
    const requestedId =
      typeof body.user_id === 'string' && !body.user_id.startsWith('__') ? body.user_id : undefined
    if (!user && requestedId) user = this.#users.get(requestedId)
    if (!user) {
      user = this.createUser({ userId: requestedId, emailVerified: false, authLevel: 'unverified' })
    }
    const rest = { ...data }
    delete rest.user_id
    this.#writeData(user, rest, true)

    const id = randomId(10)
    const link = `${this.url}/magic/${id}`
    this.magicLinks.push({
      id,
      link,
      userId: user.userId,
      verificationType: type,
      redirectUrl: body.redirect_url,
      expiration: body.expiration as string | undefined,
      visited: false,
    })
    this.#send(res, 200, { link, app_user_id: user.userId })
  }

  /** Visiting a link verifies the identifier it was sent to, then redirects */
  #visitMagicLink(res: ServerResponse, id: string) {
    const entry = this.magicLinks.find((candidate) => candidate.id === id)
    if (!entry) throw new EmulatorHttpError(404, 'E_NOT_FOUND', 'Magic link not found')
    const user = this.#users.get(entry.userId)
    if (user) {
      if (entry.verificationType === 'email') user.emailVerified = true
      else user.phoneVerified = true
      user.authLevel = 'verified'
    }
    entry.visited = true
    this.#sendRaw(res, 302, '', { 'location': entry.redirectUrl, 'content-length': '0' })
  }

  async #controlToken(req: IncomingMessage, res: ServerResponse) {
    const body = await this.#readObject(req, true)
    const invalid = (message: string) => new EmulatorHttpError(400, 'E_VALIDATION', message)
    if (body.user_id !== undefined && (typeof body.user_id !== 'string' || body.user_id === '')) {
      throw invalid('"user_id" must be a non-empty string')
    }
    if (body.email !== undefined && (typeof body.email !== 'string' || !body.email.includes('@'))) {
      throw invalid('"email" must be an email address')
    }
    if (
      body.expires_in !== undefined &&
      !(
        typeof body.expires_in === 'number' &&
        Number.isInteger(body.expires_in) &&
        body.expires_in > 0
      )
    ) {
      throw invalid('"expires_in" must be a positive integer')
    }

    const userId = body.user_id as string | undefined
    const email = body.email as string | undefined
    let user = userId ? this.#users.get(userId) : email ? this.findUserByEmail(email) : undefined
    if (!user) user = this.createUser({ userId, email, emailVerified: true })

    const accessToken = await this.mintToken({
      userId: user.userId,
      expiresIn: body.expires_in as number | undefined,
    })
    this.#send(res, 200, { access_token: accessToken, user_id: user.userId })
  }
}
