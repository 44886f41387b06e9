import { readFile } from 'node:fs/promises'
import router from '@adonisjs/core/services/router'
import { middleware } from './kernel.ts'

/** Public home page */
router
  .get('/', async ({ auth, view }) => {
    const signedIn = await auth.use('rownd').check()
    return view.render('pages/home', { user: signedIn ? auth.use('rownd').user : null })
  })
  .as('home')

/** Where browser navigations that need a session land (config/rownd.ts loginPath) */
router
  .get('/login', ({ request, view }) => {
    return view.render('pages/login', { returnTo: request.input('return_to') })
  })
  .as('login')

/** The session: the Hub signed this browser in through POST /rownd/session_authenticate */
router
  .get('/dashboard', async ({ auth, view }) => {
    const guard = auth.use('rownd')
    const user = guard.getUserOrFail()
    const profile = await guard.profile()
    return view.render('pages/dashboard', {
      user,
      row: user.serialize(),
      profileJson: JSON.stringify(profile, null, 2),
    })
  })
  .use(middleware.rownd())
  .as('dashboard')

/** JSON API behind the bearer flow: `Authorization: Bearer <Rownd access token>` only */
router
  .get('/api/me', ({ auth }) => {
    const guard = auth.use('api')
    const user = guard.getUserOrFail()
    return {
      via: guard.via,
      user: user.serialize(),
      rowndUserId: guard.token?.userId ?? null,
    }
  })
  .use(middleware.rownd({ guard: 'api' }))
  .as('api.me')

/**
 * The stand-in Hub the demo loads when it runs against the Rownd emulator
 * (bin/demo.ts). With real Rownd the page loads Rownd's Hub instead.
 */
const standInHub = new URL('../public/stand_in_hub.js', import.meta.url)
router.get('/stand_in_hub.js', async ({ response }) => {
  response.header('content-type', 'text/javascript; charset=utf-8')
  response.header('cache-control', 'no-cache')
  return readFile(standInHub, 'utf8')
})
