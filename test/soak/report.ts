/** The soak's figures and breaches as text for a terminal. */
import type { SoakReport } from './harness.js';

function table(record: Record<string, number>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ×${v}`).join(' · ');
}

export function formatReport(report: SoakReport): string {
  const f = report.figures;
  const s = f.sessions;
  const lines = [
    `soak seed ${f.seed}: ${f.concurrency} sessions at once for ${f.seconds} s, ${f.wallSeconds} s wall`,
    `  sessions     ${s.started} started · ${s.finished} finished · ${s.aborted} aborted · ${s.sourceFailed} failing sources · ${s.failed} failed · ${s.startFailed} start failed · ${s.hung} hung`,
    `  modes        ${table(f.byMode)}`,
    `  text         ${f.text.deltas} deltas, ${f.text.units} UTF-16 units accepted`,
    `  writes       ${f.writes.accepted} accepted · ${Object.entries(f.writes.byEndpoint).map(([e, n]) => `${e.replace(/^cardkit\./, '')} ${n.accepted}/${n.rejected}`).join(' · ')} (accepted/rejected)`,
    `  retries      ${f.retries} · re-opens ${f.reopens.scheduled} scheduled, ${f.reopens.expired} after expiry`,
    `  faults       ${Object.entries(f.faults).map(([k, v]) => `${k} ${v.faults} (${v.used}/${v.units} used)`).join(' · ')}`,
    `  chaos        ${f.chaos.jumps} clock jumps (+${f.chaos.jumpedMinutes} min) · ${f.chaos.revocations} revocations (${f.chaos.doubleRevocations} doubled) · ${f.chaos.locks} interaction locks`,
    `  requests     ${f.requests.total} · ${f.requests.zombies} given up by the client (${table(f.requests.zombiesByEndpoint)}) · ${f.requests.networkErrors} network errors`,
    `  rejections   injected: ${table(f.rejections.injected)}`,
    `               excused:  ${table(f.rejections.excused)}`,
    `               engine:   ${table(f.rejections.engine)}`,
    `  orphan cards ${f.orphanCards.excused} from lost create answers · ${f.orphanCards.abandoned} abandoned by a failed start`,
    `  unhandled    ${f.unhandledRejections}`,
  ];
  for (const note of f.excusedFailures) lines.push(`  excused      ${note}`);
  if (report.ok) lines.push('✓ every invariant held');
  else {
    lines.push(`✗ ${report.breaches.length} invariant breaches (seed ${f.seed}):`);
    for (const b of report.breaches) {
      lines.push(`  - [${b.invariant}]${b.session ? ` session ${b.session}` : ''}${b.cardId ? ` card ${b.cardId}` : ''}: ${b.detail}`);
    }
  }
  return lines.join('\n');
}
