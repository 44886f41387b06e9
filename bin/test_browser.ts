/**
 * Browser end-to-end suite (`npm run test:browser`): drives the demo app in
 * examples/web with playwright-core and Debian's Chromium (/usr/bin/chromium,
 * or CHROMIUM_PATH). Screenshots go to screenshots/ (gitignored).
 */
import { assert } from '@japa/assert'
import { configure, processCLIArgs, run } from '@japa/runner'

processCLIArgs(process.argv.splice(2))

configure({
  suites: [{ name: 'browser', files: ['tests/browser/**/*.spec.ts'] }],
  plugins: [assert()],
  timeout: 60_000,
})

run()
