/** The most times that fall in any window [t, t + spanMs) starting at one of them. */
export function busiestWindow(times: number[], spanMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + spanMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}
