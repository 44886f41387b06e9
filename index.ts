/**
 * rownd-adonis: Rownd authentication for AdonisJS 7.
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
export { RowndLucidUserProvider } from './src/user_providers/lucid.ts'
export { RowndSessionController } from './src/http/session_controller.ts'
export { registerRowndRoutes } from './src/http/routes.ts'
export { renderRowndError } from './src/http/render.ts'
export { renderHubSnippet, edgePluginRownd } from './src/edge/main.ts'
export type * from './src/types.ts'
export type * from './src/guard/types.ts'
