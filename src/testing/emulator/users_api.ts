/*
 * rownd-adonis
 *
 * The app-scoped users API: `/applications/{app}/users/...` profiles, the
 * user list and session revocation.
 */

import { requireApp, requireSecret, type EmulatorContext } from './context.ts'
import {
  EmulatorHttpError,
  invalid,
  isPlainObject,
  readObject,
  send,
  type RouteCall,
} from './http.ts'
import { serializeProfile, type RowndEmulatorUser } from './users.ts'

function userOr404(ctx: EmulatorContext, userId: string): RowndEmulatorUser {
  const user = ctx.users.get(userId)
  if (!user) throw new EmulatorHttpError(404, 'E_NOT_FOUND', `User "${userId}" not found`)
  return user
}

/** `GET/DELETE /applications/{app}/users/{user}/data` */
export function readOrDeleteUserRoute(ctx: EmulatorContext, { req, res, params }: RouteCall) {
  requireSecret(ctx, req)
  requireApp(ctx, params.app)
  req.resume()
  const user = userOr404(ctx, params.user)
  if (req.method === 'GET') return send(res, 200, serializeProfile(user))
  ctx.users.delete(user.userId)
  send(res, 204)
}

/** `PUT` (replace, creating the user) or `PATCH` (merge) `/applications/{app}/users/{user}/data` */
export async function writeUserRoute(ctx: EmulatorContext, { req, res, params }: RouteCall) {
  requireSecret(ctx, req)
  requireApp(ctx, params.app)
  const body = await readObject(req)
  if (!isPlainObject(body.data)) throw invalid('"data" must be an object')
  const patch = req.method === 'PATCH'
  // PUT is an upsert in Rownd's API; PATCH needs an existing user
  let user = ctx.users.get(params.user)
  if (!user && !patch) user = ctx.users.create({ userId: params.user, emailVerified: false })
  if (!user) user = userOr404(ctx, params.user)
  ctx.users.writeData(user, body.data, patch)
  send(res, 200, serializeProfile(user))
}

/** `GET /applications/{app}/users/data?lookup_filter=&id_filter=&page_size=&after=` */
export function listUsersRoute(ctx: EmulatorContext, { req, res, params, query }: RouteCall) {
  requireSecret(ctx, req)
  requireApp(ctx, params.app)
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
    throw invalid('"page_size" must be between 1 and 1000')
  }

  let matches = ctx.users.list().filter((user) => {
    if (ids.length && !ids.includes(user.userId)) return false
    if (!lookups.length) return true
    const values = [user.userId, user.data.email, user.data.phone_number]
      .filter((value): value is string => typeof value === 'string')
      .map((value) => value.toLowerCase())
    return values.some((value) => lookups.includes(value))
  })
  const total = matches.length
  // `after` is the last id of the previous page: the next page starts after
  // it in creation order, even if that user was deleted meanwhile
  const after = query.get('after')
  if (after) {
    const rank = ctx.users.rank(after)
    matches =
      rank === undefined ? [] : matches.filter((user) => ctx.users.rank(user.userId)! > rank)
  }
  send(res, 200, {
    total_results: total,
    results: matches.slice(0, pageSize).map((user) => serializeProfile(user)),
  })
}

/**
 * `POST /applications/{app}/users/{user}/signout` body `{ sign_out_all? }`.
 * The spec describes it as revoking all of the user's tokens, so every
 * session of the user is revoked, with or without `sign_out_all`: their
 * refresh tokens stop working (access tokens live until they expire).
 */
export async function signOutRoute(ctx: EmulatorContext, { req, res, params }: RouteCall) {
  requireSecret(ctx, req)
  requireApp(ctx, params.app)
  const body = await readObject(req, true)
  if (body.sign_out_all !== undefined && typeof body.sign_out_all !== 'boolean') {
    throw invalid('"sign_out_all" must be a boolean')
  }
  userOr404(ctx, params.user)
  ctx.sessions.revokeUser(params.user)
  ctx.signOuts.push({ userId: params.user, all: body.sign_out_all === true })
  send(res, 204)
}
