import { OUTCOMES, type SyncState } from './sync_runner.ts'

const BAR_WIDTH = 24

/** Users handled so far */
export function handled(state: SyncState) {
  return OUTCOMES.reduce((sum, outcome) => sum + state.counts[outcome], 0)
}

/**
 * One line of progress: a bar over the total Rownd reported, then the
 * counts, e.g. `[██████░░░░] 1200/2000 created 800 · linked 300 · ...`
 */
export function progressLine(state: SyncState): string {
  const done = handled(state)
  const total = Math.max(state.total ?? 0, done)
  const ratio = total ? done / total : 1
  const filled = Math.round(ratio * BAR_WIDTH)
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`
  const counts = OUTCOMES.map((outcome) => `${outcome} ${state.counts[outcome]}`).join(' · ')
  return `${bar} ${done}/${total} ${counts}`
}

/** The rows of the final table: one per outcome, then the total */
export function resultRows(state: SyncState): string[][] {
  return [
    ...OUTCOMES.map((outcome) => [outcome, String(state.counts[outcome])]),
    ['total', String(handled(state))],
  ]
}
