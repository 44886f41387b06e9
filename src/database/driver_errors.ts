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
