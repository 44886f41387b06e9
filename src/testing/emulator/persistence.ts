/*
 * rownd-adonis
 *
 * The emulator's state on disk (`RowndEmulatorOptions.stateFile`): app
 * credentials, signing keys (private keys included), users and browser
 * sessions, so a restarted emulator signs the same email in as the same
 * Rownd user, tokens it minted still verify and the stand-in Hub's refresh
 * tokens still work.
 *
 * For development only: the file holds the app secret and the private
 * signing keys in clear (JWK). It is written with mode 0600.
 */

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { JWK } from 'jose'
import type { Session } from './sessions.ts'
import type { RowndEmulatorUser } from './users.ts'

/** A signing key as persisted: its private JWK (with `d`) and whether it is published */
export interface PersistedKey {
  kid: string
  jwk: JWK
  published: boolean
}

/** Version 1 of the state file */
export interface EmulatorState {
  version: 1
  /** Why this file exists: printed at the top for whoever opens it */
  warning: string
  app: { id: string; key: string; secret: string; name: string }
  /** `iss` of minted tokens, when the emulator was given one */
  issuer?: string
  keys: { current: string; keys: PersistedKey[] }
  users: RowndEmulatorUser[]
  sessions: { sessions: Session[]; accessTokens: Array<[jti: string, sessionId: string]> }
}

export const STATE_WARNING =
  'Rownd emulator state for development: app secret and private signing keys in clear. Never use them in production, never commit this file.'

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Reads a state file. Undefined when it does not exist; an error naming
 * the file when it cannot be used (delete it to start afresh).
 */
export async function readEmulatorState(file: string): Promise<EmulatorState | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let state: unknown
  try {
    state = JSON.parse(text)
  } catch {
    throw new Error(
      `Rownd emulator state file ${file} is not valid JSON: delete it to start afresh`
    )
  }
  if (
    !isObject(state) ||
    state.version !== 1 ||
    !isObject(state.app) ||
    typeof state.app.id !== 'string' ||
    typeof state.app.key !== 'string' ||
    typeof state.app.secret !== 'string' ||
    !isObject(state.keys) ||
    !Array.isArray(state.keys.keys) ||
    !Array.isArray(state.users) ||
    !isObject(state.sessions) ||
    !Array.isArray(state.sessions.sessions)
  ) {
    throw new Error(
      `Rownd emulator state file ${file} has an unknown shape: delete it to start afresh`
    )
  }
  return state as unknown as EmulatorState
}

/**
 * Writes the state, debounced: many changes in a burst make one write.
 * Writes go to a temporary file renamed over the target, so a crash never
 * leaves half a file.
 */
export class EmulatorStateWriter {
  #file: string
  #snapshot: () => Promise<EmulatorState>
  #timer?: NodeJS.Timeout
  #writing: Promise<void> = Promise.resolve()
  #dirty = false
  #closed = false

  constructor(file: string, snapshot: () => Promise<EmulatorState>) {
    this.#file = file
    this.#snapshot = snapshot
  }

  /** Something changed: write within a few milliseconds */
  schedule() {
    if (this.#closed) return
    this.#dirty = true
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.flush().catch(() => {})
    }, 20)
    this.#timer.unref()
  }

  /** Writes now (after any write in progress) */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    this.#writing = this.#writing.then(async () => {
      this.#dirty = false
      const state = await this.#snapshot()
      await mkdir(dirname(this.#file), { recursive: true })
      const temporary = `${this.#file}.${process.pid}.tmp`
      await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
      await rename(temporary, this.#file)
    })
    return this.#writing
  }

  /** Writes a last time; later changes are not written */
  async close(): Promise<void> {
    await this.flush()
    this.#closed = true
  }

  /** Whether a change has not been written yet */
  get dirty() {
    return this.#dirty
  }
}
