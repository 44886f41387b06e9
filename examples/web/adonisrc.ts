import { defineConfig } from '@adonisjs/core/app'

/**
 * The demo app: a plain AdonisJS 7 web app (Edge, session, shield, Lucid on
 * SQLite, auth) after `node ace configure rownd-adonis`. The package is
 * imported from the repository sources instead of `rownd-adonis`.
 */
export default defineConfig({
  commands: [() => import('@adonisjs/core/commands'), () => import('@adonisjs/lucid/commands')],
  providers: [
    () => import('@adonisjs/core/providers/app_provider'),
    () => import('@adonisjs/core/providers/hash_provider'),
    () => import('@adonisjs/core/providers/edge_provider'),
    () => import('@adonisjs/session/session_provider'),
    () => import('@adonisjs/shield/shield_provider'),
    () => import('@adonisjs/lucid/database_provider'),
    () => import('@adonisjs/auth/auth_provider'),
    () => import('../../providers/rownd_provider.ts'),
  ],
  preloads: [
    () => import('./start/routes.ts'),
    () => import('./start/kernel.ts'),
    () => import('./start/rownd.ts'),
  ],
})
