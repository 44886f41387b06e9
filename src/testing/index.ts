/*
 * rownd-adonis
 *
 * Public testing helpers: `import { RowndEmulator } from 'rownd-adonis/testing'`
 */

export {
  RowndEmulator,
  EMULATOR_ENDPOINTS,
  type RowndEmulatorOptions,
  type RowndEmulatorUser,
  type CreateUserInput,
  type MintTokenOptions,
  type EmulatorEndpoint,
  type EmulatorFault,
  type EmulatorFaultOptions,
  type RowndSignOut,
  type RowndMagicLink,
} from './emulator.ts'
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
