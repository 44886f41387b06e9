import env from '../start/env.ts'
import { defineConfig } from '../../../index.ts'

const rowndConfig = defineConfig({
  // Public app key from the Rownd dashboard (the Hub snippet uses it too)
  appKey: env.get('ROWND_APP_KEY'),
  // App secret: server side only, never send it to a browser
  appSecret: env.get('ROWND_APP_SECRET'),
  // Rownd API base URL (bin/demo.ts points it at the emulator when no app key is set)
  apiUrl: env.get('ROWND_API_URL', 'https://api.rownd.io'),
  // Where browser navigations that fail authentication are redirected
  loginPath: '/login',
  hub: {
    // Where @rowndHub() loads the Hub from: Rownd's (default), or the emulator's stand-in
    baseUrl: env.get('ROWND_HUB_BASE_URL'),
    // API URL the Hub talks to (default: Rownd's own)
    apiUrl: env.get('ROWND_HUB_API_URL'),
  },
  session: {
    // The app's own session guard: Rownd sign-ins log in there too, and its logout signs out of Rownd
    appGuard: 'web',
    // Where the Hub goes after a new session sign-in, and after sign-out
    returnTo: '/dashboard',
    signOutReturnTo: '/',
    // Signing out of the app also ends the user's Rownd sessions (their refresh tokens)
    signOutFromRownd: true,
  },
})

export default rowndConfig
