import { writeFile } from 'node:fs/promises'
import type Configure from '@adonisjs/core/commands/configure'
import { listFiles, readOptional } from './files.ts'

/**
 * Puts `@rowndHub()` inside the `<head>` of the app's Edge layout (the one
 * view with a `</head>`), on its own line as Edge tags must be. Returns the
 * layout's path, 'exists', or 'manual' when there is no single layout.
 */
export async function addHubToLayout(command: Configure): Promise<string> {
  const root = command.app.makePath('resources/views')
  const layouts: { path: string; text: string }[] = []
  for (const file of await listFiles(root)) {
    if (!file.endsWith('.edge')) continue
    const text = (await readOptional(`${root}/${file}`)) ?? ''
    if (/<\/head>/i.test(text)) layouts.push({ path: `resources/views/${file}`, text })
  }
  if (layouts.some((layout) => layout.text.includes('@rowndHub('))) return 'exists'
  if (layouts.length !== 1) return 'manual'
  const [{ path, text }] = layouts
  const close = /^([ \t]*)<\/head>/im.exec(text)
  if (!close) return 'manual'
  const indent = `${close[1]}  `
  const updated = `${text.slice(0, close.index)}${indent}@rowndHub()\n${text.slice(close.index)}`
  await writeFile(command.app.makePath(path), updated)
  return path
}
