import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type Configure from '@adonisjs/core/commands/configure'

export type Codemods = Awaited<ReturnType<Configure['createCodemods']>>

export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf-8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** Files under a folder (recursively), relative to it; empty when it does not exist */
export async function listFiles(folder: string, prefix = ''): Promise<string[]> {
  let entries: import('node:fs').Dirent[]
  try {
    entries = await readdir(folder, { withFileTypes: true })
  } catch {
    return []
  }
  const files: string[] = []
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) files.push(...(await listFiles(join(folder, entry.name), relative)))
    else files.push(relative)
  }
  return files
}

/** Env keys already present in a dotenv file */
export function envKeys(contents: string | undefined): Set<string> {
  const keys = new Set<string>()
  for (const line of (contents ?? '').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)
    if (match) keys.add(match[1])
  }
  return keys
}

/** Applies text insertions (position, text), last first, so positions stay valid */
export function applyEdits(text: string, edits: { at: number; insert: string }[]): string {
  let updated = text
  for (const edit of [...edits].sort((left, right) => right.at - left.at)) {
    updated = updated.slice(0, edit.at) + edit.insert + updated.slice(edit.at)
  }
  return updated
}

/** Leading whitespace of the line holding `position` */
export function lineIndent(text: string, position: number): string {
  const lineStart = text.lastIndexOf('\n', position - 1) + 1
  return /^[ \t]*/.exec(text.slice(lineStart))![0]
}
