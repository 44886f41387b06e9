/*
 * Error classes carry their stable code as their name (E_ROWND_*), like the
 * error constants of the official AdonisJS packages, but as named classes:
 * readable declarations and stack traces.
 */
/* eslint-disable @typescript-eslint/naming-convention */
import { Exception } from '@adonisjs/core/exceptions'
import { errors as authErrors } from '@adonisjs/auth'
import type { HttpContext } from '@adonisjs/core/http'
import { renderRowndError } from './http/render.ts'

/**
 * Every failure to authenticate a request with Rownd. It extends
 * `E_UNAUTHORIZED_ACCESS`, so `check()`, `authenticateUsing()` and the
 * auth middleware treat it as "not signed in". The stable `code` tells
 * clients and logs which check failed.
 */
export class RowndUnauthorizedException extends authErrors.E_UNAUTHORIZED_ACCESS {
  static status = 401
  static code = 'E_ROWND_UNAUTHORIZED'
  /** Value of the RFC 6750 `error` attribute sent in `WWW-Authenticate` */
  bearerError: 'invalid_token' | 'invalid_request' | undefined = 'invalid_token'

  constructor(message?: string, options?: { redirectTo?: string; cause?: unknown }) {
    super(message ?? 'Unauthorized access', {
      guardDriverName: 'rownd',
      redirectTo: options?.redirectTo,
    })
    const ctor = this.constructor as typeof RowndUnauthorizedException
    this.code = ctor.code
    this.status = ctor.status
    this.identifier = `errors.${ctor.code}`
    if (options?.cause !== undefined) {
      Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false })
    }
  }

  async handle(error: this, ctx: HttpContext) {
    return renderRowndError(error, ctx)
  }
}

/**
 * Base of the errors that are not authentication failures (outage, API
 * error, conflict, refused requests): one renderer gives every client
 * `{ errors: [{ message, code }] }` with the right status.
 */
export class RowndException extends Exception {
  async handle(error: this, ctx: HttpContext) {
    return renderRowndError(error, ctx)
  }
}

/** No token in the request, and no Rownd session either */
export class E_ROWND_TOKEN_MISSING extends RowndUnauthorizedException {
  static code = 'E_ROWND_TOKEN_MISSING'
  bearerError = undefined
  constructor(message = 'Missing Rownd access token', options?: { redirectTo?: string }) {
    super(message, options)
  }
}

/** Not a compact JWS we accept: size, encoding, JSON, header fields or claims */
export class E_ROWND_TOKEN_MALFORMED extends RowndUnauthorizedException {
  static code = 'E_ROWND_TOKEN_MALFORMED'
  constructor(
    message = 'Malformed Rownd access token',
    options?: { cause?: unknown; invalidRequest?: boolean }
  ) {
    super(message, options)
    // RFC 6750: a request we cannot read at all, rather than a bad token
    if (options?.invalidRequest) this.bearerError = 'invalid_request'
  }
}

export class E_ROWND_TOKEN_EXPIRED extends RowndUnauthorizedException {
  static code = 'E_ROWND_TOKEN_EXPIRED'
  constructor(message = 'Rownd access token has expired') {
    super(message)
  }
}

export class E_ROWND_TOKEN_NOT_YET_VALID extends RowndUnauthorizedException {
  static code = 'E_ROWND_TOKEN_NOT_YET_VALID'
  constructor(message = 'Rownd access token is not valid yet') {
    super(message)
  }
}

export class E_ROWND_TOKEN_AUDIENCE extends RowndUnauthorizedException {
  static code = 'E_ROWND_TOKEN_AUDIENCE'
  constructor(message = 'Rownd access token was issued for another app') {
    super(message)
  }
}

export class E_ROWND_TOKEN_ISSUER extends RowndUnauthorizedException {
  static code = 'E_ROWND_TOKEN_ISSUER'
  constructor(message = 'Rownd access token has an unexpected issuer') {
    super(message)
  }
}

/** The `kid` is not among Rownd's published keys, even after a refetch */
export class E_ROWND_UNKNOWN_KEY extends RowndUnauthorizedException {
  static code = 'E_ROWND_UNKNOWN_KEY'
  constructor(message = 'Rownd access token is signed with an unknown key') {
    super(message)
  }
}

export class E_ROWND_BAD_SIGNATURE extends RowndUnauthorizedException {
  static code = 'E_ROWND_BAD_SIGNATURE'
  constructor(message = 'Rownd access token signature is invalid') {
    super(message)
  }
}

/** The token (or every token of its user issued before a sign-out) was revoked */
export class E_ROWND_TOKEN_REVOKED extends RowndUnauthorizedException {
  static code = 'E_ROWND_TOKEN_REVOKED'
  constructor(message = 'Rownd access token has been revoked') {
    super(message)
  }
}

/** The token is valid but no local user exists and creating one is disabled */
export class E_ROWND_USER_NOT_FOUND extends RowndUnauthorizedException {
  static code = 'E_ROWND_USER_NOT_FOUND'
  constructor(message = 'No account matches this Rownd user') {
    super(message)
  }
}

/** The session's user no longer exists or the session was signed out elsewhere */
export class E_ROWND_SESSION_INVALID extends RowndUnauthorizedException {
  static code = 'E_ROWND_SESSION_INVALID'
  bearerError = undefined
  constructor(message = 'Rownd session is no longer valid') {
    super(message)
  }
}

