import type { ResolvedRowndConfig } from '../types.ts'

/** What the `accept` config decides on: the token's `auth_level` and `is_anonymous` */
export interface AcceptSubject {
  authLevel?: string
  isAnonymous?: boolean
}

const LEVEL_NAMES: Record<string, string> = {
  guest: 'Rownd guest accounts',
  instant: 'Rownd instant accounts',
  unverified: 'unverified Rownd accounts',
}

/**
 * Why the `accept` config refuses this user, or undefined when it admits
 * them. Decided on `auth_level` and `is_anonymous` only: Rownd marks guest
 * and instant tokens `is_verified_user: true` too, so that claim says
 * nothing about how the user signed in. Unknown levels are admitted, as
 * Rownd may add levels that mean "more verified".
 */
export function refusalOf(
  accept: ResolvedRowndConfig['accept'],
  subject: AcceptSubject
): string | undefined {
  if (subject.isAnonymous === true && !accept.anonymous) {
    return 'Anonymous Rownd sign-ins cannot sign in to this app'
  }
  const level = subject.authLevel
  if (level === 'guest' || level === 'instant' || level === 'unverified') {
    if (!accept[level]) return `${LEVEL_NAMES[level]} cannot sign in to this app`
  }
  return undefined
}
