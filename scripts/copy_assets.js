// Copies what tsc does not emit into the build: the stubs (so `stubsRoot`
// resolves from the published package) and the stand-in Hub the emulator
// serves (build/src/testing/hub/rph.js, next to the compiled emulator).
import { cpSync } from 'node:fs'

cpSync('stubs', 'build/stubs', {
  recursive: true,
  filter: (source) => !source.endsWith('.ts'),
})

cpSync('src/testing/hub', 'build/src/testing/hub', { recursive: true })
