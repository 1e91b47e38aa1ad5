/**
 * The logger hook (issue 13): nothing is logged unless a logger is set; a pino-shaped logger hears of
 * sessions, retries, rate limits, refusals and re-opens; no app secret or token ever reaches it (nor a
 * span), even when it comes through a source's error or a server's message.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { observers } from '../../src/observe/hub.js';
import { type Logger, setLogger } from '../../src/observe/index.js';
import { CardSession } from '../../src/session/index.js';
import { clientFor } from '../support/client.js';
import { useEmulator } from '../support/emulator-http.js';
import { FAST_RETRY, paced, record, waitFor } from '../support/session.js';
import { type Telemetry, telemetry } from './support.js';

const CONTENT = 'cardkit.cardElement.content';
const SECRET = 'S3cr3t-0f-the-app-9f8e7d';
const APP = { appId: 'cli_obs', appSecret: SECRET };

interface Line {
  level: keyof Logger;
  fields: Record<string, unknown>;
  message: string;
}

function memoryLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: keyof Logger) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

const events = (lines: Line[]) => lines.map((line) => `${line.level} ${String(line.fields.event)}`);

describe('the logger hook', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started), { apps: [APP] });
  let tel: Telemetry | undefined;
  afterEach(async () => {
    setLogger(undefined);
    await tel?.stop();
    tel = undefined;
  });

  it('logs nothing by default, and no observer runs: a failing write, a retry and a failing source print nothing', async () => {
    const printed = [
      ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) => vi.spyOn(console, method)),
      vi.spyOn(process.stdout, 'write'),
      vi.spyOn(process.stderr, 'write'),
    ];
    try {
      expect(observers).toEqual([]);
      emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 1500, httpStatus: 500, count: 1 });
      const session = await CardSession.start(clientFor(emulator, APP).client, { to: { chat_id: 'oc_a' }, retry: FAST_RETRY });
      const recorded = record(session);
      await expect(session.pipe(paced(['a ', 'b '], 5, new Error('the model failed')))).rejects.toThrow('the model failed');
      expect(recorded.retry).toHaveLength(1);
      for (const spy of printed) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of printed) spy.mockRestore();
    }
  });

  it('hears of sessions opened and ended, retries, rate limits, re-opens and refusals, with codes and log ids', { timeout: 20_000 }, async () => {
    const logger = memoryLogger();
    setLogger(logger);
    const client = clientFor(emulator, APP).client;
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 1500, httpStatus: 500, count: 1 });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 99991400, headers: { 'x-ogw-ratelimit-reset': '0' }, count: 1 });
    const session = await CardSession.start(client, { to: { chat_id: 'oc_a' }, retry: FAST_RETRY });
    const recorded = record(session);
    session.append('Before the gap. ');
    await waitFor(() => recorded.flush.length === 1, 'the first write');
    emulator.clock.advance(600_000); // the window expired: 200850, then a re-open
    session.append('After the gap.');
    const result = await session.finish();
    await Promise.resolve();

    expect(events(logger.lines)).toEqual([
      'debug session_opened',
      'warn write_retried',
      'warn rate_limited',
      'info streaming_closed',
      'info streaming_reopened',
      'info session_ended',
    ]);
    const [opened, retried, limited, , reopened, ended] = logger.lines;
    expect(opened!.fields).toMatchObject({ transport: 'cardkit', cardId: session.cardId, messageId: session.messageId });
    expect(retried!.fields).toMatchObject({ api: CONTENT, cardId: session.cardId, code: '1500', attempt: 1, logId: (recorded.retry[0]!.error as { logId?: string }).logId });
    expect(retried!.fields.logId).toMatch(/\S/);
    expect(limited!.fields).toMatchObject({ api: CONTENT, code: '99991400' });
    expect(reopened!.fields).toMatchObject({ reason: 'expired', sequence: recorded.reopen[0]!.sequence });
    expect(ended!.fields).toMatchObject({ state: 'finished', writes: result.writes, retries: result.retries, reopens: 1, cards: 1, aborted: false });
    expect(ended!.message).toBe('card session finished');

    // A write refused for good (the card is gone): an error, and the session's failure.
    logger.lines.length = 0;
    const doomed = await CardSession.start(client, { retry: FAST_RETRY });
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 200740, count: 1 });
    doomed.append('lost');
    await expect(doomed.finish()).rejects.toMatchObject({ code: 200740 });
    await waitFor(() => logger.lines.some((line) => line.fields.event === 'session_ended'), 'the end of the failed session');
    expect(events(logger.lines)).toEqual(['debug session_opened', 'error write_failed', 'error session_ended']);
    expect(logger.lines[1]!.fields).toMatchObject({ code: '200740', err: { type: 'FeishuApiError', kind: 'api', code: 200740 } });
    expect(logger.lines[2]!.fields).toMatchObject({ state: 'failed', err: { code: 200740 } });

    // setLogger(undefined): nothing more.
    setLogger(undefined);
    logger.lines.length = 0;
    const quiet = await CardSession.start(client, {});
    quiet.append('quiet');
    await quiet.finish();
    expect(logger.lines).toEqual([]);
    expect(observers).toEqual([]);
  });

  it('no app secret or token reaches a log line or a span, from a source’s error, an abort reason or a server’s message', { timeout: 20_000 }, async () => {
    const logger = memoryLogger();
    setLogger(logger);
    tel = telemetry();
    const client = clientFor(emulator, APP).client;
    const token = await client.tenantAccessToken();
    const leak = `app secret ${SECRET}, token ${token}`;
    // The server quotes them in its message; the source fails quoting them; an abort gives them as the reason.
    emulator.faults.add({ kind: 'fail', endpoint: CONTENT, code: 1500, httpStatus: 500, msg: `internal error: ${leak}`, count: 1 });
    const failing = await CardSession.start(client, { to: { chat_id: 'oc_a' }, retry: FAST_RETRY });
    await expect(failing.pipe(paced(['some ', 'text '], 20, new Error(`upstream refused: ${leak}`)))).rejects.toThrow(SECRET);
    const aborted = await CardSession.start(client, { to: { chat_id: 'oc_b' } });
    aborted.append('half');
    await aborted.abort(`operator said: ${leak}`);
    await waitFor(() => logger.lines.filter((line) => line.fields.event === 'session_ended').length === 2, 'both ends');

    const logged = JSON.stringify(logger.lines);
    const spans = JSON.stringify(tel.spans().map((span) => ({ attributes: span.attributes, status: span.status, events: span.events })));
    for (const text of [logged, spans]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(token);
    }
    const retried = logger.lines.find((line) => line.fields.event === 'write_retried')!;
    expect(retried.fields.err).toMatchObject({ message: expect.stringContaining('app secret [redacted], token [redacted]') as string });
    const ends = logger.lines.filter((line) => line.fields.event === 'session_ended');
    expect(ends.map((line) => line.fields.abortReason)).toEqual([
      { type: 'Error', message: 'upstream refused: app secret [redacted], token [redacted]' },
      'operator said: app secret [redacted], token [redacted]',
    ]);
    expect(spans).toContain('operator said: app secret [redacted], token [redacted]');
  });

  it('refuses what is not a logger, naming the missing method', () => {
    expect(() => setLogger({ debug: () => undefined, info: () => undefined, warn: () => undefined } as unknown as Logger)).toThrow(
      new TypeError('setLogger(): logger.error must be a function; received undefined'),
    );
    expect(() => setLogger('console' as unknown as Logger)).toThrow(TypeError);
    expect(observers).toEqual([]);
  });
});
