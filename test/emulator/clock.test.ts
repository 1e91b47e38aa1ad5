/**
 * The emulator clock's timers: they fire on emulated time, follow speed changes and jumps, and never keep
 * the process alive. Most rules run on faked real time (setTimeout and performance.now), so "after one real
 * second" is exact; the last ones run on real timers through a started emulator's `clock` handle.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmulatorClock } from '../../src/emulator/clock.js';
import { startEmulator } from '../../src/emulator/index.js';

/** The shape the library declares for a pluggable clock; the emulator's handle must fit it. */
interface Clock {
  now(): number;
  timer(ms: number, callback: () => void): () => void;
}

function fakeRealTime(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('EmulatorClock.timer on faked real time', () => {
  it('at speed 60 a 60 s timer fires after 1 s of real time, not before', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ speed: 60, start: 0 });
    const fired: number[] = [];
    clock.timer(60_000, () => fired.push(clock.now()));
    vi.advanceTimersByTime(999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(60_000);
  });

  it('advance() fires every timer it makes due, in due order, before it returns; later ones keep waiting', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ start: 0 });
    const fired: string[] = [];
    clock.timer(3000, () => fired.push('3s'));
    clock.timer(1000, () => fired.push('1s'));
    clock.timer(2000, () => fired.push('2s'));
    clock.timer(10_000, () => fired.push('10s'));
    clock.advance(5000);
    expect(fired).toEqual(['1s', '2s', '3s']);
    vi.advanceTimersByTime(4999);
    expect(fired).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['1s', '2s', '3s', '10s']);
  });

  it('a timer fires once only', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ start: 0 });
    const callback = vi.fn();
    clock.timer(100, callback);
    vi.advanceTimersByTime(100);
    clock.advance(1000);
    vi.advanceTimersByTime(10_000);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('the returned function cancels the timer, against both real time and advance(); cancelling twice or late is harmless', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ start: 0 });
    const cancelled = vi.fn();
    const kept = vi.fn();
    const cancel = clock.timer(1000, cancelled);
    const cancelKept = clock.timer(1000, kept);
    cancel();
    cancel();
    vi.advanceTimersByTime(1000);
    clock.advance(5000);
    expect(cancelled).not.toHaveBeenCalled();
    expect(kept).toHaveBeenCalledTimes(1);
    cancelKept();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a callback that cancels a timer due in the same advance() stops it', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ start: 0 });
    const second = vi.fn();
    let cancelSecond = () => {};
    clock.timer(10, () => cancelSecond());
    cancelSecond = clock.timer(20, second);
    clock.advance(100);
    expect(second).not.toHaveBeenCalled();
  });

  it('setSpeed reschedules pending timers: faster brings them forward, slower pushes them back', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ start: 0 });
    const fast = vi.fn();
    clock.timer(60_000, fast);
    vi.advanceTimersByTime(30_000);
    clock.setSpeed(30); // 30 s of emulated time left: one real second at speed 30
    vi.advanceTimersByTime(999);
    expect(fast).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fast).toHaveBeenCalledTimes(1);

    const slow = vi.fn();
    clock.setSpeed(1);
    clock.timer(1000, slow);
    clock.setSpeed(0.5); // one emulated second now takes two real seconds
    vi.advanceTimersByTime(1999);
    expect(slow).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(slow).toHaveBeenCalledTimes(1);
  });

  it('a timer of 0 ms fires on the next real timer turn, not synchronously', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ start: 0 });
    const callback = vi.fn();
    clock.timer(0, callback);
    expect(callback).not.toHaveBeenCalled();
    vi.advanceTimersByTime(0);
    expect(callback).toHaveBeenCalledTimes(1);
  });

  it('no real timer is armed beyond 2^31-1 ms: a 100-day timer re-arms and fires on the day', () => {
    fakeRealTime();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const clock = new EmulatorClock({ start: 0 });
    const callback = vi.fn();
    const day = 86_400_000;
    clock.timer(100 * day, callback);
    vi.advanceTimersByTime(100 * day - 1);
    expect(callback).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(callback).toHaveBeenCalledTimes(1);
    const delays = setTimeoutSpy.mock.calls.map((call) => call[1] ?? 0);
    expect(delays.length).toBeGreaterThan(1);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('a callback that throws during advance() does not stop the other due timers; advance() rethrows it', () => {
    fakeRealTime();
    const clock = new EmulatorClock({ start: 0 });
    const after = vi.fn();
    clock.timer(10, () => {
      throw new Error('boom');
    });
    clock.timer(20, after);
    expect(() => clock.advance(100)).toThrow('boom');
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('refuses a negative or non-finite delay with a RangeError naming the argument', () => {
    const clock = new EmulatorClock();
    for (const ms of [-1, Number.NaN, Infinity]) {
      expect(() => clock.timer(ms, () => undefined)).toThrow(/clock\.timer\(ms\)/);
    }
  });
});

describe('emulator.clock.timer on real time', () => {
  it('the started emulator’s clock fits the library’s Clock; at speed 60 a 6 s timer fires after about 100 ms real', async () => {
    const emulator = await startEmulator({ clockSpeed: 60 });
    try {
      const clock: Clock = emulator.clock;
      const start = clock.now();
      const realStart = performance.now();
      const firedAt = await new Promise<number>((resolve) => clock.timer(6000, () => resolve(clock.now())));
      expect(firedAt - start).toBeGreaterThanOrEqual(6000);
      // Lower bound only: a loaded machine may fire late, never early.
      expect(performance.now() - realStart).toBeGreaterThanOrEqual(95);
    } finally {
      await emulator.close();
    }
  });

  it('advance() through the handle fires a due timer at once', async () => {
    const emulator = await startEmulator();
    try {
      const callback = vi.fn();
      emulator.clock.timer(3_600_000, callback);
      emulator.clock.advance(3_600_000);
      expect(callback).toHaveBeenCalledTimes(1);
    } finally {
      await emulator.close();
    }
  });

  it('a pending timer does not keep the process alive', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = [
      "import { EmulatorClock } from './src/emulator/clock.ts';",
      'new EmulatorClock().timer(60_000, () => console.log("fired"));',
      'console.log("scheduled");',
    ].join('\n');
    const child = spawn('node_modules/.bin/tsx', ['--eval', script], { cwd: root });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('scheduled');
  }, 20_000);
});
