/*
 * Hostile tokens, each sent over real HTTP twice: as a bearer token to a
 * route guarded by `middleware.rownd()` and as the JSON body of
 * `POST /rownd/session_authenticate`. Every case must end in the named 401
 * code, create no user row and leave no authenticated session behind.
 */

import { test } from '@japa/runner'
import { RowndClient } from '../../src/client/rownd_client.ts'
import { defineConfig } from '../../src/define_config.ts'
import { RowndEmulator, encodeUnsigned, signCompact } from '../../src/testing/index.ts'
import {
  b64,
  cookiesOf,
  countUsers,
  foreignKeys,
  leakedIn,
  ROWND_CLAIMS,
  secretsOf,
  signRaw,
  signWithEmulatorKey,
  startTarget,
  stopTarget,
  validClaims,
  type Target,
} from './helpers.ts'

type Keys = Awaited<ReturnType<typeof foreignKeys>>
interface Ctx extends Target {
  keys: Keys
  now: number
}

interface TokenCase {
  name: string
  /** Accepted codes (one, except where the outcome depends on timing) */
  code: string | string[]
  make: (ctx: Ctx) => Promise<string> | string
  /** Skip the session-route leg (e.g. token too big for a JSON body leg to mean anything else) */
  bearerOnly?: boolean
}

const MALFORMED = 'E_ROWND_TOKEN_MALFORMED'
const claims = (ctx: Ctx, overrides: Record<string, unknown> = {}) =>
  validClaims(ctx.emulator, overrides)
const signed = (ctx: Ctx, payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  signWithEmulatorKey(ctx.emulator, header, payload)
const headerText = (ctx: Ctx, extra = '') =>
  `{"alg":"EdDSA","kid":${JSON.stringify(ctx.emulator.currentKid)}${extra}}`
const flipChar = (text: string, index: number) =>
  text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1)

