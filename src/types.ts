/**
 * Public types of rownd-adonis. Runtime-free: import from
 * `rownd-adonis/types`.
 */

/** A duration in milliseconds, or a string such as `'30s'`, `'15m'`, `'1h'` */
export type Duration = number | string

/** A JSON Web Key as Rownd publishes it (Ed25519, OKP) */
export interface RowndJwk {
  kty: string
  crv?: string
  alg?: string
  use?: string
  kid?: string
  x?: string
  [key: string]: unknown
}

export interface RowndJwks {
  keys: RowndJwk[]
}

/** Options accepted by `defineConfig` in `config/rownd.ts` */
export interface RowndConfigInput {
  /** The app key (public). Env: `ROWND_APP_KEY` */
  appKey?: string
  /** The app secret (server only). Env: `ROWND_APP_SECRET` */
  appSecret?: string
  /** Rownd API base URL. Default `https://api.rownd.io`. Env: `ROWND_API_URL` */
  apiUrl?: string
  /** The app id. When set, the app-config fetch is skipped entirely */
  appId?: string
  /** Expected `iss` claim. Default: the API URL */
  issuer?: string
  /** Clock skew accepted on `exp`, `nbf` and `iat`. Default `'5s'` */
  clockTolerance?: Duration
  /** Timeout of every HTTP call to Rownd. Default `'5s'` */
  timeout?: Duration
  /** Longest token accepted, in bytes, checked before any parsing. Default 8192 */
  maxTokenLength?: number
  /** Pinned signing keys: verify fully offline, never fetch the JWKS */
  jwks?: RowndJwks
  /** Cache lifetimes and bounds */
  cache?: RowndCacheConfigInput
  /** Session routes (traditional-app flow) */
  session?: RowndSessionConfigInput
  /** Where HTML clients that fail authentication are redirected. Default `'/login'` */
  loginPath?: string
  /** The browser Hub rendered by the `@rowndHub()` Edge tag */
  hub?: RowndHubConfigInput
  /**
   * The app's public URL (`APP_URL`). Browser calls to the session routes
   * whose `Origin` matches it are accepted even when a proxy rewrites
   * `Host`. Default: the `APP_URL` env var
   */
  appUrl?: string
  /** Which Rownd users may sign in (every kind, by default) */
  accept?: RowndAcceptConfigInput
  /** Sign-outs that survive restarts: where they are persisted */
  revocations?: RowndRevocationsConfigInput | false
  /** Rownd's webhook connector (Generic webhook) calling the app when users change */
  webhooks?: RowndWebhooksConfigInput
}

/**
 * What happens to the local row of a user deleted in Rownd, once their
 * sessions and tokens are revoked:
 * - `'detach'`: the Rownd id column is cleared; the row and its data stay
 *   (a later Rownd account with the same verified email links to it again);
 * - `'delete'`: the row is deleted;
 * - `'keep'`: nothing is changed;
 * - a function, run with the row: do what the app needs (soft delete, anonymize).
 */
export type RowndUserDeletedPolicy =
  | 'delete'
  | 'detach'
  | 'keep'
  | ((user: any, context: RowndUserDeletedContext) => void | Promise<void>)

export interface RowndUserDeletedContext {
  /** The Rownd user id Rownd no longer knows */
  rowndUserId: string
  /** What noticed it: a webhook delivery, the Hub's data update call, or `rownd:sync` */
  source: RowndSyncSource
}

/** Where a change from Rownd came from */
export type RowndSyncSource = 'webhook' | 'hub' | 'sync'

