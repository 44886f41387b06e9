/*
 * rownd-adonis benchmark
 *
 * Summarizes a V8 .cpuprofile (from `BENCH_PROFILE=1 npm run bench`): the
 * functions with the most self time, and self time per package/file.
 *
 *   node --import=@poppinss/ts-exec bench/profile_summary.ts <file.cpuprofile> [top]
 */

import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const file = process.argv[2]
const top = Number(process.argv[3] ?? 30)
if (!file) {
  process.stderr.write('usage: profile_summary.ts <file.cpuprofile> [top]\n')
  process.exit(1)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfTime = new Map<number, number>()
profile.samples.forEach((id, index) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0))
})

/** Where a frame comes from: a package, our source, node internals or V8 */
function origin(url: string): string {
  if (!url) return '(native/v8)'
  if (url.startsWith('node:')) return url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]
  const local = /bench_build\/(.+)$/.exec(url)
  return local ? local[1] : url
}

const functions = new Map<string, number>()
const origins = new Map<string, number>()
let total = 0
let idle = 0
for (const [id, micros] of selfTime) {
  const node = byId.get(id)!
  const { functionName, url, lineNumber } = node.callFrame
  total += micros
  if (functionName === '(idle)') {
    idle += micros
    continue
  }
  const key = `${functionName || '(anonymous)'}  ${origin(url)}${url ? `:${lineNumber + 1}` : ''}`
  functions.set(key, (functions.get(key) ?? 0) + micros)
  origins.set(origin(url), (origins.get(origin(url)) ?? 0) + micros)
}

const busy = total - idle
const pct = (micros: number) => `${((micros / busy) * 100).toFixed(1).padStart(5)}%`
const list = (map: Map<string, number>) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, micros]) => `${pct(micros)}  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}`)
    .join('\n')

process.stdout.write(
  `profile ${file}\nsampled ${(total / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s; percentages are of non-idle time\n\n` +
    `top functions by self time:\n${list(functions)}\n\nself time by origin:\n${list(origins)}\n`
)
