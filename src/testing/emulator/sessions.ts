/*
 * rownd-adonis
 *
 * Browser sessions: the emulator-only sign-in the stand-in Hub uses
 * (`POST /__emulator/tokens`) and the revocations recorded by the users API.
 */

import type { EmulatorContext } from './context.ts'
import { invalid, readObject, send, type RouteCall } from './http.ts'

/** A revocation received on `POST /applications/{app}/users/{user}/signout` */
export interface RowndSignOut {
  userId: string
  all: boolean
}

/**
 * `POST /__emulator/tokens { user_id? | email?, expires_in? }`: signs a user
 * in at once (creating it, email verified) and returns an access token
 */
export async function controlTokenRoute(ctx: EmulatorContext, { req, res }: RouteCall) {
  const body = await readObject(req, true)
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
  let user = userId ? ctx.users.get(userId) : email ? ctx.users.findByEmail(email) : undefined
  if (!user) user = ctx.users.create({ userId, email, emailVerified: true })

  const accessToken = await ctx.mintToken({
    userId: user.userId,
    expiresIn: body.expires_in as number | undefined,
  })
  send(res, 200, { access_token: accessToken, user_id: user.userId })
}