export interface RowndWebhooksConfigInput {
  /**
   * The shared secret of the webhook URL. The webhook route is registered
   * only when it is set. At least 16 characters; in `'path'` mode letters,
   * digits and `-._~` only. Default: the `ROWND_WEBHOOK_SECRET` env var
   */
  secret?: string
  /**
   * Where deliveries carry the secret. `'path'` (default): as the last path
   * segment (`/rownd/webhooks/<secret>`), the only place Rownd's dashboard
   * can put it (it sets just the URL and the HTTP method); a wrong one gets
   * 404. `'header'`: in the `header` header (e.g. added by a relay); a
   * wrong or missing one gets 401
   */
  auth?: 'path' | 'header'
  /** Header carrying the secret in `'header'` mode. Default `'x-rownd-webhook-secret'` */
  header?: string
  /** Largest body accepted, in bytes or as `'64kb'`. Default `'64kb'` */
  maxBodySize?: number | string
  /**
   * What happens to the row of a user deleted in Rownd (noticed by a
   * delivery or by the Hub's data update call). Default `'detach'`
   */
  onUserDeleted?: RowndUserDeletedPolicy
}

/**
 * Kinds of Rownd users the guard admits, decided on the token's
 * `auth_level` and `is_anonymous` claims (never on `is_verified_user`,
 * which Rownd also sets for guest and instant accounts). Verified users
 * are always admitted; a refused user gets 403 `E_ROWND_USER_REFUSED` and
 * no row is written.
 */
export interface RowndAcceptConfigInput {
  /** Tokens with `is_anonymous: true` (anonymous sign-in). Default true */
  anonymous?: boolean
  /** `auth_level: "guest"`. Default true */
  guest?: boolean
  /** `auth_level: "instant"` (instant accounts). Default true */
  instant?: boolean
  /** `auth_level: "unverified"`. Default true */
  unverified?: boolean
}

export interface RowndRevocationsConfigInput {
  /** Table written by the rownd-adonis migration. Default `'rownd_revocations'` */
  table?: string
  /** Lucid connection holding it. Default: the default connection */
  connection?: string
  /**
   * How often an instance re-reads a user's persisted sign-outs. Without a
   * shared `cache.store`, a sign-out on one instance reaches the others
   * within this time. Default `'5m'`
   */
  recheckInterval?: Duration
}

export interface RowndHubConfigInput {
  /**
   * Where the Hub is served from, as Rownd's loaders take it: `@rowndHub()`
   * pushes `setBaseUrl` and loads `<baseUrl>/static/scripts/rph.mjs` (module)
   * and `rph.js` (nomodule). Point it at a `RowndEmulator` URL for its
   * stand-in Hub. Default `https://hub.rownd.io`. Env: `ROWND_HUB_BASE_URL`
   */
  baseUrl?: string
  /**
   * @deprecated Use `baseUrl`. When set, `@rowndHub()` loads this single
   * classic script instead of the rph.mjs/rph.js pair (a warning is printed once).
   */
  scriptUrl?: string
  /** API URL the Hub talks to (`setApiUrl`); default: Rownd's own */
  apiUrl?: string
}

export interface RowndCacheConfigInput {
  /** How often signing keys are refreshed in the background. Default `'1h'` */
  keysRefreshInterval?: Duration
  /** Last good keys keep serving this long while refreshes fail. Default `'24h'` */
  keysMaxStale?: Duration
  /** At most one refetch per this window for tokens with an unknown `kid`. Default `'30s'` */
  unknownKidCooldown?: Duration
  /** App config is refreshed in the background this often. Default `'15m'` */
  appConfigTtl?: Duration
  /** Rownd profiles are cached this long. Default `'5m'` */
  profileTtl?: Duration
  /** Most profiles kept. Default 1000 */
  profileMaxEntries?: number
  /** Most verified tokens kept (keyed by SHA-256). Default 10000 */
  verifiedTokenMaxEntries?: number
  /**
   * Most users whose revocations are held in memory. Default 100000; a user
   * pushed out is read again from the persisted store when next seen
   */
  revocationMaxEntries?: number
  /** First retry delay after a failed fetch. Default `'500ms'` */
  retryBase?: Duration
  /** Longest retry delay. Default `'30s'` */
  retryMax?: Duration
  /**
   * Name of an `@adonisjs/cache` store shared by every instance (app
   * config, keys, revocations). Default: none (memory only)
   */
  store?: string
}

