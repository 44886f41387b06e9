/*
 * rownd-adonis
 *
 * What route handlers see of the emulator, and the credential checks they share.
 */

import type { IncomingMessage } from 'node:http'
import type { RowndPublicJwk } from '../tokens.ts'
import type { MintTokenOptions } from './emulator.ts'
import { EmulatorHttpError, header, safeEqual } from './http.ts'
import type { RowndMagicLink } from './magic_links.ts'
import type { RowndSignOut, SessionStore } from './sessions.ts'
import type { UserStore } from './users.ts'

export interface EmulatorContext {
  readonly appId: string
  readonly appKey: string
  readonly appSecret: string
  readonly appName: string
  /** Base URL, e.g. `http://127.0.0.1:54321` */
  readonly url: string
  readonly issuer: string
  readonly jwks: { keys: RowndPublicJwk[] }
  readonly users: UserStore
  readonly magicLinks: RowndMagicLink[]
  readonly signOuts: RowndSignOut[]
  readonly sessions: SessionStore
  mintToken(options: MintTokenOptions): Promise<string>
}

/** App-scoped calls: `x-rownd-app-key` and `x-rownd-app-secret` must both match */
export function requireSecret(ctx: EmulatorContext, req: IncomingMessage) {
  if (
    !safeEqual(header(req, 'x-rownd-app-key'), ctx.appKey) ||
    !safeEqual(header(req, 'x-rownd-app-secret'), ctx.appSecret)
  ) {
    throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Missing or invalid app credentials')
  }
}

/** The `{app}` of a path must be this emulator's app id */
export function requireApp(ctx: EmulatorContext, app: string) {
  if (app !== ctx.appId) {
    throw new EmulatorHttpError(404, 'E_NOT_FOUND', `Application "${app}" not found`)
  }
}
