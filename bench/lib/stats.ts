/*
 * rownd-adonis benchmark
 *
 * Small numeric and formatting helpers.
 */

export function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value
  const factor = 10 ** digits
  return Math.round(value * factor) / factor
}

/** Renders rows as a plain text table (first row is the header; text columns left-aligned) */
export function table(rows: Array<Array<string | number>>, textColumns = 1): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)))
  const widths = cells[0].map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? '').length))
  )
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column < textColumns ? cell.padEnd(widths[column]) : cell.padStart(widths[column])
      )
      .join('  ')
  return [
    line(cells[0]),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...cells.slice(1).map(line),
  ].join('\n')
}

/** Same rows as a GitHub markdown table */
export function markdownTable(rows: Array<Array<string | number>>, textColumns = 1): string {
  const cells = rows.map((row) => row.map((cell) => String(cell)))
  const line = (row: string[]) => `| ${row.join(' | ')} |`
  return [
    line(cells[0]),
    line(cells[0].map((_, index) => (index < textColumns ? '---' : '---:'))),
    ...cells.slice(1).map(line),
  ].join('\n')
}

/** Median and range of a set of per-round values (NaN when none is finite) */
export interface Spread {
  median: number
  min: number
  max: number
}

export function spread(values: number[]): Spread {
  const finite = values.filter((value) => Number.isFinite(value))
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN }
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) }
}

/** `0.86 (0.80–0.91)`, or just the median when every round gave the same value */
export function formatSpread(value: Spread, digits = 2): string {
  if (!Number.isFinite(value.median)) return 'n/a'
  const show = (n: number) => String(round(n, digits))
  if (show(value.min) === show(value.max)) return show(value.median)
  return `${show(value.median)} (${show(value.min)}–${show(value.max)})`
}
