import { defineConfig } from '@adonisjs/auth'
import { sessionGuard, sessionUserProvider } from '@adonisjs/auth/session'
import type { InferAuthenticators, InferAuthEvents, Authenticators } from '@adonisjs/auth/types'
import { rowndGuard, rowndUserProvider } from '../../../index.ts'

const authConfig = defineConfig({
  /** The app's own session guard, as in the starter kits: Rownd sign-ins log in here too */
  default: 'web',
  guards: {
    web: sessionGuard({
      useRememberMeTokens: false,
      provider: sessionUserProvider({ model: () => import('../app/models/user.ts') }),
    }),
    /** Added by `node ace configure rownd-adonis`: the session, or a bearer token */
    rownd: rowndGuard({
      provider: rowndUserProvider({ model: () => import('../app/models/user.ts') }),
    }),
    /** JSON API: bearer tokens only, the session cookie is never read */
    api: rowndGuard({
      provider: rowndUserProvider({ model: () => import('../app/models/user.ts') }),
      useSession: false,
    }),
  },
})

export default authConfig

declare module '@adonisjs/auth/types' {
  export interface Authenticators extends InferAuthenticators<typeof authConfig> {}
}
declare module '@adonisjs/core/types' {
  interface EventsList extends InferAuthEvents<Authenticators> {}
}
