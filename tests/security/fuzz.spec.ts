/*
 * Property-based fuzzing with fast-check. Two legs:
 * - in process: mutated tokens straight into `RowndClient.verifyToken`
 *   (volume: every mutation family, re-signed ones included);
 * - over HTTP against the real app process: mutated bearer headers and
 *   session-route bodies through a keep-alive agent.
 * Oracle: nothing but a 401 `E_ROWND_*` rejection (or, over HTTP, a status
 * below 500), and a token is accepted only when its claims are really valid.
 *
 * Sizing: FUZZ_RUNS in-process inputs (default 100k) and FUZZ_RUNS / 10
 * HTTP requests (default 10k); `npm run fuzz` runs 1M + 100k locally.
 * A failure prints fast-check's seed and path: keep it as a named case in
 * the regression group below.
 */

import { test } from '@japa/runner'
import { Agent } from 'node:http'
import fc from 'fast-check'
import { RowndClient } from '../../src/client/rownd_client.ts'
import { defineConfig } from '../../src/define_config.ts'
import { RowndUnauthorizedException } from '../../src/errors.ts'
import { RowndEmulator } from '../../src/testing/index.ts'
import {
  b64,
  countUsers,
  leakedIn,
  rawRequest,
  ROWND_CLAIMS,
  signRaw,
  startTarget,
  stopTarget,
} from './helpers.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000)
const HTTP_RUNS = Math.max(1000, Math.floor(RUNS / 10))
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const INTERESTING_KEYS = [
  'alg',
  'kid',
  'typ',
  'jku',
  'jwk',
  'x5u',
  'crit',
  'b64',
  'aud',
  'iss',
  'exp',
  'nbf',
  'iat',
  'sub',
  'jti',
  '__proto__',
  ROWND_CLAIMS.appUserId,
  ROWND_CLAIMS.isVerifiedUser,
  ROWND_CLAIMS.authLevel,
  ROWND_CLAIMS.isAnonymous,
]

type Mutation =
  | { kind: 'replace'; at: number; char: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'segments'; order: number[]; separator: string }
  | { kind: 'json'; part: 0 | 1; key: string; value: unknown; resign: boolean }
  | { kind: 'raw'; text: string }
  | { kind: 'lastchar'; bits: number; segment: 0 | 1 | 2 }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    char: fc.oneof(
      fc.constantFrom(...ALPHABET, '.', '=', '+', '/', ' ', '\u00e9'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })
    ),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({ unit: 'binary', maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 10 }),
  }),
  fc.record({
    kind: fc.constant('segments' as const),
    order: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 0, maxLength: 5 }),
    separator: fc.constantFrom('.', '..', '', ' ', '.\u0000'),
  }),
  fc.record({
    kind: fc.constant('json' as const),
    part: fc.constantFrom(0 as const, 1 as const),
    key: fc.oneof(fc.constantFrom(...INTERESTING_KEYS), fc.string({ maxLength: 6 })),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(
        'none',
        'HS256',
        'EdDSA',
        ['app:1'],
        'https://evil.example',
        0,
        4102444800,
        -1,
        null
      )
    ),
    resign: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('raw' as const),
    text: fc.string({ unit: 'binary', maxLength: 64 }),
  }),
  fc.record({
    kind: fc.constant('lastchar' as const),
    bits: fc.integer({ min: 1, max: 63 }),
    segment: fc.constantFrom(0 as const, 1 as const, 2 as const),
  })
)

interface Mutated {
  token: string
  /** Re-signed by the real key: may legitimately verify when its claims are valid */
  resigned: boolean
}

async function mutate(emulator: RowndEmulator, base: string, m: Mutation): Promise<Mutated> {
  const parts = base.split('.')
  switch (m.kind) {
    case 'replace': {
      const at = m.at % base.length
      return { token: base.slice(0, at) + m.char + base.slice(at + 1), resigned: false }
    }
    case 'insert': {
      const at = m.at % (base.length + 1)
      return { token: base.slice(0, at) + m.text + base.slice(at), resigned: false }
    }
    case 'delete': {
      const at = m.at % base.length
      return { token: base.slice(0, at) + base.slice(at + m.count), resigned: false }
    }
    case 'segments':
      return { token: m.order.map((i) => parts[i]).join(m.separator), resigned: false }
    case 'raw':
      return { token: m.text, resigned: false }
    case 'lastchar': {
      const segment = parts[m.segment]
      const last = ALPHABET.indexOf(segment.at(-1)!)
      parts[m.segment] = segment.slice(0, -1) + ALPHABET[(last ^ m.bits) & 63]
      return { token: parts.join('.'), resigned: false }
    }
    case 'json': {
      const decoded = JSON.parse(Buffer.from(parts[m.part], 'base64url').toString('utf8'))
      // defineProperty: a literal __proto__ key, not a prototype change
      Object.defineProperty(decoded, m.key, {
        value: m.value,
        enumerable: true,
        writable: true,
        configurable: true,
      })
      const texts = [
        Buffer.from(parts[0], 'base64url').toString('utf8'),
        Buffer.from(parts[1], 'base64url').toString('utf8'),
      ]
      texts[m.part] = JSON.stringify(decoded)
      if (m.resign) return { token: await signRaw(emulator, texts[0], texts[1]), resigned: true }
      return { token: `${b64(texts[0])}.${b64(texts[1])}.${parts[2]}`, resigned: false }
    }
  }
}