/**
 * The app's own logout signed this browser out moments ago: the Hub's
 * automatic sign-in with a token of that same user is refused until the
 * Hub has signed out too (or a short window has passed).
 */
export class E_ROWND_SIGNED_OUT extends RowndUnauthorizedException {
  static code = 'E_ROWND_SIGNED_OUT'
  bearerError = undefined
  constructor(message = 'This browser signed out; sign in again with Rownd') {
    super(message)
  }
}

/**
 * Rownd could not be reached (network error, timeout, 5xx, unusable
 * answer) and nothing cached can stand in. This is an outage, not a
 * failed sign-in: 503 with `Retry-After`.
 */
export class E_ROWND_UNAVAILABLE extends RowndException {
  static status = 503
  static code = 'E_ROWND_UNAVAILABLE'
  /** Seconds a client should wait before retrying */
  retryAfter: number

  constructor(
    message = 'Rownd is temporarily unavailable',
    options?: { retryAfter?: number; cause?: unknown }
  ) {
    super(message)
    this.retryAfter = Math.max(1, Math.ceil(options?.retryAfter ?? 5))
    if (options?.cause !== undefined) {
      Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false })
    }
  }
}

/** Rownd's API answered with an error envelope (4xx) */
export class E_ROWND_API_ERROR extends RowndException {
  static status = 502
  static code = 'E_ROWND_API_ERROR'
  /** HTTP status Rownd answered with */
  rowndStatus: number
  /** Rownd's own error code, when it sent one */
  rowndCode?: string

  constructor(message: string, options: { rowndStatus: number; rowndCode?: string }) {
    super(message)
    this.rowndStatus = options.rowndStatus
    this.rowndCode = options.rowndCode
  }
}

/**
 * A sign-in whose email matches an existing account that cannot be linked:
 * Rownd has not verified the email (linking would hand the account to
 * whoever typed it), linking is off, or the row belongs to another Rownd user.
 */
export class E_ROWND_ACCOUNT_CONFLICT extends RowndException {
  static status = 409
  static code = 'E_ROWND_ACCOUNT_CONFLICT'
  constructor(
    message = 'An account with this email already exists and cannot be linked to this Rownd user'
  ) {
    super(message)
  }
}

/**
 * A valid token of a kind of Rownd user this app does not admit (see the
 * `accept` config: anonymous, guest, instant or unverified users)
 */
export class E_ROWND_USER_REFUSED extends RowndException {
  static status = 403
  static code = 'E_ROWND_USER_REFUSED'
  constructor(message = 'This kind of Rownd account cannot sign in to this app') {
    super(message)
  }
}

/**
 * The users table requires a value the Rownd user does not have (e.g. an
 * `email NOT NULL` column and a phone-only or unverified account). Nothing
 * is written.
 */
export class E_ROWND_PROFILE_INCOMPLETE extends RowndException {
  static status = 422
  static code = 'E_ROWND_PROFILE_INCOMPLETE'
  /** The column the database refused to leave empty, when it said which */
  column?: string
  constructor(
    message = 'This Rownd account lacks a value the users table requires',
    options?: { column?: string }
  ) {
    super(message)
    this.column = options?.column
  }
}

/** The session routes accept JSON or a bearer header only */
export class E_ROWND_UNSUPPORTED_MEDIA_TYPE extends RowndException {
  static status = 415
  static code = 'E_ROWND_UNSUPPORTED_MEDIA_TYPE'
  constructor(
    message = 'Send the Rownd access token as JSON { "access_token": ... } or an Authorization header'
  ) {
    super(message)
  }
}

/**
 * A browser request to the session routes from another site (by
 * `Sec-Fetch-Site` or `Origin`): only the app's own pages may sign users
 * in or out.
 */
export class E_ROWND_CROSS_SITE_REQUEST extends RowndException {
  static status = 403
  static code = 'E_ROWND_CROSS_SITE_REQUEST'
  constructor(message = 'The Rownd session routes accept requests from this site only') {
    super(message)
  }
}

/** Invalid or missing configuration, raised when the client is first used */
export class E_ROWND_CONFIG extends Exception {
  static status = 500
  static code = 'E_ROWND_CONFIG'
}

/** Every error type, for `instanceof` checks in apps */
export const errors = {
  RowndUnauthorizedException,
  RowndException,
  E_ROWND_TOKEN_MISSING,
  E_ROWND_TOKEN_MALFORMED,
  E_ROWND_TOKEN_EXPIRED,
  E_ROWND_TOKEN_NOT_YET_VALID,
  E_ROWND_TOKEN_AUDIENCE,
  E_ROWND_TOKEN_ISSUER,
  E_ROWND_UNKNOWN_KEY,
  E_ROWND_BAD_SIGNATURE,
  E_ROWND_TOKEN_REVOKED,
  E_ROWND_USER_NOT_FOUND,
  E_ROWND_SESSION_INVALID,
  E_ROWND_SIGNED_OUT,
  E_ROWND_UNAVAILABLE,
  E_ROWND_API_ERROR,
  E_ROWND_ACCOUNT_CONFLICT,
  E_ROWND_USER_REFUSED,
  E_ROWND_PROFILE_INCOMPLETE,
  E_ROWND_UNSUPPORTED_MEDIA_TYPE,
  E_ROWND_CROSS_SITE_REQUEST,
  E_ROWND_CONFIG,
}
