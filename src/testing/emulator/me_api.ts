/*
 * rownd-adonis
 *
 * The user-scoped API the browser Hub calls with the user's own access
 * token: `/me/applications/{app}/data` and `/me/applications/{app}/signout`.
 */

import type { IncomingMessage } from 'node:http'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { ROWND_CLAIMS } from '../tokens.ts'
import { requireApp, type EmulatorContext } from './context.ts'
import {
  EmulatorHttpError,
  header,
  invalid,
  isPlainObject,
  readObject,
  send,
  type RouteCall,
} from './http.ts'
import { serializeProfile, type RowndEmulatorUser } from './users.ts'

/** Verifies `Authorization: Bearer <access token>` against our own keys */
async function bearerUser(
  ctx: EmulatorContext,
  req: IncomingMessage
): Promise<{ user: RowndEmulatorUser; token: string }> {
  const match = /^Bearer (\S+)$/i.exec(header(req, 'authorization') ?? '')
  if (!match) throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Missing bearer token')
  let userId: unknown
  try {
    const { payload } = await jwtVerify(match[1], createLocalJWKSet(ctx.jwks), {
      issuer: ctx.issuer,
      audience: `app:${ctx.appId}`,
      algorithms: ['EdDSA'],
    })
    userId = payload[ROWND_CLAIMS.appUserId]
  } catch {
    throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Invalid or expired access token')
  }
  const user = typeof userId === 'string' ? ctx.users.get(userId) : undefined
  if (!user) throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Unknown user')
  return { user, token: match[1] }
}

/** `GET /me/applications/{app}/data`: the signed-in user's profile */
export async function readMyDataRoute(ctx: EmulatorContext, { req, res, params }: RouteCall) {
  requireApp(ctx, params.app)
  req.resume()
  const { user } = await bearerUser(ctx, req)
  send(res, 200, serializeProfile(user))
}

/** `PUT /me/applications/{app}/data { data }`: replaces the user's own data */
export async function writeMyDataRoute(ctx: EmulatorContext, { req, res, params }: RouteCall) {
  requireApp(ctx, params.app)
  const { user } = await bearerUser(ctx, req)
  const body = await readObject(req)
  if (!isPlainObject(body.data)) throw invalid('"data" must be an object')
  ctx.users.writeData(user, body.data, false)
  send(res, 200, serializeProfile(user))
}

/**
 * `POST /me/applications/{app}/signout { sign_out_all? }`: ends the session
 * the token belongs to, or every session of the user
 */
export async function mySignOutRoute(ctx: EmulatorContext, { req, res, params }: RouteCall) {
  requireApp(ctx, params.app)
  const { user, token } = await bearerUser(ctx, req)
  const body = await readObject(req, true)
  if (body.sign_out_all !== undefined && typeof body.sign_out_all !== 'boolean') {
    throw invalid('"sign_out_all" must be a boolean')
  }
  if (body.sign_out_all === true) ctx.sessions.revokeUser(user.userId)
  else ctx.sessions.revokeByAccessToken(token)
  send(res, 204)
}
