/**
 * `npm run soak -- --seconds N --sessions M --seed S [--speed X] [--json]`: the fault soak for longer than
 * the test runs it. Prints the figures and every breach; exits 1 when an invariant broke, 2 on bad flags.
 */
import { parseArgs } from 'node:util';
import { runSoak } from './harness.js';
import { formatReport } from './report.js';

const USAGE = 'usage: npm run soak -- [--seconds 120] [--sessions 12] [--seed 1] [--speed 1] [--timeout-ms 1000] [--json]';

function positive(name: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be a ${integer ? 'positive integer' : 'number above 0'}; received ${JSON.stringify(raw)}`);
  }
  return value;
}

export async function main(argv: string[]): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        seconds: { type: 'string' },
        sessions: { type: 'string' },
        seed: { type: 'string' },
        speed: { type: 'string' },
        'timeout-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    const seed = values.seed === undefined ? 1 : Number(values.seed);
    if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer; received ${JSON.stringify(values.seed)}`);
    options = {
      seconds: positive('seconds', values.seconds, 120, false),
      sessions: positive('sessions', values.sessions, 12, true),
      seed,
      speed: positive('speed', values.speed, 1, false),
      timeoutMs: positive('timeout-ms', values['timeout-ms'], 1000, true),
      json: values.json ?? false,
    };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const { json, ...soak } = options;
  const report = await runSoak({ ...soak, log: json ? undefined : (line) => console.log(line) });
  console.log(json ? JSON.stringify(report) : formatReport(report));
  return report.ok ? 0 : 1;
}
