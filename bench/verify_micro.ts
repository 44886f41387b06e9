/*
 * rownd-adonis benchmark
 *
 * The cost of one raw `jose` EdDSA verification: jwtVerify of a
 * Rownd-shaped token with an imported CryptoKey, in a tight loop. Run by
 * bench/run.ts pinned to the server's core; prints one JSON line.
 *
 *   node --import=@poppinss/ts-exec bench/verify_micro.ts <milliseconds>
 */

import { exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey } from 'jose'
import { buildRowndClaims, signCompact } from '../src/testing/tokens.ts'

const windowMs = Number(process.argv[2] ?? 1000)
const ISSUER = 'https://api.rownd.io'

const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
const jwk = await exportJWK(pair.publicKey)
const key = (await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey
const now = Math.floor(Date.now() / 1000)
const token = await signCompact(
  { alg: 'EdDSA', kid: 'sig-bench' },
  buildRowndClaims({
    appId: '123456789012345678',
    issuer: ISSUER,
    userId: 'user_bench_micro_0000000001',
    sub: 'user_bench_micro_0000000001',
    authLevel: 'verified',
    isVerifiedUser: true,
    isAnonymous: false,
    issuedAt: now,
    expiresAt: now + 3600,
  }),
  pair.privateKey
)
const options = {
  algorithms: ['EdDSA'],
  issuer: ISSUER,
  clockTolerance: 5,
  requiredClaims: ['exp'],
}

function verifyOnce() {
  return jwtVerify(token, key, options)
}

/** Runs `step` (which does `perStep` verifications) for windowMs; CPU and wall micros per verification */
async function measure(step: () => Promise<unknown>, perStep: number, ms: number) {
  const cpuStart = process.cpuUsage()
  const wallStart = process.hrtime.bigint()
  const deadline = performance.now() + ms
  let count = 0
  while (performance.now() < deadline) {
    await step()
    count += perStep
  }
  const wall = Number(process.hrtime.bigint() - wallStart) / 1000
  const cpu = process.cpuUsage(cpuStart)
  return {
    count,
    cpuMicros: (cpu.user + cpu.system) / count,
    wallMicros: wall / count,
  }
}

const batch = () => Promise.all(Array.from({ length: 20 }, verifyOnce))

// Warm the JIT and WebCrypto paths
await measure(verifyOnce, 1, Math.min(300, windowMs))
await measure(batch, 20, Math.min(200, windowMs))

const sequential = await measure(verifyOnce, 1, windowMs)
const concurrent = await measure(batch, 20, windowMs)
process.stdout.write(`${JSON.stringify({ sequential, concurrent20: concurrent })}\n`)
