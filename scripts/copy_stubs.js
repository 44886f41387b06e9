// Copies stubs into the build so `stubsRoot` resolves from the published package.
import { cpSync } from 'node:fs'

cpSync('stubs', 'build/stubs', {
  recursive: true,
  filter: (source) => !source.endsWith('.ts'),
})
