/*
 * rownd-adonis benchmark
 *
 * Puts one full run into docs/performance.md: the text between the two
 * marker comments is replaced, the rest of the page (prose) is left alone.
 */

export const RESULTS_START = '<!-- bench:results:start -->'
export const RESULTS_END = '<!-- bench:results:end -->'

/** The page with the results block replaced; throws when the markers are missing or out of order */
export function replaceResultsBlock(markdown: string, block: string): string {
  const start = markdown.indexOf(RESULTS_START)
  const end = markdown.indexOf(RESULTS_END)
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`the page needs ${RESULTS_START} then ${RESULTS_END} on their own lines`)
  }
  if (markdown.indexOf(RESULTS_START, start + 1) !== -1) {
    throw new Error(`${RESULTS_START} appears more than once`)
  }
  return `${markdown.slice(0, start + RESULTS_START.length)}\n${block.trim()}\n${markdown.slice(end)}`
}
