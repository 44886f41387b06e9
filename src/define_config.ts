import string from '@adonisjs/core/helpers/string'
import type {
  Duration,
  ResolvedRowndConfig,
  RowndConfigInput,
  RowndWebhooksConfigInput,
} from './types.ts'

export const ROWND_API_URL = 'https://api.rownd.io'
export const ROWND_HUB_BASE_URL = 'https://hub.rownd.io'

let scriptUrlWarned = false

/** `hub.scriptUrl` still works, but says once that `hub.baseUrl` replaces it */
function warnScriptUrl() {
  if (scriptUrlWarned) return
  scriptUrlWarned = true
  process.emitWarning(
    'rownd-adonis: hub.scriptUrl is deprecated and loads a single classic script; set hub.baseUrl instead (the Hub origin, e.g. https://hub.rownd.io)',
    { type: 'DeprecationWarning', code: 'ROWND_HUB_SCRIPT_URL' }
  )
}

function resolveHub(hub: RowndConfigInput['hub'] = {}): ResolvedRowndConfig['hub'] {
  if (hub.scriptUrl) warnScriptUrl()
  return {
    baseUrl: trimSlash(hub.baseUrl || process.env.ROWND_HUB_BASE_URL || ROWND_HUB_BASE_URL),
    scriptUrl: hub.scriptUrl || undefined,
    apiUrl: hub.apiUrl,
  }
}

/** Converts `'30s'`-style strings or milliseconds into milliseconds */
export function toMs(value: Duration | undefined, fallback: Duration): number {
  const parsed = string.milliseconds.parse(value ?? fallback)
  if (!Number.isFinite(parsed) || parsed < 0) {
    throw new TypeError(`rownd-adonis: invalid duration "${String(value)}"`)
  }
  return parsed
}

/** Header names as Node lowercases them; a valid HTTP token */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

/** Webhook settings, checked at boot: a weak or unusable secret is a config error */
function resolveWebhooks(input: RowndWebhooksConfigInput = {}): ResolvedRowndConfig['webhooks'] {
  const secret = input.secret ?? process.env.ROWND_WEBHOOK_SECRET ?? ''
  const auth = input.auth ?? 'path'
  if (auth !== 'path' && auth !== 'header') {
    throw new TypeError(`rownd-adonis: webhooks.auth must be 'path' or 'header'`)
  }
  const header = (input.header ?? 'x-rownd-webhook-secret').toLowerCase()
  if (!HEADER_NAME.test(header)) {
    throw new TypeError(`rownd-adonis: webhooks.header is not a valid header name`)
  }
  // Never echo the secret itself in these messages
  if (secret !== '') {
    if (secret.length < 16) {
      throw new TypeError('rownd-adonis: the webhook secret must be at least 16 characters')
    }
    if (auth === 'path' && !/^[A-Za-z0-9._~-]+$/.test(secret)) {
      throw new TypeError(
        'rownd-adonis: a webhook secret sent in the URL path may hold letters, digits and -._~ only'
      )
    }
  }
  const maxBodySize =
    typeof input.maxBodySize === 'number'
      ? input.maxBodySize
      : string.bytes.parse(input.maxBodySize ?? '64kb')
  if (typeof maxBodySize !== 'number' || !Number.isFinite(maxBodySize) || maxBodySize <= 0) {
    throw new TypeError(`rownd-adonis: invalid webhooks.maxBodySize "${String(input.maxBodySize)}"`)
  }
  const policy = input.onUserDeleted ?? 'detach'
  if (typeof policy !== 'function' && !['delete', 'detach', 'keep'].includes(policy)) {
    throw new TypeError(
      `rownd-adonis: webhooks.onUserDeleted must be 'delete', 'detach', 'keep' or a function`
    )
  }
  return { secret, auth, header, maxBodySize, onUserDeleted: policy }
}

function trimSlash(url: string) {
  return url.replace(/\/+$/, '')
}

/**
 * Defines the Rownd config (`config/rownd.ts`). Missing values fall back to
 * the `ROWND_APP_KEY`, `ROWND_APP_SECRET`, `ROWND_API_URL` and
 * `ROWND_WEBHOOK_SECRET` env vars,
 * then to the documented defaults. Credentials are checked when the client
 * is first used, so `node ace` commands work without them.
 */
export function defineConfig(config: RowndConfigInput = {}): ResolvedRowndConfig {
  const apiUrl = trimSlash(config.apiUrl || process.env.ROWND_API_URL || ROWND_API_URL)
  const cache = config.cache ?? {}
  const session = config.session ?? {}
  const accept = config.accept ?? {}
  return {
    appKey: config.appKey ?? process.env.ROWND_APP_KEY ?? '',
    appSecret: config.appSecret ?? process.env.ROWND_APP_SECRET ?? '',
    apiUrl,
    appId: config.appId || undefined,
    // Rownd's tokens carry the API URL as `iss`
    issuer: config.issuer ?? apiUrl,
    clockTolerance: toMs(config.clockTolerance, '5s'),
    timeout: toMs(config.timeout, '5s'),
    maxTokenLength: config.maxTokenLength ?? 8192,
    jwks: config.jwks,
    loginPath: config.loginPath ?? '/login',
    hub: resolveHub(config.hub),
    appUrl: config.appUrl || process.env.APP_URL || undefined,
    accept: {
      anonymous: accept.anonymous ?? true,
      guest: accept.guest ?? true,
      instant: accept.instant ?? true,
      unverified: accept.unverified ?? true,
    },
    revocations:
      config.revocations === false
        ? false
        : {
            table: config.revocations?.table ?? 'rownd_revocations',
            connection: config.revocations?.connection,
            recheckInterval: toMs(config.revocations?.recheckInterval, '5m'),
          },
    webhooks: resolveWebhooks(config.webhooks),
    cache: {
      keysRefreshInterval: toMs(cache.keysRefreshInterval, '1h'),
      keysMaxStale: toMs(cache.keysMaxStale, '24h'),
      unknownKidCooldown: toMs(cache.unknownKidCooldown, '30s'),
      appConfigTtl: toMs(cache.appConfigTtl, '15m'),
      profileTtl: toMs(cache.profileTtl, '5m'),
      profileMaxEntries: cache.profileMaxEntries ?? 1000,
      verifiedTokenMaxEntries: cache.verifiedTokenMaxEntries ?? 10_000,
      revocationMaxEntries: cache.revocationMaxEntries ?? 100_000,
      retryBase: toMs(cache.retryBase, '500ms'),
      retryMax: toMs(cache.retryMax, '30s'),
      store: cache.store,
    },
    session: {
      routePrefix: trimSlash(session.routePrefix ?? '/rownd'),
      returnTo: session.returnTo,
      signOutReturnTo: session.signOutReturnTo,
      signOutFromRownd: session.signOutFromRownd ?? false,
      appGuard: session.appGuard || undefined,
      maxAge: toMs(session.maxAge, '7d'),
    },
  }
}
