import { assert } from '@japa/assert'
import { fileSystem } from '@japa/file-system'
import { configure, processCLIArgs, run } from '@japa/runner'

processCLIArgs(process.argv.splice(2))

configure({
  suites: [
    {
      name: 'unit',
      files: ['tests/client/**/*.spec.ts', 'tests/testing/**/*.spec.ts', 'tests/unit/**/*.spec.ts'],
    },
    { name: 'app', files: ['tests/app/**/*.spec.ts'] },
    { name: 'configure', files: ['tests/configure/**/*.spec.ts'] },
    { name: 'security', files: ['tests/security/**/*.spec.ts'] },
    // Fixture apps of the AdonisJS 7 starter kits, as real processes (tests/helpers/kit_app.ts)
    { name: 'kits', files: ['tests/kits/**/*.spec.ts'], timeout: 60_000 },
    // README and docs/ against the source and a tarball-installed starter kit (issue 19)
    { name: 'docs', files: ['tests/docs/**/*.spec.ts'], timeout: 60_000 },
  ],
  plugins: [assert(), fileSystem({ basePath: new URL('../tmp/fs/', import.meta.url) })],
  timeout: 30_000,
})

run()
