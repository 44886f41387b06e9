import env from '../start/env.ts'
import { defineConfig } from '@adonisjs/core/logger'

export default defineConfig({
  default: 'app',
  loggers: {
    app: {
      enabled: true,
      name: 'rownd-demo',
      level: env.get('LOG_LEVEL') ?? 'warn',
    },
  },
})
