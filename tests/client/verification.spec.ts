import { test } from '@japa/runner'
import { errors as authErrors } from '@adonisjs/auth'
import { generateKeyPair } from 'jose'
import { hashToken } from '../../src/client/verifier.ts'
import {
  E_ROWND_BAD_SIGNATURE,
  E_ROWND_TOKEN_AUDIENCE,
  E_ROWND_TOKEN_EXPIRED,
  E_ROWND_TOKEN_ISSUER,
  E_ROWND_TOKEN_MALFORMED,
  E_ROWND_TOKEN_MISSING,
  E_ROWND_TOKEN_NOT_YET_VALID,
  E_ROWND_TOKEN_REVOKED,
  E_ROWND_UNKNOWN_KEY,
} from '../../src/errors.ts'
import { ROWND_CLAIMS, encodeUnsigned, signCompact } from '../../src/testing/index.ts'
import { createClient, rejects, setup, zeroCounts } from './helpers.ts'

const now = () => Math.floor(Date.now() / 1000)

test.group('RowndClient | verification success', () => {
  test('a valid token resolves to a typed Rownd token', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser({ email: 'ada@example.com' })
    const token = await emulator.mintToken({ userId: user.userId, expiresIn: 600 })

    const verified = await client.verifyToken(token)
    assert.equal(verified.userId, user.userId)
    assert.equal(verified.subject, user.userId)
    assert.isTrue(verified.isVerifiedUser)
    assert.equal(verified.authLevel, 'verified')
    assert.isFalse(verified.isAnonymous)
    assert.deepEqual(verified.audience, [`app:${emulator.appId}`])
    assert.closeTo(verified.expiresAt, now() + 600, 2)
    assert.closeTo(verified.issuedAt!, now(), 2)
    assert.isString(verified.id)
    assert.equal(verified.hash, hashToken(token))
    assert.notEqual(verified.hash, token)
    assert.equal(verified.claims[ROWND_CLAIMS.appUserId], user.userId)
    assert.equal(verified.claims.iss, emulator.issuer)
    assert.isTrue(Object.isFrozen(verified.claims))
    assert.deepEqual(emulator.counts(), { ...zeroCounts(), app_config: 1, jwks: 1 })
  })

  test('legacy token: userId comes from app_user_id, subject from sub', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser({ sub: 'google-oauth2|1148' })
    const verified = await client.verifyToken(await emulator.mintToken({ userId: user.userId }))
    assert.equal(verified.userId, user.userId)
    assert.equal(verified.subject, 'google-oauth2|1148')
    assert.equal(verified.claims.sub, 'google-oauth2|1148')
  })

  test('without app_user_id the userId falls back to sub', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const token = await emulator.mintToken({
      sub: 'user_from_sub',
      claims: { [ROWND_CLAIMS.appUserId]: undefined },
    })
    const verified = await client.verifyToken(token)
    assert.equal(verified.userId, 'user_from_sub')
    assert.equal(verified.subject, 'user_from_sub')
  })

  test('guest and unverified tokens map their flags', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const guest = await client.verifyToken(await emulator.mintToken({ authLevel: 'guest' }))
    assert.equal(guest.authLevel, 'guest')
    assert.isTrue(guest.isAnonymous)
    // Rownd marks guest tokens verified too (its SDKs' fixtures): the flag says nothing here
    assert.isTrue(guest.isVerifiedUser)

    const unverified = await client.verifyToken(
      await emulator.mintToken({ authLevel: 'unverified' })
    )
    assert.equal(unverified.authLevel, 'unverified')
    assert.isFalse(unverified.isAnonymous)
    assert.isFalse(unverified.isVerifiedUser)
  })

  test('an audience list holding our app among others is accepted', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const token = await emulator.mintToken({
      audience: ['app:someone-else', `app:${emulator.appId}`],
    })
    const verified = await client.verifyToken(token)
    assert.lengthOf(verified.audience, 2)
  })

  test('a repeated token is served from the verified-token cache', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const token = await emulator.mintToken()
    assert.equal(client.stats().verifiedTokens, 0)
    const first = await client.verifyToken(token)
    assert.equal(client.stats().verifiedTokens, 1)
    const counts = emulator.counts()

    const again = await Promise.all([1, 2, 3].map(() => client.verifyToken(token)))
    // The very same object: no second signature check happened
    for (const verified of again) assert.strictEqual(verified, first)
    assert.equal(client.stats().verifiedTokens, 1)
    assert.deepEqual(emulator.counts(), counts)

    await client.verifyToken(await emulator.mintToken())
    assert.equal(client.stats().verifiedTokens, 2)
  })

  test('clock tolerance accepts a token expired by a second or two', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const token = await emulator.mintToken({ issuedAt: now() - 60, expiresIn: 58 })
    const verified = await client.verifyToken(token)
    assert.isBelow(verified.expiresAt, now())

    const strict = createClient(cleanup, emulator, { clockTolerance: 0 })
    await rejects(assert, strict.verifyToken(token), E_ROWND_TOKEN_EXPIRED)
  })
})

