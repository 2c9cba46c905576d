// What a benchmark measured, as data: `--json PATH` on a bench's command line makes it write one
// object there, {bench, command, at, results}, beside what it prints for people. bench/report.mjs
// runs the benches this way and reads their results; nothing else does. `results` holds plain
// numbers (seconds, bytes, MB/s, ratios), nested by what they measure.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

// The path given with --json, or null; and argv without `--json PATH`, for the bench's own
// parsing.
export function jsonTarget(argv = process.argv.slice(2)) {
  const at = argv.indexOf('--json');
  if (at < 0) return { path: null, args: argv };
  if (at + 1 >= argv.length) throw new Error('--json needs a file to write');
  return { path: argv[at + 1], args: [...argv.slice(0, at), ...argv.slice(at + 2)] };
}

// The code that runs: git describe, "-dirty" with uncommitted changes outside docs/report/ (where
// bench/report.mjs writes these results while it runs).
export function describeCommit() {
  const git = (...args) => execFileSync('git', ['-C', repo, ...args]).toString().trim();
  const dirty = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)docs/report') !== '';
  return `${git('describe', '--always')}${dirty ? '-dirty' : ''}`;
}

// Writes {bench, command, commit, at, results} to path (when not null); commit: the code that ran
// (describeCommit).
export function writeResult(path, bench, results) {
  if (!path) return;
  const command = ['node', relative(repo, process.argv[1]), ...process.argv.slice(2)].join(' ');
  const commit = describeCommit();
  writeFileSync(path, `${JSON.stringify({ bench, command, commit, at: new Date().toISOString(), results }, null, 2)}\n`);
}
