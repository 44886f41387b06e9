/*
|--------------------------------------------------------------------------
| Rownd session routes
|--------------------------------------------------------------------------
|
| POST /rownd/session_authenticate and POST /rownd/session_sign_out: the
| Rownd Hub calls them to sign the browser's user in and out of the
| session. Protect your own routes with middleware.rownd().
|
*/
import router from '@adonisjs/core/services/router'
import { registerRowndRoutes } from '../../../index.ts'

registerRowndRoutes(router)
