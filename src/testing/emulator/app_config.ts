/*
 * rownd-adonis
 *
 * `GET /hub/app-config` and the OAuth discovery document.
 */

import type { EmulatorContext } from './context.ts'
import { EmulatorHttpError, header, safeEqual, send, type RouteCall } from './http.ts'

/**
 * App config for `x-rownd-app-key` (what SDKs send), `x-rownd-hub-key` or
 * `?app_id=` (what the OpenAPI spec names)
 */
export function appConfigRoute(ctx: EmulatorContext, { req, res, query }: RouteCall) {
  const key = header(req, 'x-rownd-app-key') ?? header(req, 'x-rownd-hub-key')
  const appId = query.get('app_id')
  if (key !== undefined) {
    if (!safeEqual(key, ctx.appKey)) {
      throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Invalid app key')
    }
  } else if (appId !== null) {
    if (appId !== ctx.appId) {
      throw new EmulatorHttpError(404, 'E_NOT_FOUND', `Application "${appId}" not found`)
    }
  } else {
    throw new EmulatorHttpError(401, 'E_UNAUTHORIZED', 'Missing app key')
  }

  const field = (displayName: string, type = 'string') => ({
    display_name: displayName,
    type,
    data_category: 'pii_basic',
    required: false,
    owned_by: 'user',
    user_visible: true,
    encryption: { state: 'disabled' },
  })
  send(res, 200, {
    app: {
      id: ctx.appId,
      name: ctx.appName,
      schema: {
        email: field('Email'),
        first_name: field('First name'),
        last_name: field('Last name'),
        phone_number: field('Phone number'),
      },
      user_verification_fields: ['email'],
      config: {
        hub: {
          auth: {
            sign_in_methods: {
              email: { enabled: true },
              phone: { enabled: false },
              anonymous: { enabled: false },
            },
            allow_unverified_users: true,
          },
        },
        default_redirect_url: '/',
      },
    },
  })
}

export function discoveryRoute(ctx: EmulatorContext, { res }: RouteCall) {
  send(res, 200, {
    issuer: ctx.issuer,
    jwks_uri: `${ctx.url}/hub/auth/keys`,
    token_endpoint: `${ctx.url}/hub/auth/token`,
    response_types_supported: ['token'],
    grant_types_supported: ['refresh_token'],
    token_endpoint_auth_methods_supported: ['none'],
    id_token_signing_alg_values_supported: ['EdDSA'],
  })
}

export function jwksRoute(ctx: EmulatorContext, { res }: RouteCall) {
  send(res, 200, ctx.jwks)
}
