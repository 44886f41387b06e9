import { middleware } from '#start/kernel'
import { controllers } from '#generated/controllers'
import router from '@adonisjs/core/services/router'

router.on('/').renderInertia('home', {}).as('home')

// Signed-in users are sent home from these
router
  .group(() => {
    router.get('signup', [controllers.NewAccount, 'create'])
    router.post('signup', [controllers.NewAccount, 'store'])

    router.get('login', [controllers.Session, 'create'])
    router.post('login', [controllers.Session, 'store'])
  })
  .use(middleware.guest())

router
  .group(() => {
    router.post('logout', [controllers.Session, 'destroy'])
  })
  .use(middleware.auth())

// JSON for the home page's bearer call: a Rownd access token (or session)
router
  .get('/api/me', ({ auth }) => {
    const user = auth.use('rownd').getUserOrFail()
    return { id: user.id, email: user.email, rowndUserId: user.rowndUserId }
  })
  .use(middleware.rownd())
