import type Configure from '@adonisjs/core/commands/configure'

/** Options of the hook, all settable with flags so it runs without a TTY */
export interface ConfigureOptions {
  apiOnly: boolean
  table: string
  createTable: boolean
  force: boolean
  /** Also write a migration making the users table's email nullable (phone-only users) */
  nullableEmail: boolean
  /** Set up the webhook route: a secret in .env, CSRF exception, routes in API-only apps */
  webhooks: boolean
  appKey?: string
  appSecret?: string
  apiUrl?: string
}

function flag(flags: Record<string, unknown>, name: string): unknown {
  const camel = name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())
  return flags[name] ?? flags[camel]
}

function stringFlag(flags: Record<string, unknown>, name: string): string | undefined {
  const value = flag(flags, name)
  if (value === undefined || value === null || typeof value === 'boolean') return undefined
  return String(value)
}

function booleanFlag(flags: Record<string, unknown>, name: string): boolean {
  const value = flag(flags, name)
  return value === true || value === 'true' || value === ''
}

/** Reads the flags `node ace configure rownd-adonis` passes through */
export function readOptions(command: Configure): ConfigureOptions {
  const flags = command.parsedFlags as Record<string, unknown>
  return {
    apiOnly: booleanFlag(flags, 'api-only'),
    table: stringFlag(flags, 'table') ?? 'users',
    createTable: booleanFlag(flags, 'create-table'),
    force: command.force === true || booleanFlag(flags, 'force'),
    nullableEmail: booleanFlag(flags, 'nullable-email'),
    webhooks: booleanFlag(flags, 'webhooks'),
    appKey: stringFlag(flags, 'app-key'),
    appSecret: stringFlag(flags, 'app-secret'),
    apiUrl: stringFlag(flags, 'api-url'),
  }
}
