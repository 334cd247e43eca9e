/**
 * CPU used by this process between two readings, as a fraction of one core (1.5 = one and a
 * half cores busy), from `process.cpuUsage()` (user + system). Imports nothing.
 */
export function cpuMeter(): () => number {
  let before = process.cpuUsage();
  let at = performance.now();
  return () => {
    const usage = process.cpuUsage();
    const t = performance.now();
    const used = (usage.user - before.user + usage.system - before.system) / 1000;
    const share = t > at ? used / (t - at) : 0;
    before = usage;
    at = t;
    return share;
  };
}
