// CI's dependency gate: `npm audit --omit=dev --audit-level=high`, failing on a high or critical
// advisory in production dependencies. When the advisory service itself cannot be asked (no
// network, or a registry mirror without the audit endpoint), it says so in one line and passes:
// an unreachable service is not a finding, and hiding that would be worse than saying it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type AuditVerdict =
  | { kind: 'clean'; counts: Record<string, number> }
  | { kind: 'vulnerable'; counts: Record<string, number>; packages: string[] }
  | { kind: 'unavailable'; reason: string };

interface AuditJson {
  statusCode?: number;
  message?: string;
  error?: { code?: string; summary?: string };
  metadata?: { vulnerabilities?: Record<string, number> };
  vulnerabilities?: Record<string, { severity?: string }>;
}

/** Reads `npm audit --json` output. */
export function judgeAudit(output: string): AuditVerdict {
  let parsed: AuditJson;
  try {
    parsed = JSON.parse(output) as AuditJson;
  } catch {
    return { kind: 'unavailable', reason: 'npm audit printed no JSON' };
  }
  const counts = parsed.metadata?.vulnerabilities;
  if (!counts) {
    const reason = parsed.message ?? parsed.error?.summary ?? parsed.error?.code ?? 'no report';
    return { kind: 'unavailable', reason: reason.split('\n')[0] as string };
  }
  const packages = Object.entries(parsed.vulnerabilities ?? {})
    .filter(([, v]) => v.severity === 'high' || v.severity === 'critical')
    .map(([name, v]) => `${name} (${v.severity})`);
  return (counts.high ?? 0) + (counts.critical ?? 0) > 0 ? { kind: 'vulnerable', counts, packages } : { kind: 'clean', counts };
}

function main(): number {
  const run = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { encoding: 'utf8', timeout: 120_000 });
  const verdict = judgeAudit(run.stdout ?? '');
  switch (verdict.kind) {
    case 'clean':
      process.stdout.write(`audit: no high or critical advisories in production dependencies (${JSON.stringify(verdict.counts)})\n`);
      return 0;
    case 'vulnerable':
      console.error(`audit: high or critical advisories in production dependencies: ${verdict.packages.join(', ')}`);
      return 1;
    case 'unavailable':
      process.stdout.write(`audit: skipped, the advisory service could not be asked (${verdict.reason}); run npm audit --omit=dev where it can\n`);
      return 0;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main();
