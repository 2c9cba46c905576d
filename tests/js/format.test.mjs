// The metrics panel's words for figures (ui/format.js): bit rates, round trips, paths and shares.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describePath, formatBitRate, formatMs, formatShare,
} from '../../web/src/ui/format.js';

test('bit rates are spoken in bits, with the byte sizes\' prefixes', () => {
  assert.equal(formatBitRate(800), '800 bit/s');
  assert.equal(formatBitRate(4_200_000), '4.2 Mbit/s');
  assert.equal(formatBitRate(25_000_000), '25 Mbit/s');
});

test('a round trip is whole milliseconds, a dash while unmeasured', () => {
  assert.equal(formatMs(31.6), '32 ms');
  assert.equal(formatMs(0), '0 ms');
  assert.equal(formatMs(null), '–');
});

test('each path has its words, none while no link opened', () => {
  assert.deepEqual(
    ['lan', 'direct', 'turn', 'relay'].map(describePath),
    ['local network', 'direct', 'via a TURN server', 'via the server’s relay'],
  );
  assert.equal(describePath(null), '');
});

test('a share is a rounded whole percentage: 0.9999 is 100 %, a hair below 0 is 0 %', () => {
  assert.equal(formatShare(0.25), '25 %');
  assert.equal(formatShare(0.9999), '100 %');
  assert.equal(formatShare(-0.0001), '0 %');
  assert.equal(formatShare(-0.5), '-50 %');
  assert.equal(formatShare(1), '100 %');
});