const CASES: TokenCase[] = [
  // Algorithm confusion
  {
    name: 'alg none, no signature',
    code: MALFORMED,
    make: (ctx) => encodeUnsigned({ alg: 'none', kid: ctx.emulator.currentKid }, claims(ctx)),
  },
  {
    name: 'alg none with a junk signature',
    code: MALFORMED,
    make: (ctx) =>
      encodeUnsigned({ alg: 'none', kid: ctx.emulator.currentKid }, claims(ctx), 'AAAA'),
  },
  {
    name: 'alg NoNe (casing)',
    code: MALFORMED,
    make: (ctx) => encodeUnsigned({ alg: 'NoNe', kid: ctx.emulator.currentKid }, claims(ctx), 'AA'),
  },
  {
    name: 'HS256 signed with the raw public key bytes',
    code: MALFORMED,
    make: (ctx) =>
      signCompact(
        { kid: ctx.emulator.currentKid },
        claims(ctx),
        Buffer.from(ctx.emulator.jwks.keys[0].x, 'base64url'),
        'HS256'
      ),
  },
  {
    name: 'HS256 signed with the public JWK text',
    code: MALFORMED,
    make: (ctx) =>
      signCompact(
        { kid: ctx.emulator.currentKid },
        claims(ctx),
        new TextEncoder().encode(JSON.stringify(ctx.emulator.jwks.keys[0])),
        'HS256'
      ),
  },
  {
    name: 'RS256 with an attacker key and the current kid',
    code: MALFORMED,
    make: (ctx) =>
      signCompact({ kid: ctx.emulator.currentKid }, claims(ctx), ctx.keys.rs.privateKey, 'RS256'),
  },
  {
    name: 'ES256 with an attacker key and the current kid',
    code: MALFORMED,
    make: (ctx) =>
      signCompact({ kid: ctx.emulator.currentKid }, claims(ctx), ctx.keys.es.privateKey, 'ES256'),
  },
  {
    name: 'alg Ed25519 (fully-specified name Rownd does not use)',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx), { alg: 'Ed25519' }),
  },
  {
    name: 'EdDSA signed by a foreign key under a known kid',
    code: 'E_ROWND_BAD_SIGNATURE',
    make: (ctx) => ctx.emulator.mintToken({ foreignKey: true }),
  },
  {
    name: 'valid token of another Rownd app (other keys)',
    // Same-second emulators share the kid name: then it is a bad signature
    code: ['E_ROWND_UNKNOWN_KEY', 'E_ROWND_BAD_SIGNATURE'],
    make: async () => {
      const other = await RowndEmulator.start()
      try {
        return await other.mintToken()
      } finally {
        await other.close()
      }
    },
  },
  // Key ids
  {
    name: 'unknown kid',
    code: 'E_ROWND_UNKNOWN_KEY',
    make: (ctx) => ctx.emulator.mintToken({ kid: 'sig-1' }),
  },
  {
    name: 'missing kid',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ header: { kid: undefined } }),
  },
  {
    name: 'kid with path traversal',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ kid: '../../../../etc/passwd' }),
  },
  {
    name: 'kid with SQL',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ kid: "x' OR '1'='1'; DROP TABLE users; --" }),
  },
  {
    name: 'kid of 200 characters',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ kid: 'k'.repeat(200) }),
  },
  {
    name: 'kid as a number',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ header: { kid: 42 } }),
  },
  {
    name: 'kid as an array',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ header: { kid: [ctx.emulator.currentKid] } }),
  },
  {
    name: 'kid __proto__',
    code: 'E_ROWND_UNKNOWN_KEY',
    make: (ctx) => ctx.emulator.mintToken({ kid: '__proto__' }),
  },
  {
    name: 'kid constructor',
    code: 'E_ROWND_UNKNOWN_KEY',
    make: (ctx) => ctx.emulator.mintToken({ kid: 'constructor' }),
  },
  // Header injection
  {
    name: 'jku header pointing at an attacker JWKS',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ header: { jku: 'http://127.0.0.1:1/jwks.json' } }),
  },
  {
    name: 'x5u header',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ header: { x5u: 'http://127.0.0.1:1/cert.pem' } }),
  },
  {
    name: 'embedded jwk header with the attacker key that signed it',
    code: MALFORMED,
    make: async (ctx) => {
      const { exportJWK } = await import('jose')
      const jwk = await exportJWK(ctx.keys.ed.publicKey)
      return signCompact({ kid: ctx.emulator.currentKid, jwk }, claims(ctx), ctx.keys.ed.privateKey)
    },
  },
  {
    name: 'x5c header',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ header: { x5c: ['MIIB'] } }),
  },
  {
    name: 'crit header',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx), { crit: ['exp'], exp: 1 }),
  },
  {
    name: 'b64 false (unencoded payload) with crit',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx), { b64: false, crit: ['b64'] }),
  },
  // Time
  {
    name: 'expired',
    code: 'E_ROWND_TOKEN_EXPIRED',
    make: (ctx) => ctx.emulator.mintToken({ expired: true }),
  },
  {
    name: 'expired just past the clock tolerance',
    code: 'E_ROWND_TOKEN_EXPIRED',
    make: (ctx) => ctx.emulator.mintToken({ issuedAt: ctx.now - 600, expiresIn: 590 }),
  },
  {
    name: 'iat far in the future',
    code: 'E_ROWND_TOKEN_NOT_YET_VALID',
    make: (ctx) => ctx.emulator.mintToken({ issuedAt: ctx.now + 365 * 86400 }),
  },
  {
    name: 'nbf in the future',
    code: 'E_ROWND_TOKEN_NOT_YET_VALID',
    make: (ctx) => ctx.emulator.mintToken({ notBefore: ctx.now + 3600 }),
  },
  {
    name: 'missing exp',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ claims: { exp: undefined } }),
  },
  {
    name: 'exp as a string',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ claims: { exp: String(ctx.now + 3600) } }),
  },
  {
    name: 'iat as a string',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ claims: { iat: 'now' } }),
  },
  // Audience and issuer
  {
    name: 'wrong aud',
    code: 'E_ROWND_TOKEN_AUDIENCE',
    make: (ctx) => ctx.emulator.mintToken({ audience: ['app:1'] }),
  },
  {
    name: 'missing aud',
    code: 'E_ROWND_TOKEN_AUDIENCE',
    make: (ctx) => ctx.emulator.mintToken({ claims: { aud: undefined } }),
  },
  {
    name: 'aud as a string naming this app',
    code: 'E_ROWND_TOKEN_AUDIENCE',
    make: (ctx) => ctx.emulator.mintToken({ audience: `app:${ctx.emulator.appId}` }),
  },
  {
    name: 'aud empty list',
    code: 'E_ROWND_TOKEN_AUDIENCE',
    make: (ctx) => ctx.emulator.mintToken({ audience: [] }),
  },
  {
    name: 'aud list with non-string entries',
    code: 'E_ROWND_TOKEN_AUDIENCE',
    make: (ctx) => ctx.emulator.mintToken({ claims: { aud: [7, `app:${ctx.emulator.appId}`] } }),
  },
  {
    name: "another app's audience",
    code: 'E_ROWND_TOKEN_AUDIENCE',
    make: (ctx) => ctx.emulator.mintToken({ appId: '999999999' }),
  },
  {
    name: 'aud holding the app id without the app: prefix',
    code: 'E_ROWND_TOKEN_AUDIENCE',
    make: (ctx) => ctx.emulator.mintToken({ audience: [ctx.emulator.appId] }),
  },
  {
    name: 'wrong iss',
    code: 'E_ROWND_TOKEN_ISSUER',
    make: (ctx) => ctx.emulator.mintToken({ issuer: 'https://evil.example' }),
  },
  {
    name: 'missing iss',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ claims: { iss: undefined } }),
  },
  {
    name: 'iss as a list holding the right issuer',
    code: 'E_ROWND_TOKEN_ISSUER',
    make: (ctx) => ctx.emulator.mintToken({ claims: { iss: [ctx.emulator.issuer] } }),
  },
  // Subject and claim types
  {
    name: 'missing app_user_id and sub',
    code: MALFORMED,
    make: (ctx) =>
      signed(ctx, claims(ctx, { sub: undefined, [ROWND_CLAIMS.appUserId]: undefined })),
  },
  {
    name: 'app_user_id as a number',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx, { [ROWND_CLAIMS.appUserId]: 12345 })),
  },
  {
    name: 'app_user_id empty',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx, { [ROWND_CLAIMS.appUserId]: '' })),
  },
  {
    name: 'app_user_id of 300 characters',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx, { [ROWND_CLAIMS.appUserId]: 'u'.repeat(300) })),
  },
  {
    name: 'sub as an object, no app_user_id',
    code: MALFORMED,
    make: (ctx) =>
      signed(ctx, claims(ctx, { sub: { id: 'x' }, [ROWND_CLAIMS.appUserId]: undefined })),
  },
  {
    name: 'is_verified_user as a string',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx, { [ROWND_CLAIMS.isVerifiedUser]: 'true' })),
  },
  {
    name: 'auth_level as a number',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx, { [ROWND_CLAIMS.authLevel]: 3 })),
  },
  {
    name: 'jti as an object',
    code: MALFORMED,
    make: (ctx) => signed(ctx, claims(ctx, { jti: { $ne: null } })),
  },
  {
    name: '__proto__ claim does not lend a subject',
    code: MALFORMED,
    make: (ctx) => {
      const body = claims(ctx, { sub: undefined, [ROWND_CLAIMS.appUserId]: undefined })
      const text = JSON.stringify(body).replace(/^\{/, '{"__proto__":{"sub":"victim"},')
      return signRaw(ctx.emulator, headerText(ctx), text)
    },
  },
  {
    name: 'payload is a JSON array',
    code: MALFORMED,
    make: (ctx) => signRaw(ctx.emulator, headerText(ctx), '[1,2,3]'),
  },
  {
    name: 'payload is not JSON',
    code: MALFORMED,
    make: (ctx) => signRaw(ctx.emulator, headerText(ctx), 'hello'),
  },
  {
    name: 'header is a JSON array',
    code: MALFORMED,
    make: (ctx) => signRaw(ctx.emulator, '["EdDSA"]', JSON.stringify(claims(ctx))),
  },
  {
    name: 'header is not JSON',
    code: MALFORMED,
    make: (ctx) => signRaw(ctx.emulator, 'alg=EdDSA', JSON.stringify(claims(ctx))),
  },
  // Duplicate JSON keys, validly signed by the real key
  {
    name: 'duplicate alg in the header (none then EdDSA)',
    code: MALFORMED,
    make: (ctx) =>
      signRaw(
        ctx.emulator,
        `{"alg":"none",${headerText(ctx).slice(1)}`,
        JSON.stringify(claims(ctx))
      ),
  },
  {
    name: 'duplicate kid in the header',
    code: MALFORMED,
    make: (ctx) =>
      signRaw(ctx.emulator, headerText(ctx, ',"kid":"sig-0"'), JSON.stringify(claims(ctx))),
  },
  {
    name: 'duplicate app_user_id in the payload (victim, attacker)',
    code: MALFORMED,
    make: (ctx) => {
      const text = JSON.stringify(claims(ctx)).replace(
        /\}$/,
        `,${JSON.stringify(ROWND_CLAIMS.appUserId)}:"user_victim"}`
      )
      return signRaw(ctx.emulator, headerText(ctx), text)
    },
  },
  {
    name: 'duplicate sub spelled with a unicode escape',
    code: MALFORMED,
    make: (ctx) => {
      const text = JSON.stringify(claims(ctx)).replace(/\}$/, ',"\\u0073ub":"user_victim"}')
      return signRaw(ctx.emulator, headerText(ctx), text)
    },
  },
  {
    name: 'duplicate key in a nested claim object',
    code: MALFORMED,
    make: (ctx) => {
      const text = JSON.stringify(claims(ctx)).replace(/\}$/, ',"x":{"a":1,"a":2}}')
      return signRaw(ctx.emulator, headerText(ctx), text)
    },
  },
  // Encoding and framing
  {
    name: 'standard base64 alphabet (+ and /)',
    code: MALFORMED,
    make: async (ctx) =>
      (await ctx.emulator.mintToken()).replace(/-/g, '+').replace(/_/g, '/') + '.+/',
  },
  {
    name: 'base64 padding',
    code: MALFORMED,
    make: async (ctx) => `${await ctx.emulator.mintToken()}==`,
  },
  {
    name: 'invalid base64url characters',
    code: MALFORMED,
    make: async (ctx) => (await ctx.emulator.mintToken()).replace('.', '.*'),
  },
  {
    name: 'non-canonical base64url signature (unused bits set)',
    code: MALFORMED,
    make: async (ctx) => {
      const token = await ctx.emulator.mintToken()
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const last = alphabet.indexOf(token.at(-1)!)
      return token.slice(0, -1) + alphabet[last ^ 1]
    },
  },
  {
    name: 'four segments',
    code: MALFORMED,
    make: async (ctx) => `${await ctx.emulator.mintToken()}.e30`,
  },
  {
    name: 'five segments (JWE shaped)',
    code: MALFORMED,
    make: () => `${b64('{"alg":"dir","enc":"A128GCM"}')}..${b64('iv')}.${b64('ct')}.${b64('tag')}`,
  },
  {
    name: 'two segments',
    code: MALFORMED,
    make: async (ctx) => (await ctx.emulator.mintToken()).split('.').slice(0, 2).join('.'),
  },
  {
    name: 'signature stripped',
    code: MALFORMED,
    make: async (ctx) => (await ctx.emulator.mintToken()).replace(/[^.]+$/, ''),
  },
  { name: 'only dots', code: MALFORMED, make: () => '..' },
  { name: 'the string undefined', code: MALFORMED, make: () => 'undefined' },
  {
    name: 'signature with one character changed',
    code: 'E_ROWND_BAD_SIGNATURE',
    make: async (ctx) => {
      const token = await ctx.emulator.mintToken()
      return flipChar(token, token.length - 20)
    },
  },
  {
    name: 'payload swapped for another user, signature kept',
    code: 'E_ROWND_BAD_SIGNATURE',
    make: async (ctx) => {
      const [header, , signature] = (await ctx.emulator.mintToken()).split('.')
      return `${header}.${b64(JSON.stringify(claims(ctx)))}.${signature}`
    },
  },
  {
    name: 'signature truncated to 63 bytes',
    code: 'E_ROWND_BAD_SIGNATURE',
    make: async (ctx) => (await ctx.emulator.mintToken()).slice(0, -2),
  },
  {
    name: 'token of 8 KiB + 1',
    code: MALFORMED,
    make: async (ctx) => {
      const token = await ctx.emulator.mintToken({ claims: { pad: 'p'.repeat(6200) } })
      return token.length > 8192 ? token : token + 'x'.repeat(8193 - token.length)
    },
  },
  {
    name: 'validly signed token over the length limit',
    code: MALFORMED,
    make: (ctx) => ctx.emulator.mintToken({ claims: { pad: 'p'.repeat(7000) } }),
  },
  {
    name: 'non-ASCII characters in a segment',
    code: MALFORMED,
    make: async (ctx) => (await ctx.emulator.mintToken()).replace('.', '.é'),
  },
]

