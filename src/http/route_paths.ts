/**
 * Paths of the routes `registerRowndRoutes` registers under a prefix.
 * `webhook` is the route *pattern*: name it in shield's
 * `csrf.exceptRoutes` (it is the same whether the secret travels in the
 * path or in a header).
 */
export function rowndRoutePaths(prefix = '/rownd') {
  const base = prefix.replace(/\/+$/, '')
  return {
    sessionAuthenticate: `${base}/session_authenticate`,
    sessionSignOut: `${base}/session_sign_out`,
    /** For the Hub's `setPostUserDataUpdateApi` */
    userDataUpdate: `${base}/user_data_update`,
    webhook: `${base}/webhooks/:secret?`,
  }
}
