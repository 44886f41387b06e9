/*
 * rownd-adonis benchmark
 *
 * The results as a standalone SVG: one horizontal bar per lane, in two
 * panels (req/s, server CPU µs/req), the median as the bar and the range
 * over rounds as a thin whisker. Plain strings, no dependency; a white
 * background so it reads the same in light and dark viewers.
 */

import type { Spread } from './stats.ts'

export type LaneGroup = 'reference' | 'rownd' | 'other'

export interface ChartLane {
  label: string
  group: LaneGroup
  rps: Spread
  cpuMicros: Spread
}

export interface ChartInput {
  title: string
  /** Small print under the title (machine, rounds) */
  subtitle?: string
  lanes: ChartLane[]
}

const WIDTH = 960
const LABEL_WIDTH = 290
const VALUE_ROOM = 120
const ROW = 24
const BAR = 14
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif'
const COLORS: Record<LaneGroup, string> = {
  reference: '#8c8c8c',
  rownd: '#2f6fdb',
  other: '#e08a1e',
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** A round step (1, 2 or 5 times a power of ten) giving about `count` ticks up to `max` */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1
  const raw = max / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const scaled = raw / power
  const factor = scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10
  return factor * power
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  if (Math.abs(value) >= 10) return String(Math.round(value))
  return value.toFixed(1)
}

function formatTick(tick: number, step: number): string {
  if (step >= 1) return String(Math.round(tick))
  return tick.toFixed(Math.min(6, Math.ceil(-Math.log10(step))))
}

/** Rounds coordinates so the file stays small and diffs stay readable */
const px = (value: number) => String(Math.round(value * 10) / 10)

function panel(
  top: number,
  title: string,
  lanes: ChartLane[],
  metric: (lane: ChartLane) => Spread
): { svg: string; height: number } {
  const spreads = lanes.map(metric)
  const highest = Math.max(
    0,
    ...spreads.flatMap((s) => [s.median, s.max]).filter((v) => Number.isFinite(v))
  )
  const step = niceStep(highest)
  const axisMax = highest > 0 ? Math.ceil(highest / step) * step : step
  const left = LABEL_WIDTH + 10
  const barWidth = WIDTH - left - VALUE_ROOM
  const x = (value: number) => left + (Math.max(0, value) / axisMax) * barWidth
  const rowsTop = top + 28
  const rowsHeight = lanes.length * ROW
  const parts: string[] = []

  parts.push(
    `<text x="${px(left)}" y="${px(top + 14)}" font-size="14" font-weight="600">${escapeXml(title)}</text>`
  )
  // Gridlines and their values under the rows
  const ticks = Math.round(axisMax / step)
  for (let index = 0; index <= ticks; index++) {
    const tick = index * step
    const at = px(x(tick))
    parts.push(
      `<line x1="${at}" y1="${px(rowsTop - 4)}" x2="${at}" y2="${px(rowsTop + rowsHeight)}" stroke="#e3e3e3" stroke-width="1"/>`,
      `<text x="${at}" y="${px(rowsTop + rowsHeight + 14)}" font-size="11" fill="#666" text-anchor="middle">${escapeXml(formatTick(tick, step))}</text>`
    )
  }
  lanes.forEach((lane, index) => {
    const value = spreads[index]
    const middle = rowsTop + index * ROW + ROW / 2
    parts.push(
      `<text x="${px(LABEL_WIDTH)}" y="${px(middle + 4)}" text-anchor="end">${escapeXml(lane.label)}</text>`
    )
    if (!Number.isFinite(value.median)) {
      parts.push(
        `<text x="${px(left + 4)}" y="${px(middle + 4)}" fill="#666">${escapeXml('n/a')}</text>`
      )
      return
    }
    const end = x(value.median)
    parts.push(
      `<rect class="bar" x="${px(left)}" y="${px(middle - BAR / 2)}" width="${px(end - left)}" height="${BAR}" fill="${COLORS[lane.group]}"/>`
    )
    let textAt = end
    if (Number.isFinite(value.min) && Number.isFinite(value.max) && value.max > value.min) {
      const from = px(x(value.min))
      const to = px(x(value.max))
      textAt = Math.max(end, x(value.max))
      parts.push(
        `<g class="whisker" stroke="#222" stroke-width="1">` +
          `<line x1="${from}" y1="${px(middle)}" x2="${to}" y2="${px(middle)}"/>` +
          `<line x1="${from}" y1="${px(middle - 4)}" x2="${from}" y2="${px(middle + 4)}"/>` +
          `<line x1="${to}" y1="${px(middle - 4)}" x2="${to}" y2="${px(middle + 4)}"/>` +
          `</g>`
      )
    }
    parts.push(
      `<text x="${px(textAt + 6)}" y="${px(middle + 4)}">${escapeXml(formatValue(value.median))}</text>`
    )
  })
  return { svg: parts.join('\n'), height: 28 + rowsHeight + 24 }
}

