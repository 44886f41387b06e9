/*
 * rownd-adonis
 *
 * A Rownd compatible API server for tests: serves app config, JWKS, the users
 * API and magic links over real HTTP on loopback, mints tokens signed with its
 * own keys and injects faults on demand.
 *
 * This file holds the `RowndEmulator` class (lifecycle, public API) and the
 * routing table; each route's behaviour lives in the module named after its
 * concern (app_config, users_api, magic_links, sessions).
 */

import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { randomInt } from 'node:crypto'
import type { CryptoKey } from 'jose'
import {
  applyOverrides,
  buildRowndClaims,
  randomId,
  signCompact,
  type RowndAuthLevel,
  type RowndPublicJwk,
} from '../tokens.ts'
import { appConfigRoute, discoveryRoute, jwksRoute } from './app_config.ts'
import type { EmulatorContext } from './context.ts'
import {
  FaultInjector,
  type EmulatorEndpoint,
  type EmulatorFault,
  type EmulatorFaultOptions,
} from './faults.ts'
import { EmulatorHttpError, send, sendError, sendPreflight, type RouteCall } from './http.ts'
import { KeyRing } from './keys.ts'
import { createMagicLinkRoute, visitMagicLinkRoute, type RowndMagicLink } from './magic_links.ts'
import { hubScriptRoute } from './hub_assets.ts'
import { devTokenRoute } from './dev_tokens.ts'
import {
  EmulatorStateWriter,
  readEmulatorState,
  STATE_WARNING,
  type EmulatorState,
} from './persistence.ts'
import { mySignOutRoute, readMyDataRoute, writeMyDataRoute } from './me_api.ts'
import {
  controlTokenRoute,
  issueSession,
  refreshTokenRoute,
  signInUser,
  SessionStore,
  type IssuedSession,
  type RowndSignOut,
} from './sessions.ts'
import { listUsersRoute, readOrDeleteUserRoute, signOutRoute, writeUserRoute } from './users_api.ts'
import {
  nowIso,
  serializeProfile,
  UserStore,
  type CreateUserInput,
  type RowndEmulatorUser,
} from './users.ts'
import { WebhookSender, type RowndWebhookTarget } from './webhooks.ts'

export interface RowndEmulatorOptions {
  appId?: string
  appKey?: string
  appSecret?: string
  appName?: string
  /** Port to listen on, 0 (default) picks a free one */
  port?: number
  /**
   * `iss` of minted tokens. Default: the emulator's own URL (`url`), which is
   * the issuer rownd-adonis expects when `apiUrl` points at the emulator
   */
  issuer?: string
  /** Send webhook deliveries there as users change (also `emulator.webhooks.configure()`) */
  webhooks?: RowndWebhookTarget
  /**
   * JSON file holding the app credentials, signing keys (private keys
   * included), users and sessions: loaded on start when it exists, written
   * after every change. Development only (see persistence.ts). Options
   * given here win over the file's app credentials and issuer.
   */
  stateFile?: string
  /**
   * Milliseconds added to the emulator's clock: its `Date` response header
   * and the `iat`/`exp` of the tokens it mints, as if this machine's clock
   * were off by the opposite amount. Default 0
   */
  clockSkew?: number
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
  /**
   * Default, as Rownd mints them: true for verified, instant and guest
   * tokens, false for unverified ones
   */
  isVerifiedUser?: boolean
  /**
   * Default, as Rownd mints them: `true` on guest tokens, and the claim
   * absent on every other token. `false` writes the claim as false.
   */
  isAnonymous?: boolean
  /** Extra or overriding claims, `undefined` deletes a claim */
  claims?: Record<string, unknown>
  /** Extra or overriding protected header fields, `undefined` deletes a field */
  header?: Record<string, unknown>
}

type Handler = (ctx: EmulatorContext, call: RouteCall) => Promise<void> | void

