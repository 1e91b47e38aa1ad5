import { validateHeaderName, validateHeaderValue } from 'node:http';

/**
 * Fault injection: what a test asks the emulator to do wrong, per endpoint name (or `*` for every
 * API). Latency delays a request before it is handled; `drop` closes the connection without
 * handling it; `lose_response` handles it (the write applies) and then closes the connection without
 * answering; `fail` answers a chosen error without handling it.
 */
export type FaultKind = 'latency' | 'drop' | 'lose_response' | 'fail';

export interface FaultSpec {
  kind: FaultKind;
  /** Endpoint name such as `cardkit.cardElement.content`, or `*` (the default) for every API endpoint. */
  endpoint?: string;
  /** How many matching requests the fault affects. Default 1, except latency: every request until cleared. */
  count?: number;
  /** latency: delay in ms, or the low end of a random range when `latencyMaxMs` is set. */
  latencyMs?: number;
  /** latency: high end of a random range (inclusive). */
  latencyMaxMs?: number;
  /** fail: the platform code to answer. Default 300120 (server internal error, retry later). */
  code?: number;
  /** fail: HTTP status. Default 400, or 429 for 99991400. */
  httpStatus?: number;
  /** fail: message. Default the platform's text for the code. */
  msg?: string;
  /** fail: extra response headers, e.g. `x-ogw-ratelimit-reset`. */
  headers?: Record<string, string>;
}

export interface ActiveFault extends Required<Pick<FaultSpec, 'kind' | 'endpoint'>> {
  id: number;
  spec: FaultSpec;
  /** Requests still to affect; Infinity for an unbounded latency fault. */
  remaining: number;
}

export type FaultAction =
  | { kind: 'none' }
  | { kind: 'drop' }
  | { kind: 'lose_response' }
  | { kind: 'fail'; code: number; httpStatus: number; msg: string | undefined; headers: Record<string, string> };

export interface FaultPlan {
  delayMs: number;
  action: FaultAction;
}

const KINDS = new Set<FaultKind>(['latency', 'drop', 'lose_response', 'fail']);

export class Faults {
  #next = 1;
  #active: ActiveFault[] = [];

  /** @param endpoints the endpoint names a fault may name, besides `*` */
  constructor(private readonly endpoints: readonly string[]) {}

  add(spec: FaultSpec): ActiveFault {
    const checked = validate(spec, this.endpoints);
    const fault: ActiveFault = {
      id: this.#next++,
      kind: checked.kind,
      endpoint: checked.endpoint ?? '*',
      spec: checked,
      remaining: checked.count ?? (checked.kind === 'latency' ? Number.POSITIVE_INFINITY : 1),
    };
    this.#active.push(fault);
    return fault;
  }

  list(): ActiveFault[] {
    return this.#active.map((f) => ({ ...f }));
  }

  clear(): void {
    this.#active = [];
  }

  /** Decides what happens to one request to `endpoint`, consuming the faults it uses. */
  plan(endpoint: string): FaultPlan {
    const matches = (f: ActiveFault) => f.remaining > 0 && (f.endpoint === '*' || f.endpoint === endpoint);
    const latency = this.#active.find((f) => f.kind === 'latency' && matches(f));
    const other = this.#active.find((f) => f.kind !== 'latency' && matches(f));
    for (const used of [latency, other]) if (used) used.remaining--;
    this.#active = this.#active.filter((f) => f.remaining > 0);
    return { delayMs: latency ? delayOf(latency.spec) : 0, action: actionOf(other?.spec) };
  }
}

function delayOf(spec: FaultSpec): number {
  const low = spec.latencyMs ?? 0;
  const high = spec.latencyMaxMs ?? low;
  return low + Math.random() * (high - low);
}

function actionOf(spec: FaultSpec | undefined): FaultAction {
  if (!spec) return { kind: 'none' };
  if (spec.kind !== 'fail') return { kind: spec.kind as 'drop' | 'lose_response' };
  const code = spec.code ?? 300120;
  return {
    kind: 'fail',
    code,
    httpStatus: spec.httpStatus ?? (code === 99991400 ? 429 : 400),
    msg: spec.msg,
    headers: spec.headers ?? {},
  };
}

function validate(spec: FaultSpec, endpoints: readonly string[]): FaultSpec {
  if (typeof spec !== 'object' || spec === null || !KINDS.has(spec.kind)) {
    throw new TypeError(`fault.kind must be one of ${[...KINDS].join(', ')}; received ${JSON.stringify(spec?.kind)}`);
  }
  if (spec.endpoint !== undefined && spec.endpoint !== '*' && !endpoints.includes(spec.endpoint)) {
    throw new TypeError(`fault.endpoint must be "*" or one of ${endpoints.join(', ')}; received ${JSON.stringify(spec.endpoint)}`);
  }
  if (spec.count !== undefined && (!Number.isInteger(spec.count) || spec.count < 1)) {
    throw new RangeError(`fault.count must be a positive integer; received ${String(spec.count)}`);
  }
  if (spec.kind === 'latency') {
    const { latencyMs, latencyMaxMs } = spec;
    if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
      throw new RangeError('fault.latencyMs must be a finite number >= 0');
    }
    if (latencyMaxMs !== undefined && (typeof latencyMaxMs !== 'number' || !(latencyMaxMs >= latencyMs))) {
      throw new RangeError('fault.latencyMaxMs must be a number >= latencyMs');
    }
  }
  if (spec.kind === 'fail') {
    if (spec.code !== undefined && (!Number.isInteger(spec.code) || spec.code === 0)) {
      throw new RangeError('fault.code must be a non-zero integer');
    }
    if (spec.httpStatus !== undefined && (!Number.isInteger(spec.httpStatus) || spec.httpStatus < 200 || spec.httpStatus > 599)) {
      throw new RangeError('fault.httpStatus must be an HTTP status 200..599');
    }
    if (spec.msg !== undefined && typeof spec.msg !== 'string') throw new TypeError('fault.msg must be a string');
    if (spec.headers !== undefined) {
      if (typeof spec.headers !== 'object' || spec.headers === null) throw new TypeError('fault.headers must be an object');
      for (const [name, value] of Object.entries(spec.headers)) {
        validateHeaderName(name);
        if (typeof value !== 'string') throw new TypeError(`fault.headers.${name} must be a string`);
        validateHeaderValue(name, value);
      }
    }
  }
  return { ...spec };
}
