// Peers chosen by proximity (issue 11), in the two-site lab of tests/lab/proximity-lab.mjs: with
// ranking on (the default limits and the fixture location database), site B's receivers fetch the
// file into their site about once and share it inside; the same lab with `rank_peers = false` shows
// what ignoring proximity costs (printed, not asserted; bench/proximity.mjs measures both for the
// report).
//
// Needs root:  node --test --test-concurrency=1 --test-reporter=spec tests/lab/proximity.test.mjs
// PROXIMITY_MIB: the file's size (default 32); PROXIMITY_SETTINGS: more plugin settings for both
// runs, e.g. "max_links_per_member=2,tracker_list_size=4" (with 6 members and the default cap of 8
// links every member links to every other, so only the order of the list and the scheduler matter).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { describe, proximityLab } from './proximity-lab.mjs';

const SIZE = Number(process.env.PROXIMITY_MIB || 32) * (1 << 20);
const extraSettings = Object.fromEntries((process.env.PROXIMITY_SETTINGS || '').split(',').filter(Boolean).map((pair) => pair.split('=')));

let lab;
before(async () => { lab = await proximityLab({ size: SIZE }); });
after(async () => { await lab?.stop(); });

async function run(t, label, settings) {
  const result = await lab.run({ ...settings, ...extraSettings }, (line) => t.diagnostic(line));
  for (const line of describe(label, result, SIZE)) t.diagnostic(line);
  return result;
}

test('ranking on (the default limits and the fixture location database): fewer than 1.3 copies of the file cross into site B', { timeout: 300_000 }, async (t) => {
  const result = await run(t, 'ranking on', {});
  assert.ok(result.copies < 1.3, `${result.copies.toFixed(2)} copies came into site B`);
});

test('ranking off (rank_peers = false): what crossing into site B costs, printed', { timeout: 300_000 }, async (t) => {
  await run(t, 'ranking off', { rank_peers: 'false' });
});
