import { writeFile } from 'node:fs/promises'
import type Configure from '@adonisjs/core/commands/configure'
import type { ArrayLiteralExpression, PropertyAssignment } from 'ts-morph'
import { applyEdits, type Codemods, lineIndent, readOptional } from './files.ts'
import { defineConfigSection } from './config_ast.ts'

/**
 * Adds the webhook route pattern to `csrf.exceptRoutes` of config/shield.ts
 * (Rownd's deliveries carry no CSRF token), when the file has the usual
 * `defineConfig({ csrf: { exceptRoutes: [...] } })` shape. The edit is
 * text inserted at AST positions, so the file keeps its formatting.
 * Returns 'manual' when the shape is unusual (e.g. `exceptRoutes` is a
 * function): the caller prints what to add.
 */
export async function addWebhookToCsrfExceptions(
  command: Configure,
  codemods: Codemods,
  pattern: string
): Promise<'added' | 'exists' | 'manual' | 'no-shield'> {
  const path = command.app.configPath('shield.ts')
  const source = await readOptional(path)
  if (source === undefined) return 'no-shield'
  const quoted = `'${pattern}'`
  if (source.includes(quoted) || source.includes(`"${pattern}"`)) return 'exists'

  const found = await defineConfigSection(codemods, path, 'csrf')
  if (!found) return 'manual'
  const { file, section: csrfLiteral } = found

  const text = file.getFullText()
  const except = csrfLiteral.getProperty('exceptRoutes')
  let edit: { at: number; insert: string }
  if (except === undefined) {
    const properties = csrfLiteral.getProperties()
    if (!properties.length) return 'manual'
    const first = properties[0]
    edit = {
      at: first.getStart(),
      insert: `exceptRoutes: [${quoted}],\n${lineIndent(text, first.getStart())}`,
    }
  } else {
    if (except.getKindName() !== 'PropertyAssignment') return 'manual'
    const value = (except as PropertyAssignment).getInitializer()
    if (value?.getKindName() !== 'ArrayLiteralExpression') return 'manual'
    const array = value as ArrayLiteralExpression
    const elements = array.getElements()
    const close = array.getEnd() - 1
    if (!elements.length) {
      edit = { at: close, insert: quoted }
    } else {
      const last = elements.at(-1)!
      const between = text.slice(last.getEnd(), close)
      const comma = /^\s*,/.exec(between)
      const multiline = text.slice(array.getStart(), close).includes('\n')
      const separator = multiline ? `\n${lineIndent(text, last.getStart())}` : ' '
      edit = comma
        ? { at: last.getEnd() + comma[0].length, insert: `${separator}${quoted},` }
        : { at: last.getEnd(), insert: `,${separator}${quoted}` }
    }
  }
  await writeFile(path, applyEdits(text, [edit]))
  await file.refreshFromFileSystem()
  return 'added'
}
