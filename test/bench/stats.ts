import { readFileSync } from 'node:fs';

/** The median of the benchmark's samples (of an even count, the mean of the middle two). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The q-quantile of the samples, by nearest rank (q = 0.99: the value 99 % of them do not exceed). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.max(Math.ceil(q * sorted.length) - 1, 0)]!;
}

/** CPU time the process has used, user and system, all threads, in ms (/proc/<pid>/stat; ticks of 10 ms). Linux only. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime (fields 14, 15 of stat(5))
}

/** The machine's CPU time so far (/proc/stat, all CPUs), and how much of it the hypervisor gave to others (steal); undefined off Linux. */
export function machineTime(): { total: number; steal: number } | undefined {
  let line: string;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  } catch {
    return undefined;
  }
  // cpu user nice system idle iowait irq softirq steal [guest guest_nice: already counted in user and nice]
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: ticks.reduce((sum, t) => sum + t, 0), steal: ticks[7] ?? 0 };
}

/** The share of the machine's CPU time stolen between two readings of machineTime, as a fraction. */
export function stealBetween(before: ReturnType<typeof machineTime>, after: ReturnType<typeof machineTime>): number | undefined {
  if (!before || !after || after.total <= before.total) return undefined;
  return (after.steal - before.steal) / (after.total - before.total);
}
