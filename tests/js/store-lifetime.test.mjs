// The received shares' lifetime (web/src/engine/store/lifetime.js): which kept shares the store
// removes at start. Run: node --test tests/js/store-lifetime.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { sharesToEvict } from '../../web/src/engine/store/lifetime.js';

const DAY = 86_400_000;
const now = 100 * DAY;
const rule = { budgetBytes: 1000, maxIdleMs: 30 * DAY, now };
const share = (id, daysAgo, bytes, complete = true) => ({ id, usedAt: now - daysAgo * DAY, bytes, complete });

test('within the budget and recently used: nothing goes', () => {
  assert.deepEqual(sharesToEvict([share('a', 1, 400), share('b', 2, 600)], rule), []);
});

test('beyond the budget, the least recently used finished shares go until it fits', () => {
  const shares = [share('new', 1, 500), share('old', 9, 300), share('older', 10, 300), share('mid', 5, 300)];
  assert.deepEqual(sharesToEvict(shares, rule), ['older', 'old']);
});

test('a share half way is never removed for room, however old within the idle limit', () => {
  const shares = [share('partial', 20, 900, false), share('done', 1, 500)];
  assert.deepEqual(sharesToEvict(shares, rule), ['done']);
  assert.deepEqual(sharesToEvict([share('partial', 20, 5000, false)], rule), []);
});

test('a share not opened for longer than the idle limit goes, finished or not', () => {
  const shares = [share('stale', 31, 10, false), share('stale-done', 40, 10), share('fresh', 29, 10, false)];
  assert.deepEqual(sharesToEvict(shares, rule), ['stale', 'stale-done']);
});

test('the share being opened is kept, even when it alone is over the budget', () => {
  const shares = [share('opening', 50, 5000), share('other', 1, 10)];
  assert.deepEqual(sharesToEvict(shares, { ...rule, keep: new Set(['opening']) }), ['other']);
});

test('for any shares: what stays fits the budget unless only kept or unfinished shares are over it', () => {
  const shares = fc.uniqueArray(fc.record({
    id: fc.string({ minLength: 1, maxLength: 4 }), usedAt: fc.integer({ min: 0, max: now }), bytes: fc.nat({ max: 800 }), complete: fc.boolean(),
  }), { selector: (s) => s.id, maxLength: 12 });
  fc.assert(fc.property(shares, fc.nat({ max: 3000 }), (list, budgetBytes) => {
    const keep = new Set(list.slice(0, 1).map((s) => s.id));
    const evicted = sharesToEvict(list, { budgetBytes, maxIdleMs: 30 * DAY, now, keep });
    assert.equal(new Set(evicted).size, evicted.length);
    for (const id of evicted) assert.ok(!keep.has(id));
    const left = list.filter((s) => !evicted.includes(s.id));
    for (const s of left) assert.ok(keep.has(s.id) || now - s.usedAt <= 30 * DAY);
    const total = left.reduce((sum, s) => sum + s.bytes, 0);
    if (total > budgetBytes) assert.ok(left.every((s) => keep.has(s.id) || !s.complete), 'a finished share left while over the budget');
    // The least recently used go first: every finished share left is newer than every one removed for room.
    const removedForRoom = list.filter((s) => evicted.includes(s.id) && now - s.usedAt <= 30 * DAY);
    for (const gone of removedForRoom) {
      for (const s of left) if (s.complete && !keep.has(s.id)) assert.ok(s.usedAt >= gone.usedAt);
    }
  }), { numRuns: 500 });
});
