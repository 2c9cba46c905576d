// The machine's CPU as the benches report it beside their figures: near 100 % busy, a run
// measures the cores, not the links.
import { readFileSync } from 'node:fs';

// The busy share of all the machine's CPUs (/proc/stat, less idle and iowait) from now to the
// returned function's call.
export function cpuMeter() {
  const read = () => {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: fields[3] + fields[4], total: fields.reduce((a, b) => a + b, 0) };
  };
  const start = read();
  return () => {
    const end = read();
    return 1 - (end.idle - start.idle) / (end.total - start.total);
  };
}
