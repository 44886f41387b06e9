import router from '@adonisjs/core/services/router'
import { middleware } from './kernel.ts'

/** Public home page */
router
  .get('/', async ({ auth, session, view }) => {
    // Shared (not passed) so the layout's @rowndHub() sees it
    if (session.flashMessages.get('rowndHubSignOut') === true) view.share({ rowndHubSignOut: true })
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
 * The app's own logout: ends the session on the server, then tells the Hub
 * on the next page to sign out too (`rowndHubSignOut`, read by @rowndHub()).
 * Without that, the Hub would sign the session back in on the next page load
 * with the token it still holds.
 */
router
  .post('/logout', async ({ auth, session, response }) => {
    await auth.use('rownd').logout()
    session.flash('rowndHubSignOut', true)
    return response.redirect('/')
  })
  .as('logout')
