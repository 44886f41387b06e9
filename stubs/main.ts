import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Where the configure hook's stubs live (inside the installed package) */
export const stubsRoot = dirname(fileURLToPath(import.meta.url))
