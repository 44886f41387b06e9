import { writeFile } from 'node:fs/promises'
import type Configure from '@adonisjs/core/commands/configure'
import { applyEdits, lineIndent, readOptional } from './files.ts'

export const SESSION_SYNC_MIDDLEWARE = 'rownd-adonis/session_sync_middleware'
const INITIALIZE_AUTH = '@adonisjs/auth/initialize_auth_middleware'

/**
 * Puts the session sync middleware in `router.use([...])` of
 * start/kernel.ts, right after auth's initialize middleware: it must run
 * before the app's silent auth reads the app guard. Text is inserted at the
 * position found, so the file keeps its formatting and comments.
 */
export async function addSessionSyncMiddleware(
  command: Configure
): Promise<'added' | 'exists' | 'manual'> {
  const path = command.app.makePath('start/kernel.ts')
  const text = await readOptional(path)
  if (text === undefined) return 'manual'
  if (text.includes(SESSION_SYNC_MIDDLEWARE)) return 'exists'

  const use = /router\s*\.\s*use\s*\(\s*\[/.exec(text)
  if (!use) return 'manual'
  const arrayStart = use.index + use[0].length
  const arrayEnd = text.indexOf('])', arrayStart)
  const initialize = text.indexOf(INITIALIZE_AUTH, arrayStart)
  if (arrayEnd === -1 || initialize === -1 || initialize > arrayEnd) return 'manual'
  // End of the initialize entry: the `)` closing its import()
  const entryEnd = text.indexOf(')', initialize)
  if (entryEnd === -1 || entryEnd > arrayEnd) return 'manual'
  const after = text.slice(entryEnd + 1, arrayEnd)
  const comma = /^\s*,/.exec(after)
  const indent = lineIndent(text, initialize)
  const entry = `() => import('${SESSION_SYNC_MIDDLEWARE}')`
  const edit = comma
    ? { at: entryEnd + 1 + comma[0].length, insert: `\n${indent}${entry},` }
    : { at: entryEnd + 1, insert: `,\n${indent}${entry}` }
  await writeFile(path, applyEdits(text, [edit]))
  return 'added'
}

/**
 * In an app whose default guard is not a session guard (the api starter
 * kit: access tokens), makes the app's `auth` middleware also accept Rownd
 * bearer tokens: `authenticateUsing(options.guards ?? ['rownd', '<default>'])`.
 * Rownd is tried first (a token that is not a Rownd token fails it without
 * any network call), the app's guard last, so failures still render as the
 * app's own guard renders them.
 */
export async function addRowndToAuthMiddleware(
  command: Configure,
  defaultGuard: string
): Promise<'added' | 'exists' | 'manual'> {
  const path = command.app.makePath('app/middleware/auth_middleware.ts')
  const text = await readOptional(path)
  if (text === undefined) return 'manual'
  if (/authenticateUsing\(\s*options\.guards\s*\?\?/.test(text)) {
    return text.includes(`'rownd'`) ? 'exists' : 'manual'
  }
  const call = /authenticateUsing\(\s*options\.guards(?=\s*[,)])/g
  const matches = [...text.matchAll(call)]
  if (matches.length !== 1) return 'manual'
  const at = matches[0].index! + matches[0][0].length
  const guards = `['rownd', '${defaultGuard.replace(/'/g, "\\'")}']`
  await writeFile(path, applyEdits(text, [{ at, insert: ` ?? ${guards}` }]))
  return 'added'
}
