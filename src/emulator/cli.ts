#!/usr/bin/env node
/**
 * `feishu-emulator [flags]` (the package's bin; `npm run emulator -- [flags]` in a checkout): runs the
 * emulator in the foreground until Ctrl-C or SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startEmulator } from './emulator.js';
import type { EmulatorOptions } from './options.js';

const HELP = `Feishu CardKit emulator

Usage: feishu-emulator [options]

  --host <addr>                  interface to bind (default 127.0.0.1)
  --port <n>                     port, 0 for any free one (default 9000)
  --app-id <id>                  app id that may request tokens (default cli_x)
  --app-secret <secret>          that app's secret (default s_x)
  --app-scopes <list>            that app's scopes, comma-separated, e.g. im:message (default every scope);
                                 an API the app has no scope for answers 99991672
  --event-url <url>              where that app's events are POSTed (HTTP event subscription; no challenge
                                 at start, the bot may not be up yet); set later with PUT /_emulator/apps/:id/events
  --verification-token <token>   that app's Verification Token (default v_<app id>)
  --encrypt-key <key>            that app's Encrypt Key: events are pushed encrypted and signed
  --app-type <type>              custom (default) or store: a store app gets an app_ticket at its event URL
                                 and one tenant token per tenant (app_access_token, tenant_access_token)
  --tenant-keys <list>           the tenants the app is in, comma-separated (default emulator_tenant;
                                 a custom app is in exactly one)
  --streaming-timeout-ms <ms>    streaming mode closes this long after it was opened (default 600000)
  --token-lifetime-sec <s>       tenant token lifetime (default 7200)
  --api-qps <n>                  calls per second per API, app and tenant (default 50)
  --api-qpm <n>                  calls per minute per API, app and tenant (default 1000)
  --card-qps <n>                 operations per second per card (default 10)
  --clock-speed <x>              emulated clock speed relative to real time (default 1)
  --table-limit <n>              most markdown tables (default 4)
  --table-limit-per <unit>       what the table limit counts: markdown (per component, default) or card
  -h, --help                     show this help
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'app-id': { type: 'string' },
  'app-secret': { type: 'string' },
  'app-scopes': { type: 'string' },
  'event-url': { type: 'string' },
  'verification-token': { type: 'string' },
  'encrypt-key': { type: 'string' },
  'app-type': { type: 'string' },
  'tenant-keys': { type: 'string' },
  'streaming-timeout-ms': { type: 'string' },
  'token-lifetime-sec': { type: 'string' },
  'api-qps': { type: 'string' },
  'api-qpm': { type: 'string' },
  'card-qps': { type: 'string' },
  'clock-speed': { type: 'string' },
  'table-limit': { type: 'string' },
  'table-limit-per': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function numberFlag(values: Record<string, unknown>, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value)) throw new RangeError(`--${name} needs a number; received ${JSON.stringify(raw)}`);
  return value;
}

/** `a, b,c` to `['a', 'b', 'c']` (scopes, tenant keys); an empty list is an app with no scope. */
function scopeList(raw: string): string[] {
  return raw
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '');
}

function optionsFrom(argv: string[]): EmulatorOptions | null {
  const { values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  if (values.help) return null;
  const limits = {
    apiQps: numberFlag(values, 'api-qps'),
    apiQpm: numberFlag(values, 'api-qpm'),
    cardQps: numberFlag(values, 'card-qps'),
  };
  return {
    host: values.host ?? '127.0.0.1',
    port: numberFlag(values, 'port') ?? 9000,
    apps: [
      {
        appId: values['app-id'] ?? 'cli_x',
        appSecret: values['app-secret'] ?? 's_x',
        ...(values['app-scopes'] === undefined ? {} : { scopes: scopeList(values['app-scopes']) }),
        ...(values['event-url'] === undefined ? {} : { eventUrl: values['event-url'] }),
        ...(values['verification-token'] === undefined ? {} : { verificationToken: values['verification-token'] }),
        ...(values['encrypt-key'] === undefined ? {} : { encryptKey: values['encrypt-key'] }),
        ...(values['app-type'] === undefined ? {} : { type: values['app-type'] as 'custom' | 'store' }),
        ...(values['tenant-keys'] === undefined ? {} : { tenantKeys: scopeList(values['tenant-keys']) }),
      },
    ],
    streamingTimeoutMs: numberFlag(values, 'streaming-timeout-ms'),
    tokenLifetimeSec: numberFlag(values, 'token-lifetime-sec'),
    clockSpeed: numberFlag(values, 'clock-speed'),
    limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    tableLimit: {
      max: numberFlag(values, 'table-limit'),
      per: values['table-limit-per'] as 'markdown' | 'card' | undefined,
    },
  };
}

async function main(): Promise<void> {
  let options: EmulatorOptions | null;
  try {
    options = optionsFrom(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (options === null) {
    process.stdout.write(HELP);
    return;
  }
  const emulator = await startEmulator(options);
  // One write, so a process reading the first line also has the second.
  process.stdout.write(
    `Feishu emulator listening on ${emulator.url}\n  app id ${emulator.options.apps[0]!.appId}; live preview at ${emulator.url}/_emulator/preview; JSON at ${emulator.url}/_emulator/cards\n`,
  );
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
