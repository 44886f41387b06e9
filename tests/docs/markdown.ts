/**
 * Reading the documentation as the docs suite checks it: fenced code
 * blocks (with their info-string attributes and the install-step marker
 * before them), marked tables, headings and relative links.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { PACKAGE_ROOT } from '../helpers/kit_app.ts'

export { PACKAGE_ROOT }

export interface Doc {
  /** Path from the package root, e.g. `docs/errors.md` */
  path: string
  text: string
}

export interface CodeBlock {
  doc: string
  /** 1-based line of the first line of code (the line after the fence) */
  line: number
  /** First word of the info string: `ts`, `sh`, `edge`... */
  lang: string
  /** `file=start/routes.ts` → `{ file: 'start/routes.ts' }`; `fragment` → `{ fragment: true }` */
  attrs: Record<string, string | true>
  /** The code, dedented by the fence's indentation */
  code: string
  /** `<!-- install-step: X -->` right before the fence: `X` */
  installStep?: string
}

function read(path: string): Doc {
  return { path, text: readFileSync(join(PACKAGE_ROOT, path), 'utf-8') }
}

function markdownUnder(dir: string): string[] {
  const found: string[] = []
  const walk = (path: string) => {
    for (const entry of readdirSync(join(PACKAGE_ROOT, path), { withFileTypes: true })) {
      const child = join(path, entry.name)
      if (entry.isDirectory()) walk(child)
      else if (entry.name.endsWith('.md')) found.push(child)
    }
  }
  walk(dir)
  return found.sort()
}

/** README.md and every page under docs/: the pages whose code blocks are checked */
export function checkedDocs(): Doc[] {
  return ['README.md', ...markdownUnder('docs')].map(read)
}

/** Every Markdown page of the package users read: their links must resolve */
export function linkedDocs(): Doc[] {
  const pages = ['README.md', 'SECURITY.md', 'CONTRIBUTING.md', 'CHANGELOG.md']
  for (const example of readdirSync(join(PACKAGE_ROOT, 'examples'))) {
    const readme = join('examples', example, 'README.md')
    if (existsSync(join(PACKAGE_ROOT, readme))) pages.push(readme)
  }
  return [...pages, ...markdownUnder('docs')].map(read)
}

export function readDoc(path: string): Doc {
  return read(path)
}

const FENCE = /^(\s*)(`{3,})\s*(.*)$/
const MARKER = /^\s*<!--\s*install-step:\s*(.+?)\s*-->\s*$/

function parseAttrs(rest: string): Record<string, string | true> {
  const attrs: Record<string, string | true> = {}
  for (const word of rest.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=')
    if (eq === -1) attrs[word] = true
    else attrs[word.slice(0, eq)] = word.slice(eq + 1)
  }
  return attrs
}

/** The fenced code blocks of a page, in order */
export function codeBlocks(doc: Doc): CodeBlock[] {
  const lines = doc.text.split('\n')
  const blocks: CodeBlock[] = []
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE.exec(lines[index])
    if (!open) continue
    const [, indent, ticks, info] = open
    const [lang = '', ...rest] = info.trim().split(/\s+/)
    let end = index + 1
    while (end < lines.length) {
      const close = FENCE.exec(lines[end])
      if (close && close[2].length >= ticks.length && close[3].trim() === '') break
      end++
    }
    if (end === lines.length) throw new Error(`${doc.path}:${index + 1}: unclosed code fence`)
    const code = lines
      .slice(index + 1, end)
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line.trimStart()))
      .join('\n')
    let previous = index - 1
    while (previous >= 0 && lines[previous].trim() === '') previous--
    const marker = previous >= 0 ? MARKER.exec(lines[previous]) : null
    blocks.push({
      doc: doc.path,
      line: index + 2,
      lang,
      attrs: parseAttrs(rest.join(' ')),
      code,
      installStep: marker?.[1],
    })
    index = end
  }
  return blocks
}

/** The page's lines outside code blocks (for headings, tables and links) */
function proseLines(doc: Doc): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = []
  let fence: string | undefined
  doc.text.split('\n').forEach((text, index) => {
    const match = FENCE.exec(text)
    if (fence) {
      if (match && match[2].length >= fence.length && match[3].trim() === '') fence = undefined
      return
    }
    if (match) {
      fence = match[2]
      return
    }
    out.push({ line: index + 1, text })
  })
  return out
}

/** Splits a Markdown table row into cells (`\|` stays inside a cell) */
function cells(row: string): string[] {
  const trimmed = row.trim().replace(/^\|/, '').replace(/\|$/, '')
  return trimmed.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'))
}

/**
 * The rows (cells) of the table right after `<!-- check: <name> -->`,
 * header and separator left out
 */
export function markedTable(doc: Doc, name: string): string[][] {
  const lines = doc.text.split('\n')
  const at = lines.findIndex((line) => line.trim() === `<!-- check: ${name} -->`)
  if (at === -1) throw new Error(`${doc.path}: no <!-- check: ${name} --> marker`)
  const rows: string[][] = []
  for (let index = at + 1; index < lines.length && lines[index].trim().startsWith('|'); index++) {
    rows.push(cells(lines[index]))
  }
  if (rows.length < 3) throw new Error(`${doc.path}: no table after <!-- check: ${name} -->`)
  return rows.slice(2)
}

/** The text of an inline code span filling a cell: `` `appKey` `` → `appKey` */
export function codeSpan(cell: string): string | undefined {
  return /^`([^`]+)`$/.exec(cell)?.[1]
}

/** GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-')
}

/** Anchors of a page's headings (duplicates get -1, -2 like on GitHub) */
export function anchors(doc: Doc): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const { text } of proseLines(doc)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)
    if (!heading) continue
    const base = slug(heading[1])
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

export interface Link {
  doc: string
  line: number
  target: string
}

/** Relative links and in-page anchors of a page (code blocks and spans left out) */
export function relativeLinks(doc: Doc): Link[] {
  const links: Link[] = []
  for (const { line, text } of proseLines(doc)) {
    const prose = text.replace(/`[^`]*`/g, '``')
    for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
      links.push({ doc: doc.path, line, target })
    }
  }
  return links
}

/** Where a link points, from the package root, and its anchor */
export function resolveLink(link: Link): { path: string; anchor?: string } {
  const [file, anchor] = link.target.split('#')
  const path =
    file === '' ? link.doc : relative(PACKAGE_ROOT, join(PACKAGE_ROOT, dirname(link.doc), file))
  return { path, anchor: anchor || undefined }
}
