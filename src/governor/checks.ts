/** Option checks shared by the governor and its stores: a wrong value is refused at construction, named and shown. */

export function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer of at least 1; received ${show(value)}`);
  }
  return value;
}

/** A duration in ms within [min, max]: finite, so every wait built from it fits a timer. */
export function duration(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a number of ms from ${min} to ${max}; received ${show(value)}`);
  }
  return value;
}
