/**
 * Whether a database error is a unique-constraint violation, by driver
 * error code (never by message text, which varies with locale and version):
 * PostgreSQL SQLSTATE 23505, MySQL/MariaDB ER_DUP_ENTRY (1062), SQLite
 * SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY (extended codes 2067 / 1555).
 */
export function isUniqueViolation(error: unknown): boolean {
  let current = error as { code?: unknown; errno?: unknown; cause?: unknown } | undefined
  for (let depth = 0; current && depth < 4; depth++) {
    const { code, errno } = current
    if (code === '23505' || code === 'ER_DUP_ENTRY' || errno === 1062) return true
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true
    if (errno === 2067 || errno === 1555) return true
    current = current.cause as typeof current
  }
  return false
}
