/**
 * Issue 19: the reference pages against the source. A test fails when an
 * option, env variable, error code or export exists in one and not the
 * other, or when a relative link or anchor of the docs does not resolve.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from '@japa/runner'
import ts from 'typescript'
import { defineConfig } from '../../src/define_config.ts'
import { errors } from '../../src/errors.ts'
import {
  anchors,
  codeSpan,
  linkedDocs,
  markedTable,
  PACKAGE_ROOT,
  readDoc,
  relativeLinks,
  resolveLink,
} from './markdown.ts'

const source = (path: string) => readFileSync(join(PACKAGE_ROOT, path), 'utf-8')

/** The first column of a marked table, as code spans (every row must have one) */
function firstColumn(doc: string, table: string): string[] {
  return markedTable(readDoc(doc), table).map((row) => {
    const name = codeSpan(row[0])
    if (!name) throw new Error(`${doc} (${table}): first cell "${row[0]}" is not one code span`)
    return name
  })
}

function difference(a: Iterable<string>, b: Iterable<string>) {
  const other = new Set(b)
  return [...new Set(a)].filter((item) => !other.has(item)).sort()
}

let program: ts.Program | undefined

/** One TypeScript program over the package's public entry points */
function tsProgram() {
  program ??= ts.createProgram(
    [
      'index.ts',
      'src/types.ts',
      'src/testing/index.ts',
      'src/inertia/shared_props.ts',
      'providers/rownd_provider.ts',
      'services/main.ts',
      'src/http/rownd_middleware.ts',
      'src/http/session_sync_middleware.ts',
    ].map((file) => join(PACKAGE_ROOT, file)),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ESNext,
      allowImportingTsExtensions: true,
      experimentalDecorators: true,
      noEmit: true,
      strictNullChecks: true,
      skipLibCheck: true,
    }
  )
  return program
}

