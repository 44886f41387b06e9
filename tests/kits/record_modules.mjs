/**
 * Preloaded with `--import` (NODE_OPTIONS) into a kit app's server: appends
 * the URL of every module the process loads to the file named by
 * RECORD_MODULES, one per line, as it is loaded.
 */
import { appendFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const log = process.env.RECORD_MODULES
if (log) {
  registerHooks({
    load(url, context, nextLoad) {
      appendFileSync(log, `${url}\n`)
      return nextLoad(url, context)
    },
  })
}