interface RouteMethod {
  /** Counted, and subject to faults, under this name */
  endpoint?: EmulatorEndpoint
  run: Handler
}

/**
 * The routing table. `:name` segments are path parameters. Routes without
 * an endpoint are neither counted nor faulted.
 */
const ROUTES: Array<{ path: string; methods: Record<string, RouteMethod> }> = [
  { path: 'hub/app-config', methods: { GET: { endpoint: 'app_config', run: appConfigRoute } } },
  { path: 'hub/auth/keys', methods: { GET: { endpoint: 'jwks', run: jwksRoute } } },
  {
    path: 'hub/auth/.well-known/oauth-authorization-server',
    methods: { GET: { endpoint: 'discovery', run: discoveryRoute } },
  },
  {
    path: 'hub/auth/magic',
    methods: { POST: { endpoint: 'magic_link', run: createMagicLinkRoute } },
  },
  { path: 'magic/:id', methods: { GET: { run: visitMagicLinkRoute } } },
  {
    path: 'hub/auth/token',
    methods: { POST: { endpoint: 'token_refresh', run: refreshTokenRoute } },
  },
  {
    path: 'me/applications/:app/data',
    methods: {
      GET: { endpoint: 'me_data', run: readMyDataRoute },
      PUT: { endpoint: 'me_data', run: writeMyDataRoute },
    },
  },
  {
    path: 'me/applications/:app/signout',
    methods: { POST: { endpoint: 'me_signout', run: mySignOutRoute } },
  },
  {
    path: 'applications/:app/users/data',
    methods: { GET: { endpoint: 'users_list', run: listUsersRoute } },
  },
  {
    path: 'applications/:app/users/:user/data',
    methods: {
      GET: { endpoint: 'user_get', run: readOrDeleteUserRoute },
      PUT: { endpoint: 'user_put', run: writeUserRoute },
      PATCH: { endpoint: 'user_patch', run: writeUserRoute },
      DELETE: { endpoint: 'user_delete', run: readOrDeleteUserRoute },
    },
  },
  {
    path: 'applications/:app/users/:user/signout',
    methods: { POST: { endpoint: 'signout', run: signOutRoute } },
  },
  // The stand-in Hub, where Rownd serves its own (see hub_assets.ts)
  {
    path: 'static/scripts/rph.mjs',
    methods: { GET: { run: hubScriptRoute }, HEAD: { run: hubScriptRoute } },
  },
  {
    path: 'static/scripts/rph.js',
    methods: { GET: { run: hubScriptRoute }, HEAD: { run: hubScriptRoute } },
  },
  // Emulator only: health check and the stand-in Hub's sign-in
  {
    path: '__emulator/health',
    methods: { GET: { run: (_, { res }) => send(res, 200, { ok: true }) } },
  },
  { path: '__emulator/tokens', methods: { POST: { run: controlTokenRoute } } },
  { path: '__emulator/dev/tokens', methods: { POST: { run: devTokenRoute } } },
]

const COMPILED_ROUTES = ROUTES.map((route) => ({ ...route, segments: route.path.split('/') }))

