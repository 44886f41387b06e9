/*
 * rownd-adonis
 *
 * Public testing helpers: `import { RowndEmulator } from 'rownd-adonis/testing'`
 */

export {
  RowndEmulator,
  type RowndEmulatorOptions,
  type MintTokenOptions,
} from './emulator/emulator.ts'
export {
  EMULATOR_ENDPOINTS,
  type EmulatorEndpoint,
  type EmulatorFault,
  type EmulatorFaultOptions,
} from './emulator/faults.ts'
export { type RowndEmulatorUser, type CreateUserInput } from './emulator/users.ts'
export { type RowndSignOut, type IssuedSession } from './emulator/sessions.ts'
export { type RowndMagicLink } from './emulator/magic_links.ts'
export {
  WebhookSender,
  webhookPayload,
  type RowndWebhookDelivery,
  type RowndWebhookOperation,
  type RowndWebhookTarget,
} from './emulator/webhooks.ts'
export {
  ROWND_CLAIMS,
  createKid,
  generateSigningKey,
  signCompact,
  encodeUnsigned,
  buildRowndClaims,
  type RowndAuthLevel,
  type RowndPublicJwk,
  type SigningKey,
  type RowndClaimsInput,
} from './tokens.ts'
