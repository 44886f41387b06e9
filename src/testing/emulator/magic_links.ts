/*
 * rownd-adonis
 *
 * Magic links: `POST /hub/auth/magic` creates one (no message is sent),
 * `GET /magic/{id}` is the link itself.
 */

import { randomId } from '../tokens.ts'
import { requireSecret, type EmulatorContext } from './context.ts'
import {
  EmulatorHttpError,
  invalid,
  isPlainObject,
  readObject,
  send,
  sendRaw,
  type RouteCall,
} from './http.ts'

/** `expiration` as the OpenAPI spec's pattern allows it: `1h`, `2d`, `30 days`... */
const EXPIRATION_PATTERN =
  /^(\d+|\d+\.\d+) ?(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)$/

export interface RowndMagicLink {
  id: string
  link: string
  /** The user an `auth` link signs in; undefined for a `shorten` link */
  userId?: string
  /** `auth` (default) identifies a user; `shorten` is a plain redirect */
  purpose: 'auth' | 'shorten'
  /** What a visit verifies; undefined when the request named none */
  verificationType?: 'email' | 'phone'
  redirectUrl: string
  expiration?: string
  linkData?: Record<string, unknown>
  groupToJoin?: string
  visited: boolean
}

/** `user_id` values that ask Rownd to generate an id */
const USER_ID_DIRECTIVES = new Set(['__default__', '__uuid__', '__objectid__'])

const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+$/

/**
 * `POST /hub/auth/magic`, validated as the OpenAPI spec describes its body:
 * every field is optional there except what makes the link usable
 * (`redirect_url`), and unknown fields are ignored. `verification_type`
 * says what a visit verifies; without it, the link verifies nothing.
 * Identifying data (email, phone) matches an existing user whatever
 * `user_id` says.
 */
export async function createMagicLinkRoute(ctx: EmulatorContext, { req, res }: RouteCall) {
  requireSecret(ctx, req)
  const body = await readObject(req)

  const type = body.verification_type
  if (type !== undefined && type !== 'email' && type !== 'phone') {
    throw invalid('"verification_type" must be "email" or "phone"')
  }
  const purpose = body.purpose ?? 'auth'
  if (purpose !== 'auth' && purpose !== 'shorten') {
    throw invalid('"purpose" must be "auth" or "shorten"')
  }
  if (body.data !== undefined && !isPlainObject(body.data))
    throw invalid('"data" must be an object')
  const data: Record<string, unknown> = isPlainObject(body.data) ? body.data : {}
  if (
    (type === 'email' || data.email !== undefined) &&
    !(typeof data.email === 'string' && EMAIL_PATTERN.test(data.email))
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
  if (body.link_data !== undefined && !isPlainObject(body.link_data)) {
    throw invalid('"link_data" must be an object')
  }
  if (body.group_to_join !== undefined && typeof body.group_to_join !== 'string') {
    throw invalid('"group_to_join" must be a string')
  }

  const id = randomId(10)
  const link = `${ctx.url}/magic/${id}`
  const entry: RowndMagicLink = {
    id,
    link,
    purpose,
    verificationType: type,
    redirectUrl: body.redirect_url,
    expiration: body.expiration as string | undefined,
    linkData: body.link_data as Record<string, unknown> | undefined,
    groupToJoin: body.group_to_join as string | undefined,
    visited: false,
  }

  // A shortened link carries no user: it can be sent to many people
  if (purpose === 'shorten') {
    ctx.magicLinks.push(entry)
    return send(res, 200, { link })
  }

  let user =
    typeof data.email === 'string'
      ? ctx.users.findByEmail(data.email)
      : typeof data.phone_number === 'string'
        ? ctx.users.findByPhone(data.phone_number)
        : undefined
  const requestedId =
    typeof body.user_id === 'string' && !USER_ID_DIRECTIVES.has(body.user_id) && body.user_id !== ''
      ? body.user_id
      : undefined
  if (!user && requestedId) user = ctx.users.get(requestedId)
  if (!user) {
    user = ctx.users.create({ userId: requestedId, emailVerified: false, authLevel: 'unverified' })
  }
  const rest = { ...data }
  delete rest.user_id
  ctx.users.writeData(user, rest, true)

  entry.userId = user.userId
  ctx.magicLinks.push(entry)
  send(res, 200, { link, app_user_id: user.userId })
}

/** Visiting a link verifies the identifier it names (if any), then redirects */
export function visitMagicLinkRoute(ctx: EmulatorContext, { res, params }: RouteCall) {
  const entry = ctx.magicLinks.find((candidate) => candidate.id === params.id)
  if (!entry) throw new EmulatorHttpError(404, 'E_NOT_FOUND', 'Magic link not found')
  const user = entry.userId ? ctx.users.get(entry.userId) : undefined
  if (user && entry.verificationType) {
    if (entry.verificationType === 'email') user.emailVerified = true
    else user.phoneVerified = true
    user.authLevel = 'verified'
  }
  entry.visited = true
  sendRaw(res, 302, '', { 'location': entry.redirectUrl, 'content-length': '0' })
}
