/**
 * A store app from the command line (`--app-type store --tenant-keys …`): started as a real child process
 * through tsx, its ticket taken from the control route, its tokens from the store endpoints, stopped with SIGTERM.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let child: ChildProcessWithoutNullStreams | undefined;

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
  return (await res.json()) as Record<string, unknown>;
}

describe('feishu-emulator with a store app', () => {
  afterEach(() => {
    child?.kill('SIGTERM');
    child = undefined;
  });

  it('--app-type store --tenant-keys tk_a,tk_b: the app gets tenant tokens for those tenants only; --help lists both flags', async () => {
    const cli = spawn('node_modules/.bin/tsx', ['src/emulator/cli.ts', '--port', '0', '--app-id', 'cli_isv', '--app-secret', 's_isv', '--app-type', 'store', '--tenant-keys', 'tk_a, tk_b'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    child = cli;
    let stdout = '';
    let stderr = '';
    cli.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    cli.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const deadline = Date.now() + 15_000;
    let base: string | undefined;
    while (!(base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1])) {
      if (cli.exitCode !== null || Date.now() > deadline) throw new Error(`no URL on stdout; stderr: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }

    const pushed = await post(`${base}/_emulator/apps/cli_isv/app_ticket`, {});
    expect(pushed).toMatchObject({ app_id: 'cli_isv', delivery: { state: 'unsubscribed' } });
    const appToken = await post(`${base}/open-apis/auth/v3/app_access_token`, { app_id: 'cli_isv', app_secret: 's_isv', app_ticket: pushed.app_ticket });
    expect(appToken).toMatchObject({ code: 0, app_access_token: expect.stringMatching(/^a-/) as unknown });
    const forB = await post(`${base}/open-apis/auth/v3/tenant_access_token`, { app_access_token: appToken.app_access_token, tenant_key: 'tk_b' });
    expect(forB).toMatchObject({ code: 0, tenant_access_token: expect.stringMatching(/^t-/) as unknown });
    expect((await post(`${base}/open-apis/auth/v3/tenant_access_token`, { app_access_token: appToken.app_access_token, tenant_key: 'emulator_tenant' })).code).toBe(10013);
    expect((await post(`${base}/open-apis/auth/v3/tenant_access_token/internal`, { app_id: 'cli_isv', app_secret: 's_isv' })).code).toBe(10003);

    const help = spawn('node_modules/.bin/tsx', ['src/emulator/cli.ts', '--help'], { cwd: ROOT });
    let helpText = '';
    help.stdout.setEncoding('utf8').on('data', (chunk: string) => (helpText += chunk));
    await new Promise((resolve) => help.once('exit', resolve));
    expect(helpText).toContain('--app-type <type>');
    expect(helpText).toContain('--tenant-keys <list>');
  }, 30_000);
});
