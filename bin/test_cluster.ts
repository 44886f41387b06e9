/**
 * The multi-process lane (`npm run test:cluster`): several test-app
 * processes sharing one private redis-server. Kept out of `npm test`
 * because it needs `redis-server` on the PATH.
 */
import { assert } from '@japa/assert'
import { configure, processCLIArgs, run } from '@japa/runner'

processCLIArgs(process.argv.splice(2))

configure({
  suites: [{ name: 'cluster', files: ['tests/cluster/**/*.spec.ts'], timeout: 90_000 }],
  plugins: [assert()],
  timeout: 90_000,
})

run()
