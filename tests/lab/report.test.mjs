// The report generator's smoke run (issue 15): bench/report.mjs --smoke runs every benchmark once
// at tiny sizes and must write every section, table and plot of docs/report.md (here into a
// scratch folder). Its figures mean nothing; what is checked is that each bench ran, wrote its
// results and that the report was made from them. Needs root (the benches build their labs).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot, tempDir } from '../e2e/harness.mjs';

const run = promisify(execFile);
const PLOTS = ['cloud', 'paths', 'swarm-copies', 'swarm-seconds', 'stream', 'proximity', 'remux', 'browsers-stream'];

test('the report generator runs every bench and writes every table and plot', { timeout: 1_200_000 }, async (t) => {
  const out = tempDir('swarmdrop-report-');
  try {
    let stderr = '';
    try {
      ({ stderr } = await run('node', ['bench/report.mjs', '--smoke', '--out', out], { cwd: repoRoot, timeout: 1_150_000, maxBuffer: 1 << 24 }));
    } catch (error) {
      assert.fail(`bench/report.mjs --smoke failed (${error.code}):\n${error.stderr}`);
    }
    t.diagnostic(stderr.trim().split('\n').pop());
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    for (const heading of ['## What the figures mean', '## 1. ', '## 2. ', '## 3. ', '## 4. ', '## 5. ', '## 6. ', '## 7. ']) {
      assert.ok(report.includes(heading), `report.md has ${heading}`);
    }
    assert.doesNotMatch(report, /Not measured|Nothing ran/);
    for (const plot of PLOTS) {
      const svg = join(out, 'report', `${plot}.svg`);
      assert.ok(existsSync(svg), `${plot}.svg was drawn`);
      const text = readFileSync(svg, 'utf8');
      assert.match(text, /^<svg[^>]*>.*<\/svg>$/s);
      assert.match(text, /role-mark/, `${plot}.svg has marks`);
      assert.ok(report.includes(`](report/${plot}.svg)`), `report.md shows ${plot}.svg`);
    }
    // Every table row has a figure: no "—" where a number belongs in the steps that ran.
    assert.doesNotMatch(report, /\| — \| — \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
