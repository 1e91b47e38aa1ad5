/**
 * The signal one request runs under: the caller's signal and a timeout, released as soon as the
 * request settles. (`AbortSignal.timeout` fires, and builds an abort reason, even after the answer
 * came, and `AbortSignal.any` ties every request to a long-lived caller signal: a bot that sends
 * millions of requests would keep paying for both.)
 */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True when the timeout, not the caller, aborted the request. */
  readonly timedOut: boolean;
  /** The request settled: clear the timer and stop following the caller's signal. */
  dispose(): void;
}

export function deadline(timeoutMs: number, callerSignal: AbortSignal | undefined): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const follow = () => controller.abort(callerSignal?.reason);
  if (callerSignal?.aborted) follow();
  else callerSignal?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', follow);
    },
  };
}
