import router from '@adonisjs/core/services/router'
import { middleware } from './kernel.ts'

/** Public home page: `auth.user` comes from the silent auth middleware */
router
  .get('/', ({ auth, view }) => view.render('pages/home', { user: auth.user ?? null }))
  .as('home')

/** Where browser navigations that need a session land (config/rownd.ts loginPath) */
router
  .get('/login', ({ request, view }) => {
    return view.render('pages/login', { returnTo: request.input('return_to') })
  })
  .as('login')

/**
 * A page behind the app's own auth middleware: the Hub's sign-in
 * (POST /rownd/session_authenticate) also logged the user into `web`
 */
router
  .get('/dashboard', async ({ auth, view }) => {
    const user = auth.getUserOrFail()
    // The Rownd side of the same session, for the user's Rownd profile
    const rownd = auth.use('rownd')
    await rownd.check()
    const profile = await rownd.profile()
    return view.render('pages/dashboard', {
      user,
      row: user.serialize(),
      profileJson: JSON.stringify(profile, null, 2),
    })
  })
  .use(middleware.auth())
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
 * The app's own logout, as in the starter kits. With `session.appGuard`, it
 * is a Rownd sign-out too, and the next page's @rowndHub() tells the Hub to
 * sign out (else it would sign the session back in with the token it holds).
 */
router
  .post('/logout', async ({ auth, response }) => {
    await auth.use('web').logout()
    return response.redirect('/')
  })
  .as('logout')
