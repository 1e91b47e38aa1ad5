/**
 * The emulator's command line (`feishu-emulator`, `npm run emulator` in a checkout): started as a real
 * child process through tsx, talked to over HTTP, stopped with SIGTERM.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as lark from '@larksuiteoapi/node-sdk';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = 'node_modules/.bin/tsx';
const CLI = 'src/emulator/cli.ts';

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcessWithoutNullStreams[] = [];

function runCli(args: string[]): Running {
  const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Waits until stdout shows the base URL the emulator listens on. */
async function baseUrl(cli: Running): Promise<string> {
  const deadline = AbortSignal.timeout(15_000);
  for (;;) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(cli.stdout());
    if (match) return match[1]!;
    if (cli.child.exitCode !== null) throw new Error(`CLI exited early (${cli.child.exitCode}): ${cli.stderr()}`);
    if (deadline.aborted) throw new Error(`no URL on stdout within 15 s; stdout: ${cli.stdout()} stderr: ${cli.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function tokenRequest(base: string, appId: string, appSecret: string) {
  return post(`${base}/open-apis/auth/v3/tenant_access_token/internal`, { app_id: appId, app_secret: appSecret });
}

const STREAMING_CARD = JSON.stringify({
  schema: '2.0',
  config: { streaming_mode: true },
  body: { elements: [{ tag: 'markdown', element_id: 'answer', content: '' }] },
});

afterEach(() => {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

describe('emulator CLI', () => {
  it('serves the app given by --app-id/--app-secret, applies --card-qps, and exits 0 on SIGTERM', async () => {
    const cli = runCli(['--port', '0', '--app-id', 'cli_t', '--app-secret', 's_t', '--card-qps', '3']);
    const base = await baseUrl(cli);
    expect(cli.stdout()).toContain('app id cli_t');

    const token = await tokenRequest(base, 'cli_t', 's_t');
    expect(token.body).toMatchObject({ code: 0, expire: 7200 });
    expect((await tokenRequest(base, 'cli_t', 'wrong')).body.code).toBe(10015);
    // The default app is not registered when --app-id names another.
    expect((await tokenRequest(base, 'cli_x', 's_x')).body.code).not.toBe(0);

    const tenantToken = token.body.tenant_access_token as string;
    const created = await post(`${base}/open-apis/cardkit/v1/cards`, { type: 'card_json', data: STREAMING_CARD }, tenantToken);
    const cardId = (created.body.data as { card_id: string }).card_id;
    // Four writes to one card at once: with --card-qps 3 exactly one is refused (the default, 10, would take all four).
    const writes = await Promise.all(
      [1, 2, 3, 4].map((sequence) =>
        fetch(`${base}/open-apis/cardkit/v1/cards/${cardId}/elements/answer/content`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tenantToken}` },
          body: JSON.stringify({ content: `text ${sequence}`, sequence: sequence * 10 }),
          signal: AbortSignal.timeout(5000),
        }).then(async (res) => ((await res.json()) as { code: number }).code),
      ),
    );
    expect(writes.filter((code) => code === 230020)).toHaveLength(1);

    // An open event stream must not keep the process alive after SIGTERM.
    const events = await fetch(`${base}/_emulator/events`);
    expect(events.status).toBe(200);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`${base}/_emulator/stats`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    await events.body?.cancel().catch(() => undefined);
  });

  it('--app-scopes declares the app\'s scopes: without cardkit:card:write, card create gets 99991672 and IM send still works', async () => {
    const cli = runCli(['--port', '0', '--app-scopes', 'im:message, im:message:update']);
    const base = await baseUrl(cli);
    const token = (await tokenRequest(base, 'cli_x', 's_x')).body.tenant_access_token as string;
    const created = await post(`${base}/open-apis/cardkit/v1/cards`, { type: 'card_json', data: STREAMING_CARD }, token);
    expect([created.status, created.body.code]).toEqual([400, 99991672]);
    const sent = await post(`${base}/open-apis/im/v1/messages?receive_id_type=chat_id`, { receive_id: 'oc_1', msg_type: 'interactive', content: STREAMING_CARD }, token);
    expect(sent.body.code).toBe(0);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('--event-url, --encrypt-key and --verification-token: a message posted in the p2p chat reaches the bot encrypted, as the SDK reads it', async () => {
    const received: Record<string, unknown>[] = [];
    const dispatcher = new lark.EventDispatcher({ encryptKey: 'cli-key', loggerLevel: lark.LoggerLevel.fatal }).register({
      'im.message.receive_v1': (data) => {
        received.push(data);
        return Promise.resolve();
      },
    });
    const handle = lark.adaptDefault('/events', dispatcher);
    const bot = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => bot.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(bot.address() as AddressInfo).port}/events`;
      const cli = runCli(['--port', '0', '--event-url', url, '--encrypt-key', 'cli-key', '--verification-token', 'vt_cli']);
      const base = await baseUrl(cli);
      const { chats } = (await (await fetch(`${base}/_emulator/chats`)).json()) as { chats: { chatId: string; type: string }[] };
      const chat = chats.find((c) => c.type === 'p2p')!;
      const posted = await post(`${base}/_emulator/chats/${chat.chatId}/messages`, { text: 'from the CLI' });
      expect(posted.status).toBe(200);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ token: 'vt_cli', message: { chat_id: chat.chatId, content: JSON.stringify({ text: 'from the CLI' }) } });
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
    } finally {
      await new Promise<void>((resolve) => bot.close(() => resolve()));
    }
  });

  it('--help names the command feishu-emulator, prints every flag and exits 0', async () => {
    const cli = runCli(['--help']);
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toContain('Usage: feishu-emulator [options]');
    expect(cli.stdout()).not.toContain('npm run');
    for (const flag of ['--host', '--port', '--app-id', '--app-secret', '--app-scopes', '--event-url', '--verification-token', '--encrypt-key', '--streaming-timeout-ms', '--token-lifetime-sec', '--api-qps', '--api-qpm', '--card-qps', '--clock-speed', '--table-limit', '--table-limit-per', '--help']) {
      expect(cli.stdout()).toContain(flag);
    }
    expect(cli.stdout()).not.toContain('listening on');
  });

  it('a flag value that is not a number (--port abc) exits non-zero with a message naming the flag', async () => {
    const cli = runCli(['--port', 'abc']);
    const { code } = await cli.exited;
    expect(code).not.toBe(0);
    expect(cli.stderr()).toMatch(/--port needs a number/);
    expect(cli.stdout()).not.toContain('listening on');
  });

  it('an unknown flag exits non-zero with a message naming it', async () => {
    const cli = runCli(['--bogus']);
    const { code } = await cli.exited;
    expect(code).not.toBe(0);
    expect(cli.stderr()).toContain('--bogus');
  });

  it('a number the emulator refuses (--card-qps 0) exits non-zero with the option named', async () => {
    const cli = runCli(['--port', '0', '--card-qps', '0']);
    const { code } = await cli.exited;
    expect(code).not.toBe(0);
    expect(cli.stderr()).toMatch(/cardQps/);
    expect(cli.stdout()).not.toContain('listening on');
  });
});
