import { createHash } from 'node:crypto'
import { test } from '@japa/runner'
import { digest, hashWithCreateHash } from '../../src/compat.ts'

test.group('compat | one-shot digest', () => {
  test('crypto.hash and its createHash fallback give the same digests', ({ assert }) => {
    for (const input of ['', 'a.b.c', 'ü€😀', 'x'.repeat(10_000)]) {
      for (const encoding of ['base64url', 'hex', 'base64'] as const) {
        const expected = createHash('sha256').update(input).digest(encoding)
        assert.equal(digest('sha256', input, encoding), expected)
        assert.equal(hashWithCreateHash('sha256', input, encoding), expected)
      }
    }
  })
})