/** Names a module exports (values and types), with the file each is declared in */
function exportsOf(file: string): Map<string, string> {
  const checker = tsProgram().getTypeChecker()
  const sourceFile = tsProgram().getSourceFile(join(PACKAGE_ROOT, file))
  if (!sourceFile) throw new Error(`${file} is not in the program`)
  const moduleSymbol = checker.getSymbolAtLocation(sourceFile)!
  const names = new Map<string, string>()
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
    const declared = target.declarations?.[0]?.getSourceFile().fileName ?? ''
    names.set(symbol.name, declared.replace(`${PACKAGE_ROOT}`, '').replace(/^\//, ''))
  }
  return names
}

/**
 * Option paths of `RowndConfigInput`, walked through the nested
 * `*ConfigInput` interfaces: leaves (`cache.profileTtl`) and the parents
 * that hold them (`cache`)
 */
function configInputPaths() {
  const checker = tsProgram().getTypeChecker()
  const file = tsProgram().getSourceFile(join(PACKAGE_ROOT, 'src/types.ts'))!
  const root = file.statements.find(
    (node): node is ts.InterfaceDeclaration =>
      ts.isInterfaceDeclaration(node) && node.name.text === 'RowndConfigInput'
  )!
  const leaves = new Set<string>()
  const parents = new Set<string>()
  const walk = (type: ts.Type, prefix: string) => {
    for (const property of type.getProperties()) {
      const path = `${prefix}${property.name}`
      const propertyType = checker.getNonNullableType(
        checker.getTypeOfSymbolAtLocation(property, root)
      )
      const nested = (propertyType.isUnion() ? propertyType.types : [propertyType]).find((member) =>
        member.getSymbol()?.getName().endsWith('ConfigInput')
      )
      if (nested) {
        parents.add(path)
        walk(nested, `${path}.`)
      } else {
        leaves.add(path)
      }
    }
  }
  walk(checker.getTypeAtLocation(root), '')
  return { leaves, parents }
}

/** Leaf paths of the object `defineConfig()` returns */
function resolvedPaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, child]) =>
    child && typeof child === 'object' && !Array.isArray(child)
      ? resolvedPaths(child as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prefix}${key}`]
  )
}

test.group('docs | reference pages match the source', () => {
  test('docs/configuration.md documents every option of RowndConfigInput and defineConfig(), and no other', ({
    assert,
  }) => {
    const { leaves, parents } = configInputPaths()
    assert.isAbove(leaves.size, 30)
    // What defineConfig() resolves is what it accepts
    const resolved = resolvedPaths(defineConfig() as unknown as Record<string, unknown>)
    assert.deepEqual(difference(resolved, [...leaves, ...parents]), [], 'resolved but not accepted')
    assert.deepEqual(difference(leaves, resolved), [], 'accepted but not resolved')

    const documented = firstColumn('docs/configuration.md', 'config-options')
    assert.deepEqual(difference(leaves, documented), [], 'options missing from the docs')
    assert.deepEqual(
      difference(documented, [...leaves, ...parents]),
      [],
      'documented options that do not exist'
    )
    assert.lengthOf(documented, new Set(documented).size, 'an option documented twice')
  })

  test('docs/configuration.md lists every env variable the package reads, and no other', ({
    assert,
  }) => {
    const read = new Set<string>()
    for (const match of source('src/define_config.ts').matchAll(/process\.env\.([A-Z_]+)/g)) {
      read.add(match[1])
    }
    for (const match of source('src/dev/switch.ts').matchAll(/_ENV = '([A-Z_]+)'/g)) {
      read.add(match[1])
    }
    assert.isAbove(read.size, 8)
    const documented = firstColumn('docs/configuration.md', 'env-variables')
    assert.deepEqual(difference(read, documented), [], 'env variables missing from the docs')
    assert.deepEqual(difference(documented, read), [], 'documented env variables not read')
  })

  test('docs/errors.md lists every code of `errors` with its status, and every E_ROWND_* code of the source', ({
    assert,
  }) => {
    const fromSource = new Map<string, number>()
    for (const error of Object.values(errors) as Array<{ code?: string; status?: number }>) {
      if (error.code) fromSource.set(error.code, error.status!)
    }
    assert.isTrue(fromSource.has('E_ROWND_UNAUTHORIZED'))
    const rows = markedTable(readDoc('docs/errors.md'), 'error-codes')
    const documented = new Map(rows.map((row) => [codeSpan(row[0]) ?? row[0], Number(row[1])]))
    assert.equal(documented.size, rows.length, 'a code documented twice')
    assert.deepEqual(difference(fromSource.keys(), documented.keys()), [], 'codes missing')
    assert.deepEqual(
      difference(documented.keys(), fromSource.keys()),
      [],
      'codes that do not exist'
    )
    for (const [code, status] of fromSource) {
      assert.equal(documented.get(code), status, `status of ${code}`)
    }

    // Codes answered without an error class (the webhook route), and typos
    const literals = new Set<string>()
    const walk = (dir: string) => {
      for (const entry of readdirSync(join(PACKAGE_ROOT, dir), { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) walk(path)
        else if (path.endsWith('.ts')) {
          for (const match of source(path).matchAll(/'(E_ROWND_[A-Z_]+)'/g)) literals.add(match[1])
        }
      }
    }
    walk('src')
    const page = readDoc('docs/errors.md').text
    const mentioned = new Set([...page.matchAll(/\bE_ROWND_[A-Z_]+\b/g)].map((match) => match[0]))
    assert.deepEqual(
      difference(literals, mentioned),
      [],
      'codes of the source missing from the page'
    )
    assert.deepEqual(
      difference(mentioned, literals),
      [],
      'codes on the page that the source never uses'
    )
  })

  test('every export is documented: rownd-adonis and its subpaths in guard_and_provider.md, errors in errors.md, testing in testing.md', ({
    assert,
  }) => {
    const api = readDoc('docs/guard_and_provider.md').text
    const errorsPage = readDoc('docs/errors.md').text
    const testingPage = readDoc('docs/testing.md').text
    /** `name` written as inline code (alone, or as the start of a call or member) */
    const mentions = (page: string, name: string) =>
      new RegExp(`\`${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(page)

    const missing: string[] = []
    const check = (entry: string, file: string) => {
      for (const [name, declaredIn] of exportsOf(file)) {
        if (name === 'default') continue
        const page =
          declaredIn === 'src/errors.ts' ? errorsPage : entry === './testing' ? testingPage : api
        if (!mentions(page, name)) missing.push(`${entry}: ${name} (declared in ${declaredIn})`)
      }
    }

    const pkg = JSON.parse(source('package.json')) as { exports: Record<string, string> }
    /** Where each subpath's build file comes from */
    const sources: Record<string, string | undefined> = {
      '.': 'index.ts',
      './types': 'src/types.ts',
      './testing': 'src/testing/index.ts',
      './inertia': 'src/inertia/shared_props.ts',
      './rownd_provider': 'providers/rownd_provider.ts',
      './services/main': 'services/main.ts',
      './rownd_middleware': 'src/http/rownd_middleware.ts',
      './session_sync_middleware': 'src/http/session_sync_middleware.ts',
      // Generated by `adonis-kit index` from commands/*.ts
      './commands': undefined,
    }
    assert.deepEqual(
      difference(Object.keys(pkg.exports), Object.keys(sources)),
      [],
      'a new subpath export: map it to its source here and document it'
    )
    for (const [entry, file] of Object.entries(sources)) {
      const subpath = entry === '.' ? 'rownd-adonis' : `rownd-adonis/${entry.slice(2)}`
      if (!mentions(api, subpath)) missing.push(`subpath ${subpath}`)
      if (file) check(entry, file)
    }
    for (const file of readdirSync(join(PACKAGE_ROOT, 'commands'))) {
      const name = /static commandName = '([^']+)'/.exec(source(join('commands', file)))?.[1]
      if (name && !mentions(api, name)) missing.push(`command ${name}`)
    }
    assert.deepEqual(missing, [])
  })

  test('relative links and anchors of the docs resolve', ({ assert }) => {
    const broken: string[] = []
    let count = 0
    for (const doc of linkedDocs()) {
      for (const link of relativeLinks(doc)) {
        count++
        const { path, anchor } = resolveLink(link)
        const where = `${link.doc}:${link.line} → ${link.target}`
        if (!existsSync(join(PACKAGE_ROOT, path))) {
          broken.push(`${where}: no such file`)
          continue
        }
        if (!anchor) continue
        if (!path.endsWith('.md') || statSync(join(PACKAGE_ROOT, path)).isDirectory()) {
          broken.push(`${where}: anchor on a file that is not Markdown`)
        } else if (!anchors(readDoc(path)).has(anchor)) {
          broken.push(`${where}: no heading with that anchor`)
        }
      }
    }
    assert.isAbove(count, 50)
    assert.deepEqual(broken, [])
  })
})
