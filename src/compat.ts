/**
 * What differs between the two stacks rownd-adonis runs on, kept here so
 * the rest of the code is written once:
 *
 * - AdonisJS 7 on Node 24+;
 * - AdonisJS 6 on Node 20.6+ (`@adonisjs/core` 6, auth 9, session 7,
 *   lucid 21, shield 8, cache 1, assembler 7).
 *
 * The AdonisJS APIs this package uses (the guard contract, sessions, Lucid
 * models and query builder, shield's CSRF token, the configure codemods)
 * are the same in both majors, so nothing about AdonisJS is switched here.
 * What differs is Node:
 *
 * - `crypto.hash()`, the one-shot digest, exists from Node 20.12 / 21.7.
 *   On an older Node 20 the same digest goes through `createHash()`.
 *   `crypto` is imported as a namespace: a named import of a missing
 *   export would fail to link on those versions.
 *
 * The one documented difference for users (Lucid 21 does not generate
 * `database/schema.ts`, so the model needs the column by hand) is read off
 * the app's own model file by `node ace configure`, not from a version.
 */
import * as crypto from 'node:crypto'

type OneShotHash = (
  algorithm: string,
  data: string,
  outputEncoding: 'base64url' | 'hex' | 'base64'
) => string

/** `crypto.hash` of this Node, when it has one */
const nativeHash = (crypto as { hash?: OneShotHash }).hash

/** The digest through a Hash object: what `crypto.hash` does, on any Node */
export const hashWithCreateHash: OneShotHash = (algorithm, data, outputEncoding) =>
  crypto.createHash(algorithm).update(data).digest(outputEncoding)

/**
 * One-shot digest of a string: `crypto.hash` where Node has it (no Hash
 * object per call), else the same digest through `createHash`
 */
export const digest: OneShotHash = nativeHash ?? hashWithCreateHash
