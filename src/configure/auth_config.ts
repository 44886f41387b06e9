import { writeFile } from 'node:fs/promises'
import type Configure from '@adonisjs/core/commands/configure'
import { applyEdits, type Codemods, lineIndent, readOptional } from './files.ts'
import { defineConfigSection } from './config_ast.ts'

/** The guard's import line, for the printed fallback */
export const GUARD_IMPORT = `import { rowndGuard, rowndUserProvider } from 'rownd-adonis'`

/** The guard as a formatted, multi-line property */
function guardSnippet(useSession: boolean, indent: string) {
  return [
    `${indent}rownd: rowndGuard({`,
    ...(useSession ? [] : [`${indent}  useSession: false,`]),
    `${indent}  provider: rowndUserProvider({`,
    `${indent}    model: () => import('#models/user'),`,
    `${indent}  }),`,
    `${indent}})`,
  ].join('\n')
}

/** The guard on one line, for the printed fallback */
export function guardEntry(useSession: boolean) {
  const provider = `provider: rowndUserProvider({ model: () => import('#models/user') })`
  return useSession
    ? `rownd: rowndGuard({ ${provider} })`
    : `rownd: rowndGuard({ ${provider}, useSession: false })`
}

/**
 * Adds the `rownd` guard to `config/auth.ts` when the file has the usual
 * `defineConfig({ guards: { ... } })` shape. Returns 'manual' when it could
 * not do so safely (the caller prints the lines to paste).
 */
export async function addGuard(
  command: Configure,
  codemods: Codemods,
  useSession: boolean
): Promise<'added' | 'exists' | 'manual'> {
  const authPath = command.app.configPath('auth.ts')
  const source = await readOptional(authPath)
  if (source === undefined) return 'manual'
  if (/\browndGuard\s*\(/.test(source)) return 'exists'

  const found = await defineConfigSection(codemods, authPath, 'guards')
  if (!found) return 'manual'
  const { file, section: guardsLiteral } = found
  if (guardsLiteral.getProperty('rownd')) return 'exists'

  // Edits are made as text at AST positions, so the rest of the file keeps
  // its formatting: the new guard follows the indentation of its siblings
  const text = file.getFullText()
  const edits: { at: number; insert: string }[] = []
  const properties = guardsLiteral.getProperties()
  const closeBrace = guardsLiteral.getEnd() - 1
  if (properties.length) {
    const last = properties.at(-1)!
    const indent = lineIndent(text, properties[0].getStart())
    const comma = /^\s*,/.exec(text.slice(last.getEnd(), closeBrace))
    edits.push({
      at: comma ? last.getEnd() + comma[0].length : last.getEnd(),
      insert: `${comma ? '' : ','}\n${guardSnippet(useSession, indent)},`,
    })
  } else {
    const indent = lineIndent(text, guardsLiteral.getStart())
    edits.push({
      at: closeBrace,
      insert: `\n${guardSnippet(useSession, `${indent}  `)},\n${indent}`,
    })
  }

  const existingImport = file
    .getImportDeclarations()
    .find(
      (declaration) =>
        declaration.getModuleSpecifierValue() === 'rownd-adonis' && !declaration.isTypeOnly()
    )
  const imported = new Set(existingImport?.getNamedImports().map((named) => named.getName()))
  const missing = ['rowndGuard', 'rowndUserProvider'].filter((name) => !imported.has(name))
  if (missing.length) {
    const lastImport = file.getImportDeclarations().at(-1)
    const line = `import { ${missing.join(', ')} } from 'rownd-adonis'`
    edits.push(
      lastImport ? { at: lastImport.getEnd(), insert: `\n${line}` } : { at: 0, insert: `${line}\n` }
    )
  }

  await writeFile(authPath, applyEdits(text, edits))
  await file.refreshFromFileSystem()
  return 'added'
}