/** Finds the route matching decoded path segments, with its parameters */
function matchRoute(segments: string[]) {
  for (const route of COMPILED_ROUTES) {
    if (route.segments.length !== segments.length) continue
    const params: Record<string, string> = {}
    const matches = route.segments.every((expected, index) => {
      if (expected.startsWith(':')) {
        params[expected.slice(1)] = segments[index]
        return true
      }
      return expected === segments[index]
    })
    if (matches) return { methods: route.methods, params }
  }
  return undefined
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

  #users = new UserStore()
  #webhooks: WebhookSender
  #faults = new FaultInjector()
  #keys = new KeyRing()
  #sessions = new SessionStore()
  #context: EmulatorContext
  #clockSkew = 0
  #stateFile?: string
  #state?: EmulatorStateWriter

  private constructor(options: RowndEmulatorOptions) {
    this.appId = options.appId ?? String(randomInt(1e8, 1e9)) + String(randomInt(1e8, 1e9))
    this.appKey = options.appKey ?? `key_${randomId(24)}`
    this.appSecret = options.appSecret ?? `ras_${randomId(40)}`
    this.appName = options.appName ?? 'Rownd emulator'
    this.#issuer = options.issuer
    this.#port = options.port ?? 0
    this.#webhooks = new WebhookSender(options.webhooks)
    this.#users.onChange = (operation, user) => this.#webhooks.notify(operation, user)
    this.#clockSkew = options.clockSkew ?? 0

    const emulator = this
    this.#context = {
      appId: this.appId,
      appKey: this.appKey,
      appSecret: this.appSecret,
      appName: this.appName,
      get url() {
        return emulator.url
      },
      get issuer() {
        return emulator.issuer
      },
      get jwks() {
        return emulator.jwks
      },
      users: this.#users,
      magicLinks: this.magicLinks,
      signOuts: this.signOuts,
      sessions: this.#sessions,
      mintToken: (mintOptions) => this.mintToken(mintOptions),
    }
  }

  /**
   * Creates an emulator with a fresh signing key and starts listening on 127.0.0.1
   */
  static async start(options: RowndEmulatorOptions = {}): Promise<RowndEmulator> {
    const state = options.stateFile ? await readEmulatorState(options.stateFile) : undefined
    const emulator = new RowndEmulator({
      ...options,
      appId: options.appId ?? state?.app.id,
      appKey: options.appKey ?? state?.app.key,
      appSecret: options.appSecret ?? state?.app.secret,
      appName: options.appName ?? state?.app.name,
      issuer: options.issuer ?? state?.issuer,
    })
    if (!state || !(await emulator.#keys.restore(state.keys))) await emulator.#keys.add()
    if (state) {
      for (const user of state.users) emulator.#users.restore(user)
      emulator.#sessions.restore(state.sessions)
    }
    if (options.stateFile) {
      emulator.#stateFile = options.stateFile
      emulator.#state = new EmulatorStateWriter(options.stateFile, () => emulator.#snapshot())
    }
    await emulator.#listen()
    await emulator.#state?.flush()
    return emulator
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

  /** Path of the state file, when the emulator persists its state */
  get stateFile(): string | undefined {
    return this.#stateFile
  }

  /** Milliseconds added to the emulator's clock (see {@link RowndEmulatorOptions.clockSkew}) */
  get clockSkew(): number {
    return this.#clockSkew
  }

  /**
   * Shifts the emulator's clock: its `Date` header and the times in the
   * tokens it mints from now on. 0 puts it back.
   */
  setClockSkew(ms: number): void {
    if (!Number.isFinite(ms)) throw new Error(`Invalid clock skew "${ms}"`)
    this.#clockSkew = ms
  }

  /** Whether the server currently accepts connections */
  get listening(): boolean {
    return this.#server?.listening ?? false
  }

  /** Kid of the key currently signing tokens */
  get currentKid(): string {
    return this.#keys.current.kid
  }

  /** Private key currently signing tokens, to craft tokens by hand */
  get signingKey(): CryptoKey {
    return this.#keys.current.privateKey
  }

  /** The JWKS currently published on `/hub/auth/keys` */
  get jwks(): { keys: RowndPublicJwk[] } {
    return this.#keys.jwks
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
    if (!server) return await this.#state?.flush()
    this.#server = undefined
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    // Keep-alive and hanging sockets would otherwise keep answering or block close
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
    await closed
    await this.#state?.flush()
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
    this.#faults.close()
    await this.stop()
    await this.#state?.close()
  }

  /*
   * ---------------------------------------------------------------
   * Faults and counters (see faults.ts)
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
    this.#faults.set(endpoint, fault, options)
  }

  /** Removes every fault */
  clearFaults(): void {
    this.#faults.clear()
  }

  /** Requests received by an endpoint, faulted ones included */
  requestCount(endpoint: EmulatorEndpoint): number {
    return this.#faults.count(endpoint)
  }

  /** Requests received per endpoint */
  counts(): Record<EmulatorEndpoint, number> {
    return this.#faults.counts()
  }

  /** Sets every counter back to zero */
  resetCounts(): void {
    this.#faults.resetCounts()
  }

  /*
   * ---------------------------------------------------------------
   * Users (see users.ts)
   * ---------------------------------------------------------------
   */

  /**
   * Stores a new user. Email is verified unless `emailVerified: false`.
   */
  createUser(input: CreateUserInput = {}): RowndEmulatorUser {
    const user = this.#users.create(input)
    this.#changed()
    return user
  }

  /** Returns the stored (live) user */
  getUser(userId: string): RowndEmulatorUser | undefined {
    return this.#users.get(userId)
  }

  /** Finds a user by email, case-insensitively */
  findUserByEmail(email: string): RowndEmulatorUser | undefined {
    return this.#users.findByEmail(email)
  }

  /** Every stored user, in creation order */
  listUsers(): RowndEmulatorUser[] {
    return this.#users.list()
  }

  /** Removes a user; returns false when unknown */
  deleteUser(userId: string): boolean {
    this.#changed()
    return this.#users.delete(userId)
  }

  /**
   * Changes a user's profile data as the users API would (merged unless
   * `replace`; a changed email or phone loses its verification), sending a
   * `data_update` delivery. Returns the user.
   */
  updateUser(
    userId: string,
    data: Record<string, unknown>,
    options: { replace?: boolean } = {}
  ): RowndEmulatorUser {
    const user = this.#users.get(userId)
    if (!user) throw new Error(`User "${userId}" does not exist`)
    this.#users.writeData(user, data, !options.replace)
    return user
  }

  /*
   * ---------------------------------------------------------------
   * Webhooks (see webhooks.ts)
   * ---------------------------------------------------------------
   */

  /**
   * The webhook connector: `configure({ url, method })`, the recorded
   * `deliveries`, `hold()` / `release(order)`, `replay()`, `deliver()`
   * (e.g. `visibility_update`), `sendPayload()` and `settled()`
   */
  get webhooks(): WebhookSender {
    return this.#webhooks
  }

  /** The user as the users API serializes it */
  userProfile(userId: string): Record<string, unknown> | undefined {
    const user = this.#users.get(userId)
    return user ? serializeProfile(user) : undefined
  }

  /*
   * ---------------------------------------------------------------
   * Browser sessions (see sessions.ts)
   * ---------------------------------------------------------------
   */

  /**
   * Signs a user in as the stand-in Hub does: an access token and a refresh
   * token usable on `POST /hub/auth/token`. Unknown ids or emails create the
   * user (email verified).
   */
  async createSession(
    input: { userId?: string; email?: string; expiresIn?: number } = {}
  ): Promise<IssuedSession> {
    const { user } = signInUser(this.#context, input.userId, input.email)
    this.#changed()
    return issueSession(this.#context, user, input.expiresIn)
  }

  /**
   * Revokes every session of a user, as the users API sign-out does (without
   * recording it in {@link signOuts}). Returns how many were active.
   */
  revokeSessions(userId: string): number {
    this.#changed()
    return this.#sessions.revokeUser(userId)
  }

  /** Sessions of a user whose refresh token still works */
  activeSessions(userId: string): number {
    return this.#sessions.activeCount(userId)
  }

  /*
   * ---------------------------------------------------------------
   * Keys and tokens (see keys.ts, ../tokens.ts)
   * ---------------------------------------------------------------
   */

  /**
   * Starts signing with a new key. The old keys stay published unless
   * `withdrawOld` is set. Returns the new kid.
   */
  async rotateKeys(options: { withdrawOld?: boolean } = {}): Promise<string> {
    const key = await this.#keys.add()
    if (options.withdrawOld) this.#keys.withdrawAllButCurrent()
    this.#changed()
    return key.kid
  }

  /**
   * Mints an access token shaped like Rownd's, signed with the current key
   */
  async mintToken(options: MintTokenOptions = {}): Promise<string> {
    let user = options.userId ? this.#users.get(options.userId) : undefined
    if (!user) {
      user = this.#users.create({
        userId: options.userId,
        authLevel: options.authLevel,
        sub: options.sub,
      })
    }
    user.meta.last_sign_in = nowIso()
    this.#changed()

    const now = Math.floor((Date.now() + this.#clockSkew) / 1000)
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
      isVerifiedUser: options.isVerifiedUser ?? authLevel !== 'unverified',
      isAnonymous: options.isAnonymous ?? (authLevel === 'guest' ? true : undefined),
      issuedAt,
      expiresAt,
    })
    if (options.audience !== undefined) claims.aud = options.audience
    if (options.notBefore !== undefined) claims.nbf = options.notBefore
    claims = applyOverrides(claims, options.claims)

    const key = options.foreignKey ? await this.#keys.foreignKey() : this.#keys.current.privateKey
    const protectedHeader = applyOverrides(
      { alg: 'EdDSA', kid: options.kid ?? this.#keys.current.kid },
      options.header
    )
    return signCompact(protectedHeader, claims, key)
  }

  /*
   * ---------------------------------------------------------------
   * State file (see persistence.ts)
   * ---------------------------------------------------------------
   */

  /** Writes the state file soon, when there is one */
  #changed() {
    this.#state?.schedule()
  }

  async #snapshot(): Promise<EmulatorState> {
    return {
      version: 1,
      warning: STATE_WARNING,
      app: { id: this.appId, key: this.appKey, secret: this.appSecret, name: this.appName },
      issuer: this.#issuer,
      keys: await this.#keys.export(),
      users: this.#users.list(),
      sessions: this.#sessions.export(),
    }
  }

  /*
   * ---------------------------------------------------------------
   * HTTP
   * ---------------------------------------------------------------
   */

  #onRequest(req: IncomingMessage, res: ServerResponse) {
    if (this.#clockSkew) res.setHeader('date', new Date(Date.now() + this.#clockSkew).toUTCString())
    // Any request may have changed users or sessions
    if (this.#state) res.once('close', () => this.#changed())
    this.#handle(req, res).catch((error: unknown) => {
      if (error instanceof EmulatorHttpError) {
        sendError(res, error.status, error.code, error.message, error.closeConnection)
      } else {
        sendError(res, 500, 'E_INTERNAL', 'Internal emulator error')
      }
    })
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? 'GET'
    const rawUrl = req.url ?? '/'
    const queryStart = rawUrl.indexOf('?')
    const path = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart)
    const query = new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1))

    if (method === 'OPTIONS') return sendPreflight(req, res)

    let segments: string[]
    try {
      segments = path.split('/').slice(1).map(decodeURIComponent)
    } catch {
      throw new EmulatorHttpError(400, 'E_BAD_REQUEST', 'Malformed URL')
    }
    if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop()

    const match = matchRoute(segments)
    if (!match) {
      req.resume()
      throw new EmulatorHttpError(404, 'E_NOT_FOUND', `Cannot ${method} ${path}`)
    }
    const route = match.methods[method]
    if (!route) {
      req.resume()
      res.setHeader('allow', Object.keys(match.methods).join(', '))
      throw new EmulatorHttpError(405, 'E_METHOD_NOT_ALLOWED', `Cannot ${method} ${path}`)
    }

    if (route.endpoint && (await this.#faults.apply(route.endpoint, req, res))) return
    await route.run(this.#context, { req, res, params: match.params, query })
  }
}
