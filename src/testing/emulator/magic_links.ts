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
  userId: string
  verificationType: 'email' | 'phone'
  redirectUrl: string
  expiration?: string
  visited: boolean
}

export async function createMagicLinkRoute(ctx: EmulatorContext, { req, res }: RouteCall) {
  requireSecret(ctx, req)
  const body = await readObject(req)

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
      ? ctx.users.findByEmail(data.email as string)
      : ctx.users.findByPhone(data.phone_number as string)
  const requestedId =
    typeof body.user_id === 'string' && !body.user_id.startsWith('__') ? body.user_id : undefined
  if (!user && requestedId) user = ctx.users.get(requestedId)
  if (!user) {
    user = ctx.users.create({ userId: requestedId, emailVerified: false, authLevel: 'unverified' })
  }
  const rest = { ...data }
  delete rest.user_id
  ctx.users.writeData(user, rest, true)

  const id = randomId(10)
  const link = `${ctx.url}/magic/${id}`
  ctx.magicLinks.push({
    id,
    link,
    userId: user.userId,
    verificationType: type,
    redirectUrl: body.redirect_url,
    expiration: body.expiration as string | undefined,
    visited: false,
  })
  send(res, 200, { link, app_user_id: user.userId })
}

/** Visiting a link verifies the identifier it was sent to, then redirects */
export function visitMagicLinkRoute(ctx: EmulatorContext, { res, params }: RouteCall) {
  const entry = ctx.magicLinks.find((candidate) => candidate.id === params.id)
  if (!entry) throw new EmulatorHttpError(404, 'E_NOT_FOUND', 'Magic link not found')
  const user = ctx.users.get(entry.userId)
  if (user) {
    if (entry.verificationType === 'email') user.emailVerified = true
    else user.phoneVerified = true
    user.authLevel = 'verified'
  }
  entry.visited = true
  sendRaw(res, 302, '', { 'location': entry.redirectUrl, 'content-length': '0' })
}
