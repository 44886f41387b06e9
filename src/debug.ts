import { debuglog } from 'node:util'

/**
 * Debug logger. Enable with `NODE_DEBUG=rownd-adonis`. Never pass raw tokens
 * or secrets to it: log token hashes and key ids only.
 */
export default debuglog('rownd-adonis')
