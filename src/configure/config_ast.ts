import type {
  CallExpression,
  ObjectLiteralExpression,
  PropertyAssignment,
  SourceFile,
} from 'ts-morph'
import type { Codemods } from './files.ts'

/**
 * A config file opened with the app's ts-morph as it is on disk, and the
 * object literal of one section of its `defineConfig({ <name>: { ... } })`.
 * Undefined when ts-morph is unavailable or the file has another shape:
 * the caller then prints what to add.
 */
export async function defineConfigSection(
  codemods: Codemods,
  path: string,
  name: string
): Promise<{ file: SourceFile; section: ObjectLiteralExpression } | undefined> {
  const project = await codemods.getTsMorphProject()
  if (!project) return undefined
  const file = project.getSourceFile(path) ?? project.addSourceFileAtPath(path)
  // Work on what is on disk, not a copy ts-morph loaded earlier
  await file.refreshFromFileSystem()

  // Kinds are compared by name: ts-morph comes with the app's
  // @adonisjs/assembler and is not a dependency of this package
  const call = file
    .getDescendants()
    .find(
      (node): node is CallExpression =>
        node.getKindName() === 'CallExpression' &&
        (node as CallExpression).getExpression().getText() === 'defineConfig'
    )
  const config = call?.getArguments()[0]
  if (config?.getKindName() !== 'ObjectLiteralExpression') return undefined
  const property = (config as ObjectLiteralExpression).getProperty(name)
  if (property?.getKindName() !== 'PropertyAssignment') return undefined
  const section = (property as PropertyAssignment).getInitializer()
  if (section?.getKindName() !== 'ObjectLiteralExpression') return undefined
  return { file, section: section as ObjectLiteralExpression }
}
