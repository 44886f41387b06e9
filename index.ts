/**
 * rownd-adonis: Rownd authentication for AdonisJS 6 and 7. Every export is
 * documented in docs/guard_and_provider.md (the docs suite checks it).
 */
export { configure } from './configure.ts'
export { stubsRoot } from './stubs/main.ts'
export { defineConfig } from './src/define_config.ts'
export { errors } from './src/errors.ts'
export * from './src/errors.ts'
export { RowndClient } from './src/client/rownd_client.ts'
export { hashToken } from './src/client/verifier.ts'
export { RowndGuard } from './src/guard/guard.ts'
export { rowndGuard, rowndUserProvider } from './src/guard/define_config.ts'
export {
  RowndLucidUserProvider,
  type RowndLucidUserProviderOptions,
  type RowndProfilePlan,
} from './src/user_providers/lucid.ts'
export { RowndSessionController } from './src/http/session_controller.ts'
export { registerRowndRoutes, rowndRoutePaths, type RowndRoutesOptions } from './src/http/routes.ts'
export { RowndWebhookController } from './src/http/webhook_controller.ts'
export { RowndUserDataController } from './src/http/user_data_controller.ts'
export { reconcileUser, type ReconcileOptions, type ReconcileResult } from './src/sync/reconcile.ts'
export { renderRowndError } from './src/http/render.ts'
export { hubSignOutPending } from './src/http/app_session.ts'
export {
  LucidRevocationStore,
  type LucidRevocationStoreOptions,
} from './src/database/lucid_revocation_store.ts'
export type { RevocationStore } from './src/client/persisted_revocations.ts'
export type { RevocationEntry } from './src/client/revocations.ts'
export {
  renderHubSnippet,
  edgePluginRownd,
  type HubSnippetConfig,
  type HubSnippetOptions,
} from './src/edge/main.ts'
export type { ListUsersOptions, MagicLinkOptions } from './src/client/users.ts'
export type * from './src/types.ts'
export type * from './src/guard/types.ts'
