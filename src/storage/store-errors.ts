/**
 * A write broke a table's CHECK: for products, the counters' own guard (`reserved <= on_hand`,
 * nothing negative). Both stores keep that guard in the schema, so it holds however writes race.
 */
export function isCheckViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // SQLite's extended code, PostgreSQL's SQLSTATE check_violation.
  return code === 'SQLITE_CONSTRAINT_CHECK' || code === '23514';
}
