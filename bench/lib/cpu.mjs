// The machine's CPU as the benches report it beside their figures: near 100 % busy, a run
// measures the cores, not the links. And one process's (or thread's) CPU seconds, from /proc.
import { execFileSync } from 'node:child_process';
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

export const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

// The name and CPU seconds (user + system) of the process or thread whose stat file this is
// (/proc/<pid>/stat, /proc/<pid>/task/<tid>/stat).
export function statCpu(statPath) {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpu: (Number(fields[11]) + Number(fields[12])) / clockTicks };
}

// A process's CPU seconds (user + system) so far.
export const processCpu = (pid) => statCpu(`/proc/${pid}/stat`).cpu;
