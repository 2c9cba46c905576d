#!/usr/bin/env node
// Proximity on and off (issue 15, comparison 5): the two-site lab of tests/lab/proximity-lab.mjs
// (the origin and two receivers in site A, three receivers in site B, each site's link to the
// internet capped at --site-mbit) shares one file twice in one run, with the tracker's ranking on
// (the default) and off (rank_peers = false), the order alternating from run to run. For each: the
// copies of the file that came into site B (every byte on its router's wan side), the copies the
// origin uploaded and the seconds until all five receivers held the file (SHA-256 checked).
//
//   node bench/proximity.mjs [--mib 32] [--site-mbit 50] [--off-first] [--json PATH]   (root)
//
// --json PATH writes (bench/lib/result.mjs) results = {mib, siteMbit, on, off}, each side:
//   copiesIntoB     bytes that came into site B / the file's size
//   originCopies    what the origin uploaded / the file's size
//   seconds         from the first receiver opening the link to the last holding the file
import { parseArgs } from 'node:util';
import { describe, proximityLab } from '../tests/lab/proximity-lab.mjs';
import { jsonTarget, writeResult } from './lib/result.mjs';

const { path: jsonPath, args } = jsonTarget();
const { values: options } = parseArgs({
  args,
  options: {
    mib: { type: 'string', default: '32' },
    'site-mbit': { type: 'string', default: '50' },
    'off-first': { type: 'boolean', default: false },
  },
});
const [mib, siteMbit] = [Number(options.mib), Number(options['site-mbit'])];
if (!(mib > 0) || !(siteMbit > 0)) {
  console.error('usage: node bench/proximity.mjs [--mib 32] [--site-mbit 50] [--off-first] [--json PATH]');
  process.exit(2);
}
if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces, tc)');
const size = Math.round(mib * (1 << 20));
const sides = { on: {}, off: { rank_peers: 'false' } };
const order = options['off-first'] ? ['off', 'on'] : ['on', 'off'];

const lab = await proximityLab({ size, siteMbit });
const measured = {};
try {
  for (const side of order) {
    const result = await lab.run(sides[side], (line) => console.error(line));
    for (const line of describe(`ranking ${side}`, result, size)) console.log(line);
    measured[side] = { copiesIntoB: result.copies, originCopies: result.originCopies, seconds: result.seconds };
  }
} finally {
  await lab.stop();
}
const { on, off } = measured;
console.log(`copies into site B: ranking on ${on.copiesIntoB.toFixed(2)}, off ${off.copiesIntoB.toFixed(2)} (off / on ${(off.copiesIntoB / on.copiesIntoB).toFixed(2)}); `
  + `done in ${on.seconds.toFixed(1)} s against ${off.seconds.toFixed(1)} s`);
writeResult(jsonPath, 'proximity', { mib, siteMbit, on, off });
