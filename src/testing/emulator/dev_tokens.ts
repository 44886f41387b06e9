/*
 * rownd-adonis
 *
 * `POST /__emulator/dev/tokens`: an access token for any user, on demand,
 * for `node ace rownd:token` (emulator only). Unlike the stand-in Hub's
 * sign-in it takes the app key and secret, and lets the caller choose the
 * lifetime, the auth level and whether the user counts as verified.
 */

import type { RowndAuthLevel } from '../tokens.ts'
import { requireSecret, type EmulatorContext } from './context.ts'
import { invalid, readObject, send, type RouteCall } from './http.ts'

const AUTH_LEVELS: RowndAuthLevel[] = ['verified', 'unverified', 'instant', 'guest']

/** Longest lifetime a dev token may ask for: 30 days */
const MAX_EXPIRES_IN = 30 * 24 * 3600

/**
 * Body: `{ email? | user_id?, expires_in?, auth_level?, verified? }`.
 * Finds the user by id or (case-insensitive) email, creating it when
 * unknown (email verified unless `verified: false`), and answers
 * `{ access_token, user_id, email, created, auth_level, is_verified_user, expires_at }`.
 */
export async function devTokenRoute(ctx: EmulatorContext, { req, res }: RouteCall) {
  requireSecret(ctx, req)
  const body = await readObject(req, true)
  const { email, user_id: userId, expires_in: expiresIn, auth_level: authLevel } = body
  if ((email === undefined) === (userId === undefined)) {
    throw invalid('Send exactly one of "email" and "user_id"')
  }
  if (userId !== undefined && (typeof userId !== 'string' || !/^[\w.:|-]{1,128}$/.test(userId))) {
    throw invalid('"user_id" must be a Rownd user id (letters, digits, _ . : | -)')
  }
  if (email !== undefined && (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email))) {
    throw invalid('"email" must be an email address')
  }
  if (
    expiresIn !== undefined &&
    !(
      typeof expiresIn === 'number' &&
      Number.isInteger(expiresIn) &&
      expiresIn > 0 &&
      expiresIn <= MAX_EXPIRES_IN
    )
  ) {
    throw invalid(`"expires_in" must be a whole number of seconds between 1 and ${MAX_EXPIRES_IN}`)
  }
  if (authLevel !== undefined && !AUTH_LEVELS.includes(authLevel as RowndAuthLevel)) {
    throw invalid(`"auth_level" must be one of ${AUTH_LEVELS.join(', ')}`)
  }
  if (body.verified !== undefined && typeof body.verified !== 'boolean') {
    throw invalid('"verified" must be a boolean')
  }
  const verified = body.verified as boolean | undefined

  let user =
    typeof userId === 'string' ? ctx.users.get(userId) : ctx.users.findByEmail(email as string)
  const created = !user
  if (!user) {
    user = ctx.users.create({
      userId: userId as string | undefined,
      email: email as string | undefined,
      emailVerified: verified !== false,
      authLevel:
        (authLevel as RowndAuthLevel | undefined) ??
        (verified === false && email !== undefined ? 'unverified' : undefined),
    })
  }
  const level =
    (authLevel as RowndAuthLevel | undefined) ??
    (verified === false ? 'unverified' : user.authLevel)
  // Unless asked, the claim is what the emulator mints for that auth level
  const token = await ctx.mintToken({
    userId: user.userId,
    expiresIn: expiresIn as number | undefined,
    authLevel: level,
    isVerifiedUser: verified,
  })
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
  const isVerifiedUser = claims['https://auth.rownd.io/is_verified_user'] === true
  send(res, 200, {
    access_token: token,
    user_id: user.userId,
    email: typeof user.data.email === 'string' ? user.data.email : null,
    created,
    auth_level: level,
    is_verified_user: isVerifiedUser,
    expires_at: claims.exp,
  })
}
