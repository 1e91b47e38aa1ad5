/**
 * The fault soak, bounded: concurrent sessions stream hostile Unicode through append() and pipe() into
 * one emulator while lost answers, dropped connections, 5xx bursts, 429 storms, 230020, interaction
 * locks, token revocations, requests slower than the client's timeout and clock jumps across the
 * streaming window come and go. `npm run soak` runs the same for longer.
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from './harness.js';
import { formatReport } from './report.js';

describe('fault soak', () => {
  it('under a seeded storm of faults every card ends exact and closed, and the engine never causes a rejection', { timeout: 150_000 }, async () => {
    const report = await runSoak({ seconds: 30, sessions: 10, seed: 20240601 });
    const text = formatReport(report);
    console.log(text);
    // Enough happened for the verdict to mean something.
    expect(report.figures.sessions.started).toBeGreaterThanOrEqual(10);
    expect(report.figures.sessions.aborted + report.figures.sessions.sourceFailed).toBeGreaterThan(0);
    expect(report.figures.chaos.jumps + report.figures.chaos.revocations + report.figures.chaos.locks).toBeGreaterThan(3);
    expect(report.breaches, text).toEqual([]);
  });
});