/** The chart as a complete SVG document */
export function renderChart(input: ChartInput): string {
  const header = input.subtitle ? 52 : 34
  const throughput = panel(
    header,
    'Throughput, req/s (higher is better)',
    input.lanes,
    (lane) => lane.rps
  )
  const cpuTop = header + throughput.height + 12
  const cpu = panel(
    cpuTop,
    'Server CPU per request, µs (lower is better)',
    input.lanes,
    (lane) => lane.cpuMicros
  )
  const legendTop = cpuTop + cpu.height + 6
  const present = new Set(input.lanes.map((lane) => lane.group))
  let legendX = LABEL_WIDTH + 10
  const legend = (
    [
      ['reference', 'reference lanes (no guard work)'],
      ['rownd', 'rownd guard'],
      ['other', 'AdonisJS guards'],
    ] as Array<[LaneGroup, string]>
  )
    .filter(([group]) => present.has(group))
    .map(([group, text]) => {
      const at = legendX
      // About 6.5 px per character at 11 px, then a gap
      legendX += 18 + text.length * 6.5 + 24
      return (
        `<rect x="${at}" y="${legendTop}" width="12" height="12" fill="${COLORS[group]}"/>` +
        `<text x="${at + 18}" y="${legendTop + 10}" font-size="11">${escapeXml(text)}</text>`
      )
    })
    .join('\n')
  const note = `<text x="${LABEL_WIDTH + 10}" y="${legendTop + 30}" font-size="11" fill="#666">${escapeXml('bar: median over rounds; whisker: min–max over rounds')}</text>`
  const height = legendTop + 42
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="12" fill="#222">`,
    `<title>${escapeXml(input.title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="600">${escapeXml(input.title)}</text>`,
    ...(input.subtitle
      ? [`<text x="12" y="40" font-size="11" fill="#555">${escapeXml(input.subtitle)}</text>`]
      : []),
    throughput.svg,
    cpu.svg,
    legend,
    note,
    '</svg>',
    '',
  ].join('\n')
}

const BARE_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i

/**
 * Throws unless the text is well-formed XML as this module writes it
 * (elements, attributes in double quotes, entities, no CDATA or comments).
 * Enough to catch a broken chart before it lands in the docs.
 */
export function assertWellFormed(xml: string): void {
  const stack: string[] = []
  let sawRoot = false
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g
  let match: RegExpExecArray | null
  while ((match = token.exec(xml))) {
    const [, closing, name, attributes, selfClosing, text, stray] = match
    if (stray) throw new Error(`stray "<" at ${match.index}`)
    const bad = BARE_AMPERSAND.exec(text ?? attributes ?? '')
    if (bad) throw new Error(`unescaped "&" at ${match.index + bad.index}`)
    if (text !== undefined) {
      if (stack.length === 0 && text.trim()) throw new Error('text outside the root element')
      continue
    }
    if (closing) {
      const open = stack.pop()
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}>`)
      if (stack.length === 0 && xml.slice(token.lastIndex).trim()) {
        throw new Error('content after the root element')
      }
    } else {
      sawRoot = true
      if (!selfClosing) stack.push(name)
    }
  }
  if (!sawRoot) throw new Error('no root element')
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`)
}
