/** SQLite extended result codes SQLITE_CONSTRAINT_UNIQUE and _PRIMARYKEY */
const SQLITE_UNIQUE_CODES = new Set([2067, 1555])

/**
 * Whether a database error is a unique-constraint violation, by driver
 * error code (never by message text, which varies with locale and version):
 * PostgreSQL SQLSTATE 23505 (pg), MySQL/MariaDB ER_DUP_ENTRY 1062 (mysql2),
 * SQLite SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY (better-sqlite3 and sqlite3
 * name them in `code`; node:sqlite gives the extended code in `errcode`).
 * Numeric codes are only trusted next to the driver's own code, so another
 * driver's unrelated error number cannot match. Follows `cause` a few levels.
 */
export function isUniqueViolation(error: unknown): boolean {
  let current = error as
    { code?: unknown; errno?: unknown; errcode?: unknown; cause?: unknown } | undefined
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    const { code, errno, errcode } = current
    if (code === '23505' || code === 'ER_DUP_ENTRY') return true
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true
    // sqlite3 reports the primary code in `code` and the extended one in `errno`
    if (code === 'SQLITE_CONSTRAINT' && SQLITE_UNIQUE_CODES.has(errno as number)) return true
    if (code === 'ERR_SQLITE_ERROR' && SQLITE_UNIQUE_CODES.has(errcode as number)) return true
    current = current.cause as typeof current
  }
  return false
}

/** Walks an error and its `cause` chain (drivers and knex wrap errors) */
function* causes(error: unknown) {
  let current = error as Record<string, unknown> | undefined
  for (let depth = 0; current && typeof current === 'object' && depth < 4; depth++) {
    yield current
    current = current.cause as typeof current
  }
}

/**
 * When a database error is a NOT NULL violation, the column it names (or
 * `null` when the driver does not say); `undefined` for any other error.
 * By driver code: PostgreSQL 23502, MySQL/MariaDB ER_BAD_NULL_ERROR and
 * ER_NO_DEFAULT_FOR_FIELD (strict mode, column left out), SQLite
 * SQLITE_CONSTRAINT_NOTNULL (1299). The column is read from the driver's
 * field or message for the error text only, never for a decision.
 */
export function notNullViolation(error: unknown): string | null | undefined {
  for (const current of causes(error)) {
    const { code, errno, errcode, column } = current
    const message = typeof current.message === 'string' ? current.message : ''
    if (code === '23502') return typeof column === 'string' ? column : null
    if (code === 'ER_BAD_NULL_ERROR' || code === 'ER_NO_DEFAULT_FOR_FIELD') {
      // "Column 'email' cannot be null" / "Field 'email' doesn't have a default value"
      const text = typeof current.sqlMessage === 'string' ? current.sqlMessage : message
      return /(?:Column|Field) '([^']+)'/.exec(text)?.[1] ?? null
    }
    const sqlite =
      code === 'SQLITE_CONSTRAINT_NOTNULL' ||
      (code === 'SQLITE_CONSTRAINT' && errno === 1299) ||
      (code === 'ERR_SQLITE_ERROR' && errcode === 1299)
    if (sqlite) return /NOT NULL constraint failed: (?:\w+\.)?(\w+)/.exec(message)?.[1] ?? null
  }
  return undefined
}

/**
 * Whether a database error says a table does not exist (a migration not
 * run yet): PostgreSQL 42P01, MySQL/MariaDB ER_NO_SUCH_TABLE, SQLite's
 * generic SQLITE_ERROR whose message names it (it has no dedicated code).
 */
export function isMissingTable(error: unknown): boolean {
  for (const current of causes(error)) {
    const { code } = current
    if (code === '42P01' || code === 'ER_NO_SUCH_TABLE') return true
    const message = typeof current.message === 'string' ? current.message : ''
    if (
      (code === 'SQLITE_ERROR' || code === 'ERR_SQLITE_ERROR') &&
      message.includes('no such table')
    ) {
      return true
    }
  }
  return false
}
