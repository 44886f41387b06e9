import { Env } from '@adonisjs/core/env'

export default await Env.create(new URL('../', import.meta.url), {
  NODE_ENV: Env.schema.enum.optional(['development', 'production', 'test'] as const),
  PORT: Env.schema.number.optional(),
  HOST: Env.schema.string.optional({ format: 'host' }),
  APP_KEY: Env.schema.string(),
  LOG_LEVEL: Env.schema.string.optional(),
  SQLITE_FILE: Env.schema.string.optional(),

  /*
  |----------------------------------------------------------
  | Variables for configuring rownd-adonis
  |----------------------------------------------------------
  */
  ROWND_APP_KEY: Env.schema.string(),
  ROWND_APP_SECRET: Env.schema.string(),
  ROWND_API_URL: Env.schema.string.optional({ format: 'url', tld: false }),
  /** Where the Hub is loaded from and the API URL it talks to (bin/demo.ts sets them for the emulator) */
  ROWND_HUB_BASE_URL: Env.schema.string.optional({ format: 'url', tld: false }),
  ROWND_HUB_API_URL: Env.schema.string.optional({ format: 'url', tld: false }),
})