test.group('RowndClient | rejected tokens', () => {
  test('missing token', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    for (const value of [undefined, null, '', 42, {}]) {
      const error = await rejects(assert, client.verifyToken(value), E_ROWND_TOKEN_MISSING)
      assert.instanceOf(error, authErrors.E_UNAUTHORIZED_ACCESS)
      assert.equal(error.status, 401)
    }
    assert.equal(emulator.requestCount('jwks'), 0)
  })

  test('malformed compact serializations are refused before any fetch', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const good = await emulator.mintToken()
    const [h, p, s] = good.split('.')
    const b64 = (text: string) => Buffer.from(text).toString('base64url')
    const cases = [
      `${h}.${p}`,
      `${h}.${p}.${s}.${s}`,
      `${h}..${s}`,
      `${h}.${p}.`,
      `${h}.${p}.${s}=`,
      `${h}+.${p}.${s}`,
      `${h}.${p}/.${s}`,
      'not a token',
      `${b64('{"alg":"EdDSA"')}.${p}.${s}`,
      `${b64('[]')}.${p}.${s}`,
      `${b64('"EdDSA"')}.${p}.${s}`,
      `${b64('null')}.${p}.${s}`,
      `${b64('42')}.${p}.${s}`,
      good.replace(/\./g, '..'),
      `${b64('{"alg":"EdDSA"}')}.${p}.${s}`.replace('.', ' .'),
    ]
    for (const token of cases) {
      await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_MALFORMED, [token])
    }
    assert.equal(emulator.requestCount('jwks'), 0)
    assert.equal(emulator.requestCount('app_config'), 0)
  })

  test('a signed payload that is not a JSON object is malformed', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const header = { kid: emulator.currentKid }
    for (const payload of ['[1,2]', '"hello"', 'null', 'not json', '']) {
      const token = await signCompact(header, payload, emulator.signingKey)
      await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_MALFORMED, [token])
    }
  })

  test('claims of the wrong type are malformed', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const cases: Record<string, unknown>[] = [
      { [ROWND_CLAIMS.appUserId]: 42 },
      { [ROWND_CLAIMS.appUserId]: '' },
      { [ROWND_CLAIMS.isVerifiedUser]: 'true' },
      { [ROWND_CLAIMS.isAnonymous]: 1 },
      { [ROWND_CLAIMS.authLevel]: ['verified'] },
      { jti: 7 },
      { exp: undefined },
      { sub: undefined, [ROWND_CLAIMS.appUserId]: undefined },
    ]
    for (const claims of cases) {
      const token = await emulator.mintToken({ claims })
      await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_MALFORMED, [token])
    }
  })

  test('tokens over 8 KiB are refused before parsing', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const huge = 'a'.repeat(8193)
    const error = await rejects(assert, client.verifyToken(huge), E_ROWND_TOKEN_MALFORMED)
    assert.include(error.message, 'too long')

    // A properly signed token padded just past the cap is refused too
    const padded = await emulator.mintToken({ claims: { pad: 'x'.repeat(6200) } })
    assert.isAbove(padded.length, 8192)
    const signed = await rejects(assert, client.verifyToken(padded), E_ROWND_TOKEN_MALFORMED, [
      padded,
    ])
    assert.include(signed.message, 'too long')
    assert.equal(emulator.requestCount('app_config'), 0)
    assert.equal(emulator.requestCount('jwks'), 0)

    // ...while one just under the cap verifies
    const fits = await emulator.mintToken({ claims: { pad: 'x'.repeat(5600) } })
    assert.isBelow(fits.length, 8192)
    await client.verifyToken(fits)
  })

  test('headers with jku, jwk, x5u or crit are refused', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const headers: Record<string, unknown>[] = [
      { jku: `${emulator.url}/hub/auth/keys` },
      { jwk: emulator.jwks.keys[0] },
      { x5u: 'https://attacker.example/cert' },
      { crit: ['exp'], exp: 1 },
      { b64: false, crit: ['b64'] },
    ]
    for (const header of headers) {
      const token = encodeUnsigned(
        { alg: 'EdDSA', kid: emulator.currentKid, ...header },
        { sub: 'x' },
        'c2ln'
      )
      const error = await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_MALFORMED, [
        token,
      ])
      assert.include(error.message, 'header')
    }
    assert.equal(emulator.requestCount('jwks'), 0)
  })

  test('only EdDSA is accepted: none, HS256 and ES256 are refused', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const payload = {
      iss: emulator.issuer,
      aud: [`app:${emulator.appId}`],
      sub: 'user_x',
      iat: now(),
      exp: now() + 600,
    }
    const kid = emulator.currentKid
    const es = await generateKeyPair('ES256')
    const tokens = [
      encodeUnsigned({ alg: 'none', kid }, payload, 'c2ln'),
      encodeUnsigned({ kid }, payload, 'c2ln'),
      encodeUnsigned({ alg: 'EdDSA ', kid }, payload, 'c2ln'),
      await signCompact({ kid }, payload, new Uint8Array(32).fill(7), 'HS256'),
      // HMAC keyed with the public key bytes: the classic confusion attack
      await signCompact(
        { kid },
        payload,
        Buffer.from(emulator.jwks.keys[0].x, 'base64url'),
        'HS256'
      ),
      await signCompact({ kid }, payload, es.privateKey, 'ES256'),
    ]
    for (const token of tokens) {
      const error = await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_MALFORMED, [
        token,
      ])
      assert.include(error.message, 'EdDSA')
    }
    const unsigned = encodeUnsigned({ alg: 'none', kid }, payload)
    await rejects(assert, client.verifyToken(unsigned), E_ROWND_TOKEN_MALFORMED, [unsigned])
    assert.equal(emulator.requestCount('jwks'), 0)
  })

  test('duplicate JSON keys in header or payload are refused', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const kid = JSON.stringify(emulator.currentKid)
    const payload = `{"sub":"a","sub":"b","exp":${now() + 600}}`
    const tokens = [
      encodeUnsigned(`{"alg":"EdDSA","kid":${kid},"alg":"none"}`, { sub: 'x' }, 'c2ln'),
      encodeUnsigned(`{"alg":"EdDSA","kid":${kid},"k\\u0069d":"other"}`, { sub: 'x' }, 'c2ln'),
      // Properly signed: the duplicate check, not the signature, refuses it
      await signCompact({ kid: emulator.currentKid }, payload, emulator.signingKey),
      await signCompact(
        { kid: emulator.currentKid },
        `{"iss":${JSON.stringify(emulator.issuer)},"aud":["app:${emulator.appId}"],"exp":${now() + 600},"https://auth.rownd.io/app_user_id":"alice","https://auth.rownd.io/app_user_id":"bob"}`,
        emulator.signingKey
      ),
    ]
    for (const token of tokens) {
      const error = await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_MALFORMED, [
        token,
      ])
      assert.include(error.message, 'duplicate')
    }
    assert.equal(emulator.requestCount('jwks'), 0)
  })

  test('expired token', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const token = await emulator.mintToken({ expired: true })
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_EXPIRED, [token])
    assert.equal(client.stats().verifiedTokens, 0)
  })

  test('nbf in the future', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const token = await emulator.mintToken({ notBefore: now() + 120 })
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_NOT_YET_VALID, [token])
    // Within the clock tolerance it passes
    await client.verifyToken(await emulator.mintToken({ notBefore: now() + 2 }))
  })

  test('iat far in the future', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    const token = await emulator.mintToken({ issuedAt: now() + 3600 })
    const error = await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_NOT_YET_VALID, [
      token,
    ])
    assert.include(error.message, 'future')
    await client.verifyToken(await emulator.mintToken({ issuedAt: now() + 2 }))
  })

  test('wrong audience, audience as a string, audience with non-strings', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const audiences: unknown[] = [
      ['app:123456789'],
      `app:${emulator.appId}`,
      [],
      [`app:${emulator.appId}`, 7],
      [`APP:${emulator.appId}`],
      [emulator.appId],
    ]
    for (const audience of audiences) {
      const token = await emulator.mintToken({ claims: { aud: audience } })
      await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_AUDIENCE, [token])
    }
    const token = await emulator.mintToken({ appId: 'another-app' })
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_AUDIENCE, [token])
    const missing = await emulator.mintToken({ claims: { aud: undefined } })
    await rejects(assert, client.verifyToken(missing), E_ROWND_TOKEN_AUDIENCE, [missing])
  })

  test('wrong issuer', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    for (const issuer of ['https://evil.example', `${emulator.issuer}/`]) {
      const token = await emulator.mintToken({ issuer })
      await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_ISSUER, [token])
    }
    const token = await emulator.mintToken({ claims: { iss: undefined } })
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_MALFORMED, [token])
  })

  test('a foreign key under a known kid, or a tampered payload, is a bad signature', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const forged = await emulator.mintToken({ foreignKey: true })
    await rejects(assert, client.verifyToken(forged), E_ROWND_BAD_SIGNATURE, [forged])

    const tokenA = await emulator.mintToken({ userId: 'user_a' })
    const tokenB = await emulator.mintToken({ userId: 'user_b' })
    const [h, , s] = tokenA.split('.')
    const other = tokenB.split('.')[1]
    const spliced = `${h}.${other}.${s}`
    await rejects(assert, client.verifyToken(spliced), E_ROWND_BAD_SIGNATURE, [spliced])
    assert.equal(emulator.requestCount('jwks'), 1)
    assert.equal(client.stats().verifiedTokens, 0)
  })

  test('an unknown kid is a 401 after one refetch', async ({ assert, cleanup }) => {
    const { emulator, client } = await setup(cleanup)
    await client.warmUp()
    assert.equal(emulator.requestCount('jwks'), 1)
    const token = await emulator.mintToken({ kid: 'sig-0000000001' })
    await rejects(assert, client.verifyToken(token), E_ROWND_UNKNOWN_KEY, [token])
    assert.equal(emulator.requestCount('jwks'), 2)
  })

  test('every rejection is an E_UNAUTHORIZED_ACCESS with status 401', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const tokens = [
      '',
      'x.y',
      await emulator.mintToken({ expired: true }),
      await emulator.mintToken({ appId: 'nope' }),
      await emulator.mintToken({ foreignKey: true }),
      await emulator.mintToken({ issuer: 'https://evil.example' }),
    ]
    const codes = new Set<string>()
    for (const token of tokens) {
      const error: any = await client.verifyToken(token).catch((caught) => caught)
      assert.instanceOf(error, authErrors.E_UNAUTHORIZED_ACCESS)
      assert.equal(error.status, 401)
      assert.match(error.code, /^E_ROWND_[A-Z_]+$/)
      if (token) assert.notInclude(String(error), token)
      codes.add(error.code)
    }
    assert.equal(codes.size, tokens.length)
  })
})