test.group('Security | hostile tokens (bearer and session routes)', (group) => {
  let target: Target
  let ctx: Ctx
  const seen: string[] = []

  group.setup(async () => {
    target = await startTarget()
    ctx = { ...target, keys: await foreignKeys(), now: Math.floor(Date.now() / 1000) }
    return () => stopTarget(target)
  })
  group.each.setup(() => {
    ctx.now = Math.floor(Date.now() / 1000)
  })

  test('control: a valid token signs in over both routes', async ({ assert }) => {
    const token = await ctx.emulator.mintToken()
    seen.push(token)
    const bearer = await fetch(`${ctx.app.url}/api/me`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    })
    assert.equal(bearer.status, 200)
    const session = await fetch(`${ctx.app.url}/rownd/session_authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept': 'application/json' },
      body: JSON.stringify({ access_token: token }),
    })
    assert.equal(session.status, 200)
    const me = await fetch(`${ctx.app.url}/api/me`, {
      headers: { cookie: cookiesOf(session), accept: 'application/json' },
    })
    assert.equal(me.status, 200)
    assert.equal((await me.json()).via, 'session')
  })

  for (const entry of CASES) {
    test(`token: ${entry.name}`, async ({ assert }) => {
      const codes = ([] as string[]).concat(entry.code)
      const token = await entry.make(ctx)
      seen.push(token)
      const usersBefore = await countUsers(ctx.app)

      const bearer = await fetch(`${ctx.app.url}/api/me`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      })
      const bearerBody = await bearer.text()
      assert.equal(bearer.status, 401, bearerBody)
      assert.oneOf(JSON.parse(bearerBody).errors[0].code, codes)
      assert.match(bearer.headers.get('www-authenticate') ?? '', /^Bearer realm="rownd"/)
      for (const secret of secretsOf(token)) assert.notInclude(bearerBody, secret)

      if (!entry.bearerOnly) {
        const session = await fetch(`${ctx.app.url}/rownd/session_authenticate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'accept': 'application/json' },
          body: JSON.stringify({ access_token: token }),
        })
        const sessionBody = await session.text()
        assert.equal(session.status, 401, sessionBody)
        assert.oneOf(JSON.parse(sessionBody).errors[0].code, codes)
        for (const secret of secretsOf(token)) assert.notInclude(sessionBody, secret)
        // Whatever cookie came back does not authenticate anyone
        const after = await fetch(`${ctx.app.url}/api/me`, {
          headers: { cookie: cookiesOf(session), accept: 'application/json' },
        })
        assert.equal(after.status, 401)
        assert.equal((await after.json()).errors[0].code, 'E_ROWND_TOKEN_MISSING')
      }

      assert.equal(await countUsers(ctx.app), usersBefore, 'a hostile token created a user')
      assert.equal(ctx.app.process.exitCode, null)
    })
  }

  test('no token of the corpus nor the app secret reaches a log line', ({ assert }) => {
    assert.isAbove(ctx.app.output.length, 10)
    const secrets = [ctx.emulator.appSecret, ...seen.flatMap(secretsOf)]
    assert.isUndefined(leakedIn(ctx.app.output, secrets))
  })
})

test.group('Security | token spelling regressions (in process)', () => {
  test('a revoked token re-spelled with a non-canonical signature stays refused', async ({
    assert,
    cleanup,
  }) => {
    const emulator = await RowndEmulator.start()
    cleanup(() => emulator.close())
    const client = new RowndClient(
      defineConfig({ appKey: emulator.appKey, appSecret: emulator.appSecret, apiUrl: emulator.url })
    )
    cleanup(() => client.close())
    const token = await emulator.mintToken()
    await client.verifyToken(token)
    await client.revoke(token)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    for (let bits = 1; bits < 16; bits++) {
      const last = alphabet.indexOf(token.at(-1)!)
      const respelled = token.slice(0, -1) + alphabet[last ^ bits]
      if (respelled === token) continue
      await assert.rejects(() => client.verifyToken(respelled))
      const error = await client.verifyToken(respelled).catch((caught) => caught)
      assert.oneOf(error.code, [MALFORMED, 'E_ROWND_BAD_SIGNATURE'])
    }
    const original = await client.verifyToken(token).catch((caught) => caught)
    assert.equal(original.code, 'E_ROWND_TOKEN_REVOKED')
  })
})
