/*
 * rownd-adonis
 *
 * Edge integration: the `@rowndHub()` tag and the snippet renderer it uses.
 */

export { edgePluginRownd } from './plugin.ts'
export {
  renderHubSnippet,
  scriptJson,
  escapeAttribute,
  type HubSnippetConfig,
  type HubSnippetOptions,
} from './hub_snippet.ts'
