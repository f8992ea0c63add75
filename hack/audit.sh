#!/usr/bin/env bash
# Dependency audit of what ships: `npm audit --omit=dev`, failing on any high or critical
# advisory that is not on the allow-list below.
#
#   hack/audit.sh            exit 0: no high/critical advisory outside the allow-list
#                            exit 1: at least one (listed with package, advisory, path)
#                            exit 2: the audit could not be made (advisory service unreachable
#                                    or refusing): never reported as a pass
#
# Allow-list: one advisory id per entry with the reason it does not apply to etaops, e.g.
#   "GHSA-xxxx-xxxx-xxxx  only reachable through feature X, which etaops never calls"
# Keep it short; remove an entry as soon as a fixed version can be taken.
set -euo pipefail
cd "$(dirname "$0")/.."

ALLOW=(
)

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
# npm exits non-zero both for findings and for failures: the JSON tells them apart.
npm audit --omit=dev --json >"$out" 2>/dev/null || true

ALLOW_IDS="$(printf '%s\n' "${ALLOW[@]+"${ALLOW[@]}"}" | awk 'NF {print $1}')" node --input-type=module - "$out" <<'EOF'
import { readFileSync } from 'node:fs';

const allowed = new Set((process.env.ALLOW_IDS ?? '').split('\n').filter(Boolean));
let report;
try {
  report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch {
  console.error('audit: npm audit printed no JSON report: the audit could not be made');
  process.exit(2);
}
if (!report.vulnerabilities) {
  const why = report.message ?? report.error?.summary ?? 'no vulnerabilities section in the report';
  console.error(`audit: could not be made: ${why}`);
  console.error('audit: the registry must answer npm\'s advisory queries (POST .../-/npm/v1/security/advisories/bulk)');
  process.exit(2);
}
const SERIOUS = new Set(['high', 'critical']);
const findings = new Map();
for (const [pkg, v] of Object.entries(report.vulnerabilities)) {
  for (const via of v.via ?? []) {
    if (typeof via !== 'object' || !SERIOUS.has(via.severity)) continue;
    const id = /GHSA-[\w-]+/.exec(via.url ?? '')?.[0] ?? String(via.source);
    const key = `${id} ${via.name}`;
    if (!findings.has(key)) findings.set(key, { id, pkg: via.name, severity: via.severity, title: via.title, range: via.range, through: new Set() });
    findings.get(key).through.add(pkg);
  }
}
const counts = report.metadata?.vulnerabilities ?? {};
console.log(`audit: production dependencies: ${report.metadata?.dependencies?.prod ?? '?'}; advisories by severity: ${JSON.stringify(counts)}`);
let failing = 0;
for (const f of [...findings.values()].sort((a, b) => a.id.localeCompare(b.id))) {
  const ok = allowed.has(f.id);
  if (!ok) failing++;
  console.log(`${ok ? 'allowed' : 'FAIL   '} ${f.severity.padEnd(8)} ${f.id} ${f.pkg} ${f.range}: ${f.title} (via ${[...f.through].join(', ')})`);
}
for (const id of allowed) {
  if (![...findings.values()].some((f) => f.id === id)) console.log(`audit: allow-list entry ${id} no longer matches anything: remove it`);
}
console.log(failing === 0 ? 'audit: passed (no high or critical advisory outside the allow-list)' : `audit: FAILED: ${failing} high/critical advisories`);
process.exit(failing === 0 ? 0 : 1);
EOF
