import router from '@adonisjs/core/services/router'
import server from '@adonisjs/core/services/server'

server.errorHandler(() => import('../app/exceptions/handler.ts'))

server.use([])

router.use([
  () => import('@adonisjs/core/bodyparser_middleware'),
  () => import('@adonisjs/session/session_middleware'),
  () => import('@adonisjs/shield/shield_middleware'),
  () => import('@adonisjs/auth/initialize_auth_middleware'),
  /** Added by `node ace configure rownd-adonis` (rownd-adonis/session_sync_middleware) */
  () => import('../../../src/http/session_sync_middleware.ts'),
  () => import('../app/middleware/silent_auth_middleware.ts'),
])

export const middleware = router.named({
  auth: () => import('../app/middleware/auth_middleware.ts'),
  /** Added by `node ace configure rownd-adonis` (rownd-adonis/rownd_middleware) */
  rownd: () => import('../../../src/http/rownd_middleware.ts'),
})
