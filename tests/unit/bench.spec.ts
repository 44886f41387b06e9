/**
 * The bench's pure helpers (bench/lib): the SVG chart, the docs writer's
 * block replacement, the spread formatting and merging a lane's slices. The bench itself runs in CI
 * as `BENCH_QUICK=1 npm run bench`.
 */
import { test } from '@japa/runner'
import { assertWellFormed, niceStep, renderChart, type ChartLane } from '../../bench/lib/chart.ts'
import { replaceResultsBlock, RESULTS_END, RESULTS_START } from '../../bench/lib/docs.ts'
import { formatSpread, spread } from '../../bench/lib/stats.ts'
import { mergeWindows, type WindowResult } from '../../bench/lib/load.ts'

const lane = (label: string, rps: number, cpu: number, group: ChartLane['group'] = 'rownd') => ({
  label,
  group,
  rps: { median: rps, min: rps * 0.9, max: rps * 1.1 },
  cpuMicros: { median: cpu, min: cpu, max: cpu },
})

/** Attribute values of every element with this class, in order */
function widthsOf(svg: string, className: string): number[] {
  return [
    ...svg.matchAll(new RegExp(`<rect class="${className}"[^>]* width="([\\d.]+)"`, 'g')),
  ].map((match) => Number(match[1]))
}

test.group('bench chart', () => {
  test('is a standalone, well-formed SVG on a white background', ({ assert }) => {
    const svg = renderChart({
      title: 'bench',
      subtitle: 'machine',
      lanes: [lane('open', 1000, 20, 'reference'), lane('rownd', 500, 40)],
    })
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" [^>]*viewBox="0 0 \d+ \d+"/)
    assert.include(svg, 'fill="#ffffff"')
    assert.doesNotThrow(() => assertWellFormed(svg))
    assert.notInclude(svg, 'NaN')
  })

  test('one bar per lane in each panel, as long as its median', ({ assert }) => {
    const svg = renderChart({
      title: 'bench',
      lanes: [lane('a', 1000, 100), lane('b', 500, 50), lane('c', 250, 200)],
    })
    const widths = widthsOf(svg, 'bar')
    assert.lengthOf(widths, 6)
    const [a, b, c, cpuA, cpuB, cpuC] = widths
    assert.closeTo(b / a, 0.5, 0.01)
    assert.closeTo(c / a, 0.25, 0.01)
    assert.closeTo(cpuA / cpuC, 0.5, 0.01)
    assert.closeTo(cpuB / cpuC, 0.25, 0.01)
    // A whisker per lane with a range (req/s), none where every round agreed (CPU)
    assert.lengthOf([...svg.matchAll(/class="whisker"/g)], 3)
  })

  test('escapes labels and shows n/a for a lane without values', ({ assert }) => {
    const missing = { median: Number.NaN, min: Number.NaN, max: Number.NaN }
    const svg = renderChart({
      title: 'a <b> & "c"',
      lanes: [
        lane('<script>&', 100, 10),
        { label: 'none', group: 'other', rps: missing, cpuMicros: missing },
      ],
    })
    assert.include(svg, '&lt;script&gt;&amp;')
    assert.include(svg, 'a &lt;b&gt; &amp; &quot;c&quot;')
    assert.include(svg, '>n/a<')
    assert.lengthOf(widthsOf(svg, 'bar'), 2)
    assert.notInclude(svg, 'NaN')
    assert.doesNotThrow(() => assertWellFormed(svg))
  })

  test('the well-formedness check refuses broken markup', ({ assert }) => {
    assert.throws(() => assertWellFormed('<svg><g></svg>'), /closes/)
    assert.throws(() => assertWellFormed('<svg><g>'), /unclosed/)
    assert.throws(() => assertWellFormed('<svg>a & b</svg>'), /unescaped/)
    assert.throws(() => assertWellFormed('<svg x="&"/>'), /unescaped/)
    assert.throws(() => assertWellFormed('<svg>a < b</svg>'), /stray/)
    assert.throws(() => assertWellFormed('<svg></svg><svg></svg>'), /after the root/)
    assert.throws(() => assertWellFormed('text'), /outside the root/)
    assert.throws(() => assertWellFormed(''), /no root/)
    assert.doesNotThrow(() => assertWellFormed('<svg a="1"><g/><text>x &amp; y</text></svg>\n'))
  })

  test('axis steps are 1, 2 or 5 times a power of ten', ({ assert }) => {
    assert.equal(niceStep(38158), 10_000)
    assert.equal(niceStep(929), 200)
    assert.equal(niceStep(4.2), 1)
    assert.equal(niceStep(0), 1)
  })
})

test.group('bench docs writer', () => {
  test('replaces only the text between the markers', ({ assert }) => {
    const page = `# Performance\n\nprose\n\n${RESULTS_START}\nold\ntable\n${RESULTS_END}\n\n## After\n`
    const written = replaceResultsBlock(page, '\nnew table\n')
    assert.equal(
      written,
      `# Performance\n\nprose\n\n${RESULTS_START}\nnew table\n${RESULTS_END}\n\n## After\n`
    )
    // Writing twice gives the same page
    assert.equal(replaceResultsBlock(written, 'new table'), written)
  })

  test('refuses a page without both markers in order', ({ assert }) => {
    assert.throws(() => replaceResultsBlock('# Performance\n', 'x'), /needs/)
    assert.throws(() => replaceResultsBlock(`${RESULTS_END}\n${RESULTS_START}\n`, 'x'), /needs/)
    assert.throws(
      () => replaceResultsBlock(`${RESULTS_START}\n${RESULTS_START}\n${RESULTS_END}`, 'x'),
      /more than once/
    )
  })
})

test.group('bench stats', () => {
  test('spread and its text', ({ assert }) => {
    assert.deepEqual(spread([3, 1, 2, Number.NaN]), { median: 2, min: 1, max: 3 })
    assert.isNaN(spread([]).median)
    assert.equal(formatSpread({ median: 0.861, min: 0.8, max: 0.912 }), '0.86 (0.8–0.91)')
    assert.equal(formatSpread({ median: 3433.4, min: 3433.2, max: 3433.4 }, 0), '3433')
    assert.equal(formatSpread(spread([])), 'n/a')
  })

  test("a lane's slices merge into one window", ({ assert }) => {
    const slice = (ok: number, seconds: number, p50: number, p99: number): WindowResult => ({
      requests: ok + 1,
      ok,
      non2xx: 1,
      errors: 0,
      seconds,
      rps: ok / seconds,
      p50,
      p99,
      statusCodes: { 200: ok, 401: 1 },
      driverCpuShare: 0.5,
    })
    const merged = mergeWindows([slice(1000, 1, 2, 5), slice(3000, 1, 1, 9), slice(2000, 2, 3, 4)])
    assert.deepEqual(merged, {
      requests: 6003,
      ok: 6000,
      non2xx: 3,
      errors: 0,
      seconds: 4,
      rps: 1500,
      p50: 2,
      p99: 9,
      statusCodes: { 200: 6000, 401: 3 },
      driverCpuShare: 0.5,
    })
    const one = slice(10, 1, 1, 1)
    assert.strictEqual(mergeWindows([one]), one)
  })
})