export interface RowndSessionConfigInput {
  /** Path prefix of the session routes. Default `'/rownd'` */
  routePrefix?: string
  /** Sent as `return_to` after a new session sign-in (the Hub redirects there) */
  returnTo?: string
  /** Where the Hub goes after sign-out (`return_to` of the sign-out route) */
  signOutReturnTo?: string
  /** Also revoke the user's Rownd sessions through the API on sign-out. Default false */
  signOutFromRownd?: boolean
  /**
   * The app's own session guard (e.g. `'web'`). Rownd sign-ins also log the
   * user in there, so everything that reads that guard (silent auth,
   * `middleware.auth()`, `auth.user` in views, Inertia shared props) sees
   * Rownd users, and the app's own logout ends the Rownd session. Written by
   * `node ace configure rownd-adonis`. Default: none
   */
  appGuard?: string
  /** Absolute lifetime of a Rownd session, however active. Default `'7d'` */
  maxAge?: Duration
}

/** Normalized configuration, durations in milliseconds */
export interface ResolvedRowndConfig {
  appKey: string
  appSecret: string
  apiUrl: string
  appId?: string
  issuer: string
  clockTolerance: number
  timeout: number
  maxTokenLength: number
  jwks?: RowndJwks
  loginPath: string
  hub: {
    baseUrl: string
    /** Deprecated override of the loader, see {@link RowndHubConfigInput.scriptUrl} */
    scriptUrl?: string
    apiUrl?: string
  }
  appUrl?: string
  accept: {
    anonymous: boolean
    guest: boolean
    instant: boolean
    unverified: boolean
  }
  revocations:
    | {
        table: string
        connection?: string
        recheckInterval: number
      }
    | false
  webhooks: {
    /** Empty when webhooks are off */
    secret: string
    auth: 'path' | 'header'
    header: string
    maxBodySize: number
    onUserDeleted: RowndUserDeletedPolicy
  }
  cache: {
    keysRefreshInterval: number
    keysMaxStale: number
    unknownKidCooldown: number
    appConfigTtl: number
    profileTtl: number
    profileMaxEntries: number
    verifiedTokenMaxEntries: number
    revocationMaxEntries: number
    retryBase: number
    retryMax: number
    store?: string
  }
  session: {
    routePrefix: string
    returnTo?: string
    signOutReturnTo?: string
    signOutFromRownd: boolean
    appGuard?: string
    maxAge: number
  }
}

/** Auth levels Rownd puts in `https://auth.rownd.io/auth_level` */
export type RowndAuthLevel = 'instant' | 'unverified' | 'guest' | 'verified'

/** A verified Rownd access token */
export interface RowndToken {
  /** The Rownd user id (`app_user_id` claim, falling back to `sub`) */
  userId: string
  /** The `sub` claim (differs from `userId` on legacy tokens) */
  subject: string
  isVerifiedUser: boolean
  authLevel?: RowndAuthLevel | string
  isAnonymous: boolean
  audience: string[]
  /** Unix seconds */
  issuedAt?: number
  /** Unix seconds */
  expiresAt: number
  /** `jti` claim, when present */
  id?: string
  /** SHA-256 of the raw token (base64url): safe to log and to share */
  hash: string
  /** Every claim, as sent */
  claims: Readonly<Record<string, unknown>>
}

/** A Rownd user profile, as the users API returns it */
export interface RowndProfile {
  rownd_user?: string
  state?: string
  auth_level?: string
  data: {
    user_id?: string
    email?: string | null
    first_name?: string | null
    last_name?: string | null
    full_name?: string | null
    phone_number?: string | null
    [key: string]: unknown
  }
  verified_data?: { email?: string | null; phone_number?: string | null; [key: string]: unknown }
  groups?: unknown[]
  meta?: Record<string, unknown>
  [key: string]: unknown
}

/** The app config Rownd returns from `/hub/app-config` */
export interface RowndAppConfig {
  id: string
  name?: string
  schema?: Record<string, unknown>
  user_verification_fields?: string[]
  config?: Record<string, unknown>
  [key: string]: unknown
}