test.group('RowndClient | revocation', () => {
  test('revoke(token) rejects that token only, even from the cache', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser()
    const token = await emulator.mintToken({ userId: user.userId })
    const sibling = await emulator.mintToken({ userId: user.userId })
    await client.verifyToken(token)
    await client.verifyToken(sibling)

    await client.revoke(token)
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_REVOKED, [token])
    await rejects(assert, client.verifyToken(token), E_ROWND_TOKEN_REVOKED, [token])
    const verified = await client.verifyToken(sibling)
    assert.equal(verified.userId, user.userId)
    assert.equal(client.stats().revocations, 1)
  })

  test('the sign-out cut-off honours clockTolerance on both sides', async ({ assert, cleanup }) => {
    // Rownd's clock 3 s behind ours: a token minted right after the sign-out
    // carries an iat 3 s before it, within the 5 s tolerance: it stays valid
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser()
    await client.revokeUser(user.userId)
    const signedOutAt = Math.floor(Date.now() / 1000)
    const skewed = await emulator.mintToken({ userId: user.userId, issuedAt: signedOutAt - 3 })
    assert.equal((await client.verifyToken(skewed)).userId, user.userId)
    // Issued 7 s before the sign-out: past the tolerance, refused
    const beyond = await emulator.mintToken({ userId: user.userId, issuedAt: signedOutAt - 7 })
    await rejects(assert, client.verifyToken(beyond), E_ROWND_TOKEN_REVOKED, [beyond])

    // A tighter tolerance moves the cut-off: 3 s of skew is then refused
    const strict = await setup(cleanup, { clockTolerance: '1s' })
    const other = strict.emulator.createUser()
    await strict.client.revokeUser(other.userId)
    const late = await strict.emulator.mintToken({
      userId: other.userId,
      issuedAt: Math.floor(Date.now() / 1000) - 3,
    })
    await rejects(assert, strict.client.verifyToken(late), E_ROWND_TOKEN_REVOKED, [late])
  })

  test('revokeUser rejects older tokens; a token issued later passes', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser()
    const other = emulator.createUser()
    // Well before the sign-out, beyond the 5 s clock tolerance
    const past = Math.floor(Date.now() / 1000) - 30
    const older = await emulator.mintToken({ userId: user.userId, issuedAt: past })
    const otherToken = await emulator.mintToken({ userId: other.userId, issuedAt: past })
    await client.verifyToken(older)
    const unseen = await emulator.mintToken({ userId: user.userId, issuedAt: past + 1 })

    await client.revokeUser(user.userId)
    // Issued in the very second of the sign-out: let through, so signing back in works
    const sameSecond = await emulator.mintToken({ userId: user.userId })
    assert.equal((await client.verifyToken(sameSecond)).userId, user.userId)
    await rejects(assert, client.verifyToken(older), E_ROWND_TOKEN_REVOKED, [older])
    await rejects(assert, client.verifyToken(unseen), E_ROWND_TOKEN_REVOKED, [unseen])
    await client.verifyToken(otherToken)

    const newer = await emulator.mintToken({ userId: user.userId })
    const verified = await client.verifyToken(newer)
    assert.equal(verified.userId, user.userId)
    await rejects(assert, client.verifyToken(older), E_ROWND_TOKEN_REVOKED)
  })

  test('revokeUser with { rownd: true } also signs the user out of Rownd', async ({
    assert,
    cleanup,
  }) => {
    const { emulator, client } = await setup(cleanup)
    const user = emulator.createUser()
    await client.revokeUser(user.userId, { rownd: true })
    assert.deepEqual(emulator.signOuts, [{ userId: user.userId, all: true }])
  })
})