/**
 * Whether an accepted re-signed token really deserved it: the checks the
 * verifier promises, restated independently.
 */
function deservedAcceptance(emulator: RowndEmulator, token: string): string | undefined {
  const [h, p] = token.split('.')
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'))
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'))
  const now = Date.now() / 1000
  const allowedHeader = Object.keys(header).every((key) => ['alg', 'kid', 'typ'].includes(key))
  if (!allowedHeader) return 'unexpected header field'
  if (header.alg !== 'EdDSA') return 'alg'
  if (!Array.isArray(claims.aud) || !claims.aud.includes(`app:${emulator.appId}`)) return 'aud'
  if (claims.iss !== emulator.issuer) return 'iss'
  if (typeof claims.exp !== 'number' || claims.exp < now - 5) return 'exp'
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now + 5))
    return 'nbf'
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat > now + 5))
    return 'iat'
  const user = claims[ROWND_CLAIMS.appUserId] ?? claims.sub
  if (typeof user !== 'string' || user.length === 0) return 'subject'
  return undefined
}

test.group('Security | fuzz', (group) => {
  let emulator: RowndEmulator
  let client: RowndClient
  let bases: string[]

  group.setup(async () => {
    emulator = await RowndEmulator.start()
    client = new RowndClient(
      defineConfig({
        appKey: emulator.appKey,
        appSecret: emulator.appSecret,
        apiUrl: emulator.url,
        issuer: emulator.issuer,
      })
    )
    await client.warmUp()
    bases = [
      await emulator.mintToken(),
      await emulator.mintToken({ header: { typ: 'JWT' } }),
      await emulator.mintToken({ sub: 'google-oauth2|1148', authLevel: 'guest' }),
    ]
    return async () => {
      await client.close()
      await emulator.close()
    }
  })

  /*
   * Regression cases kept from failing fuzz runs
   */
  test('fuzz regression (seed 1079376636, path "19"): signature re-spelled through unused base64url bits', async ({
    assert,
  }) => {
    // Found before the verifier required canonical base64url: the re-spelled
    // token verified and dodged single-token revocation (hash of its text)
    const counterexample: Mutation = { kind: 'lastchar', bits: 6, segment: 2 }
    const { token } = await mutate(emulator, bases[0], counterexample)
    assert.notEqual(token, bases[0])
    const error = await client.verifyToken(token).catch((caught) => caught)
    assert.equal(error.code, 'E_ROWND_TOKEN_MALFORMED')
  })

  test(`fuzz: ${RUNS} mutated tokens through RowndClient.verifyToken in process`, async ({
    assert,
  }) => {
    let accepted = 0
    let rejected = 0
    const started = performance.now()
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 2 }), mutationArb, async (which, mutation) => {
        const base = bases[which]
        const { token, resigned } = await mutate(emulator, base, mutation)
        try {
          await client.verifyToken(token)
          accepted++
          if (token === base) return true
          if (!resigned) throw new Error(`accepted an altered token: ${JSON.stringify(token)}`)
          const reason = deservedAcceptance(emulator, token)
          if (reason) throw new Error(`accepted a re-signed token with a bad ${reason}`)
          return true
        } catch (error) {
          if (!(error instanceof RowndUnauthorizedException)) throw error
          rejected++
          return true
        }
      }),
      { numRuns: RUNS, endOnFailure: true }
    )
    assert.equal(accepted + rejected, RUNS)
    assert.isAbove(rejected, RUNS * 0.5)
    // The verified-token cache is bounded whatever the input
    assert.isAtMost(client.stats().verifiedTokens, client.config.cache.verifiedTokenMaxEntries)
    console.log(
      `  in-process fuzz: ${RUNS} inputs in ${Math.round(performance.now() - started)}ms (${accepted} accepted)`
    )
  }).timeout(600_000)

  test(`fuzz: ${HTTP_RUNS} hostile requests over HTTP to the app process`, async ({
    assert,
    cleanup,
  }) => {
    // Cookie sessions: the memory session store would keep one session per
    // cookie-less request, growing with the run whatever the guard does
    const target = await startTarget({
      LOG_LEVEL: 'info',
      NODE_DEBUG: undefined,
      SESSION_DRIVER: 'cookie',
    })
    cleanup(() => stopTarget(target))
    const agent = new Agent({ keepAlive: true, maxSockets: 8 })
    cleanup(() => agent.destroy())
    const valid = [await target.emulator.mintToken(), await target.emulator.mintToken()]
    for (const token of valid) {
      const warm = await rawRequest(target.app.url, '/api/me', {
        headers: { authorization: `Bearer ${token}` },
        agent,
      })
      assert.equal(warm.status, 200)
    }
    const usersBefore = await countUsers(target.app)
    const statsBefore = (await rawRequest(target.app.url, '/_test/stats?gc=1', { agent })).json()

    const latin1 = (text: string) => text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')
    const requestArb = fc.record({
      which: fc.nat({ max: 1 }),
      mutation: mutationArb,
      route: fc.constantFrom(
        '/api/me',
        '/api/check',
        '/api/controller',
        '/api/auth_mw',
        '/rownd/session_authenticate',
        '/csrf/rownd/session_authenticate'
      ),
      scheme: fc.constantFrom('Bearer ', 'bearer ', 'BEARER\t', 'Bearer  ', 'Basic ', '', 'Bearer'),
      contentType: fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        undefined
      ),
      body: fc.oneof(
        fc.constant('token' as const),
        fc.json({ maxDepth: 3 }),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.constant(undefined)
      ),
      useHeader: fc.boolean(),
    })

    const statuses = new Map<number, number>()
    const bad: string[] = []
    let sent = 0
    let upstream404 = 0
    const started = performance.now()
    const samples = fc.sample(requestArb, {
      numRuns: HTTP_RUNS,
      seed: Number(process.env.FUZZ_SEED ?? 4242),
    })
    let next = 0
    const worker = async () => {
      while (next < samples.length) {
        const input = samples[next++]
        const { token, resigned } = await mutate(
          target.emulator,
          valid[input.which],
          input.mutation
        )
        const post = input.route.includes('session')
        const headers: Record<string, string> = { accept: 'application/json' }
        if (input.useHeader || !post) headers.authorization = latin1(`${input.scheme}${token}`)
        let body: string | undefined
        if (post) {
          if (input.contentType) headers['content-type'] = input.contentType
          body = input.body === 'token' ? JSON.stringify({ access_token: token }) : input.body
        }
        const response = await rawRequest(target.app.url, input.route, {
          method: post ? 'POST' : 'GET',
          headers,
          body,
          agent,
        })
        sent++
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        // Only Rownd's key can sign a token naming a user Rownd does not
        // know (e.g. deleted since): its profile fetch 404s → 502, tolerated
        // here and counted; not reachable by an attacker
        if (response.status === 502 && resigned) {
          upstream404++
          continue
        }
        if (response.status >= 500)
          bad.push(`${response.status} ${input.route} ${JSON.stringify(input).slice(0, 300)}`)
        // What the server could legitimately accept: the header token as
        // Node (trims) and the guard (scheme, one token) read it, or the body's
        const fromHeader = /^bearer[ \t]+([^ \t]+)$/i.exec(
          (headers.authorization ?? '').replace(/^[ \t]+|[ \t]+$/g, '')
        )?.[1]
        const candidates = [fromHeader, post && input.body === 'token' ? token : undefined]
        const legit = candidates.some(
          (candidate) =>
            candidate !== undefined &&
            (valid.includes(candidate) ||
              (resigned &&
                candidate === token &&
                deservedAcceptance(target.emulator, token) === undefined))
        )
        if (response.status === 200 && input.route !== '/api/check' && !legit) {
          bad.push(
            `200 for an altered token on ${input.route}: ${JSON.stringify(input.mutation).slice(0, 300)}`
          )
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))

    const statsAfter = (await rawRequest(target.app.url, '/_test/stats?gc=1', { agent })).json()
    console.log(
      `  HTTP fuzz: ${sent} requests in ${Math.round(performance.now() - started)}ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}, rss ${Math.round(statsBefore.rss / 1e6)}→${Math.round(statsAfter.rss / 1e6)} MB, heap in use ${Math.round(statsBefore.heapUsed / 1e6)}→${Math.round(statsAfter.heapUsed / 1e6)} MB, ${upstream404} re-signed tokens of users unknown to Rownd`
    )
    assert.equal(sent, HTTP_RUNS)
    assert.deepEqual(bad.slice(0, 10), [])
    assert.equal(target.app.process.exitCode, null, 'the app died')
    assert.equal(await countUsers(target.app), usersBefore, 'hostile requests created users')
    // Retained memory is what must stay bounded: the JS heap in use after a
    // forced GC (measured: 33 -> 37 MB over 30k requests, flat). RSS also
    // counts heap V8 has not returned and allocator slack from the native
    // paths (SQLite, cookie crypto): it grows sublinearly (+138 MB at 30k,
    // +210 MB at 100k requests), so it only gets a ceiling.
    assert.isBelow(statsAfter.heapUsed - statsBefore.heapUsed, 64 * 1024 * 1024, 'heap grew')
    assert.isBelow(statsAfter.rss - statsBefore.rss, 384 * 1024 * 1024, 'rss grew')
    assert.isAtMost(statsAfter.verifiedTokens, 10_000)
    assert.isUndefined(leakedIn(target.app.output, [target.emulator.appSecret, ...valid]))
  }).timeout(600_000)
})
