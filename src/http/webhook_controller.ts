import { createHash, timingSafeEqual } from 'node:crypto'
import type { HttpContext } from '@adonisjs/core/http'
import type { ApplicationService } from '@adonisjs/core/types'
import type { RowndClient } from '../client/rownd_client.ts'
import debug from '../debug.ts'
import { E_ROWND_API_ERROR, E_ROWND_UNAVAILABLE } from '../errors.ts'
import type { RowndEmitter, RowndUserProviderContract } from '../guard/types.ts'
import { reconcileUser } from '../sync/reconcile.ts'
import { rowndUserProviderOf } from '../sync/provider.ts'

/** Methods Rownd's connector may be set to use */
const DELIVERY_METHODS = new Set(['POST', 'PUT', 'PATCH'])

/**
 * A Rownd user id as read from a payload: visible ASCII, at most 255
 * characters (Rownd ids look like `user_…` or UUIDs). Anything else is
 * refused before it reaches an API call or a query (PostgreSQL rejects
 * NUL bytes in text with an error, for one).
 */
const USER_ID = /^[\x21-\x7e]{1,255}$/

/** Compares in constant time whatever the lengths: both sides are hashed first */
function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length === 0 || expected.length === 0) return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

function fail(ctx: HttpContext, status: number, code: string, message: string) {
  return ctx.response.status(status).send({ errors: [{ message, code }] })
}

/** The parts of a delivery that are read: which user, and what it claims happened */
function readDelivery(body: unknown): { rowndUserId: string; operation: string } | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined
  const { data, meta } = body as { data?: unknown; meta?: unknown }
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined
  const userId = (data as { user_id?: unknown }).user_id
  if (typeof userId !== 'string' || !USER_ID.test(userId)) return undefined
  const claimed =
    meta && typeof meta === 'object' ? (meta as { operation?: unknown }).operation : undefined
  const operation =
    typeof claimed === 'string' && /^[a-z_]{1,32}$/.test(claimed) ? claimed : 'unknown'
  return { rowndUserId: userId, operation }
}

export interface WebhookControllerOptions {
  /** The rownd guard whose user provider maps Rownd users onto rows. Default `'rownd'` */
  guard?: string
}

/**
 * Rownd's webhook connector (`POST|PUT|PATCH <prefix>/webhooks/<secret>`).
 *
 * A delivery is only a hint that something changed for `data.user_id`:
 * the user is read again from Rownd's users API and that answer alone is
 * acted on (see `reconcileUser`), so a replayed, reordered or forged
 * payload can do no more than prompt that read. Nothing else of the payload
 * is used; in particular no row is ever linked or created from its email.
 *
 * Answers: 404 (path secret) or 401 (header secret) when the secret does
 * not match, before the body is looked at; 405 for other methods; 415 for
 * non-JSON; 413 over `webhooks.maxBodySize`; 400 without a `data.user_id`;
 * 503 with `Retry-After` while Rownd cannot be reached, so Rownd retries;
 * otherwise 200 `{ received: true }`, the same whether or not the user has
 * a row here. Neither the secret nor the payload is ever logged.
 */
export class RowndWebhookController {
  #guardName: string
  #provider?: Promise<RowndUserProviderContract<unknown>>

  constructor(
    protected app: ApplicationService,
    options: WebhookControllerOptions = {}
  ) {
    this.#guardName = options.guard ?? 'rownd'
  }

  #userProvider() {
    this.#provider ??= rowndUserProviderOf(this.app, this.#guardName)
    this.#provider.catch(() => (this.#provider = undefined))
    return this.#provider
  }

  async handle(ctx: HttpContext) {
    const client = (await this.app.container.make('rownd')) as RowndClient
    const settings = client.config.webhooks

    if (settings.auth === 'path') {
      if (!sameSecret(ctx.params.secret, settings.secret)) {
        return fail(ctx, 404, 'E_ROUTE_NOT_FOUND', 'Not found')
      }
    } else {
      // A path segment is refused here, so the secret never travels in a URL
      const given = ctx.request.request.headers[settings.header]
      if (ctx.params.secret !== undefined || !sameSecret(given, settings.secret)) {
        return fail(ctx, 401, 'E_ROWND_WEBHOOK_UNAUTHORIZED', 'Missing or wrong webhook secret')
      }
    }

    if (!DELIVERY_METHODS.has(ctx.request.method())) {
      ctx.response.header('Allow', 'POST, PUT, PATCH')
      return fail(ctx, 405, 'E_METHOD_NOT_ALLOWED', 'Rownd deliveries use POST, PUT or PATCH')
    }
    if (ctx.request.is(['json']) !== 'json') {
      return fail(ctx, 415, 'E_ROWND_UNSUPPORTED_MEDIA_TYPE', 'Deliveries must be JSON')
    }
    const declared = Number(ctx.request.header('content-length') ?? 0)
    const raw = ctx.request.raw()
    if (declared > settings.maxBodySize || Buffer.byteLength(raw ?? '') > settings.maxBodySize) {
      return fail(ctx, 413, 'E_ROWND_WEBHOOK_TOO_LARGE', 'Delivery body too large')
    }
    let body: unknown
    try {
      // The raw text, not the body parser's copy (which may turn "" into null)
      body = raw === null || raw === undefined ? ctx.request.body() : JSON.parse(raw)
    } catch {
      return fail(ctx, 400, 'E_ROWND_WEBHOOK_INVALID', 'Delivery body is not valid JSON')
    }
    const delivery = readDelivery(body)
    if (!delivery) {
      return fail(ctx, 400, 'E_ROWND_WEBHOOK_INVALID', 'Delivery has no data.user_id')
    }

    try {
      const emitter = (await this.app.container.make('emitter')) as unknown as RowndEmitter
      const result = await reconcileUser(delivery.rowndUserId, {
        client,
        provider: await this.#userProvider(),
        emitter,
        onUserDeleted: settings.onUserDeleted,
        source: 'webhook',
      })
      debug('webhook delivery (%s): %s', delivery.operation, result.outcome)
      emitter.emit('rownd_auth:webhook_received', {
        operation: delivery.operation,
        rowndUserId: delivery.rowndUserId,
        outcome: result.outcome,
      })
      return ctx.response.status(200).send({ received: true })
    } catch (error) {
      if (error instanceof E_ROWND_UNAVAILABLE) {
        debug('webhook delivery deferred: Rownd unavailable')
        ctx.response.header('Retry-After', String(error.retryAfter))
        return fail(
          ctx,
          503,
          error.code ?? 'E_ROWND_UNAVAILABLE',
          'Rownd is unavailable, retry later'
        )
      }
      if (error instanceof E_ROWND_API_ERROR) {
        debug('webhook delivery failed: Rownd answered %d', error.rowndStatus)
        return fail(ctx, 502, 'E_ROWND_API_ERROR', 'Rownd refused the users API call')
      }
      throw error
    }
  }
}
