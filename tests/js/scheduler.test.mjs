// The scheduler (transfer/scheduler.js): rarest first with random ties, availability kept as
// `have`s come and links close, urgent pieces to the fastest source, a slow link losing an urgent
// piece, the owner and far links asked only for what nearer links lack, refusals, and the endgame.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bitfield } from '../../web/src/engine/transfer/bitfield.js';
import { Requests } from '../../web/src/engine/transfer/requests.js';
import { Scheduler } from '../../web/src/engine/transfer/scheduler.js';
import { fakeClock, fakePeer, measure, range, seeded } from './transfer-helpers.mjs';

// A scheduler over `count` pieces (those in `held` done) and peers whose haves it counted.
function setUp(count, peers, { held = [], random = seeded(1), clock = fakeClock(), distance, selfId, farWaitMs } = {}) {
  const done = new Bitfield(count);
  for (const piece of held) done.set(piece);
  const requests = new Requests({ now: clock.now });
  const scheduler = new Scheduler(done, { requests, random, distance, selfId, farWaitMs });
  for (const peer of peers) scheduler.have(peer, { bitfield: peer.remote.bytes });
  return { scheduler, requests, clock };
}

// Asks `peer` for what the scheduler picks, `times` times; returns the pieces.
function take(scheduler, peer, times = 1) {
  const pieces = [];
  for (let i = 0; i < times; i++) {
    const piece = scheduler.next(peer);
    if (piece === null) break;
    scheduler.requests.ask(piece, peer, 1);
    pieces.push(piece);
  }
  return pieces;
}

test('rarest first: the piece the fewest links announced, ties at random (seeded)', () => {
  const count = 8;
  const a = fakePeer('a', range(0, 8), count);
  const b = fakePeer('b', range(0, 6), count);
  const c = fakePeer('c', [0, 1, 2, 3], count);
  // Availability: 0-3 three links, 4-5 two, 6-7 one.
  const firsts = new Set();
  for (let seed = 1; seed <= 20; seed++) {
    const { scheduler } = setUp(count, [a, b, c], { random: seeded(seed) });
    assert.deepEqual([6, 7, 4, 5, 0, 1, 2, 3].map((piece) => scheduler.availability(piece)), [1, 1, 2, 2, 3, 3, 3, 3]);
    const picks = take(scheduler, a, 8);
    assert.deepEqual(picks.slice(0, 2).sort(), [6, 7]);
    assert.deepEqual(picks.slice(2, 4).sort(), [4, 5]);
    assert.deepEqual(picks.slice(4).sort(), [0, 1, 2, 3]);
    firsts.add(picks[4]);
    // b lacks 6 and 7: its rarest are 4 and 5, asked of a already, so it gets one of 0-3.
  }
  assert.ok(firsts.size > 1, 'ties are broken at random');
  // The same seed picks the same.
  const once = () => take(setUp(count, [a, b, c], { random: seeded(7) }).scheduler, a, 8);
  assert.deepEqual(once(), once());
});

test('availability follows haves (lists and bitfields) and links closing', () => {
  const count = 4;
  const a = fakePeer('a', [0], count);
  const b = fakePeer('b', [], count);
  const { scheduler, requests } = setUp(count, [a, b]);
  assert.equal(scheduler.availability(0), 1);
  b.remote.set(0);
  b.remote.set(1);
  scheduler.have(b, { pieces: [0, 1] });
  scheduler.have(b, { pieces: [1] }); // announced twice: counted once
  assert.deepEqual(range(0, 4).map((piece) => scheduler.availability(piece)), [2, 1, 0, 0]);
  assert.equal(scheduler.next(a), 0);
  assert.equal(scheduler.next(b), 1); // rarer than 0
  requests.ask(1, b, 1);
  scheduler.drop(b); // its link closed: its pieces no longer count, its requests end
  assert.deepEqual(range(0, 4).map((piece) => scheduler.availability(piece)), [1, 0, 0, 0]);
  assert.equal(requests.asked(1), false);
  // A new bitfield replaces what a peer announced before.
  const c = fakePeer('c', [2, 3], count);
  scheduler.have(c, { bitfield: c.remote.bytes });
  c.remote = new Bitfield(count);
  c.remote.set(3);
  scheduler.have(c, { bitfield: c.remote.bytes });
  assert.deepEqual(range(0, 4).map((piece) => scheduler.availability(piece)), [1, 0, 0, 1]);
  // A piece done leaves its bucket; its count stays right for when it is asked about.
  requests.ask(3, c, 1);
  scheduler.finish(3, c);
  assert.equal(scheduler.next(c), null);
});

test('urgent pieces go to the fastest source with room; an unmeasured one counts as the average', () => {
  const count = 10;
  const slow = fakePeer('slow', range(0, 10), count);
  const fast = fakePeer('fast', range(0, 10), count);
  const fresh = fakePeer('fresh', range(0, 10), count);
  const { scheduler, requests, clock } = setUp(count, [slow, fast, fresh]);
  measure(requests, clock, slow, 100_000);
  measure(requests, clock, fast, 1_000_000);
  assert.equal(scheduler.nextUrgent([slow, fast, fresh]), null); // nothing urgent without want or focus
  scheduler.want([7]);
  assert.deepEqual(scheduler.nextUrgent([slow, fast, fresh]), { piece: 7, peer: fast });
  // fresh counts as the average (550 kB/s): faster than slow.
  assert.deepEqual(scheduler.nextUrgent([slow, fresh]), { piece: 7, peer: fresh });
  requests.ask(7, fast, 1);
  scheduler.setFocus(3); // a player at piece 3: the keepAhead (8) pieces from it are urgent
  assert.deepEqual(scheduler.nextUrgent([slow, fast]), { piece: 3, peer: fast });
  for (const piece of range(3, 11)) if (piece !== 7 && piece < 10) requests.ask(piece, fast, 1);
  assert.equal(scheduler.nextUrgent([slow]), null); // 3-9 asked of a fast source: nothing to rescue
  // Past the window, ties go to the nearest after the focus, then from the start.
  assert.deepEqual(take(scheduler, slow, 3), [0, 1, 2]);
  // The player gone (focus null): nothing is urgent any more.
  scheduler.setFocus(null);
  assert.equal(scheduler.focus, null);
  assert.equal(scheduler.nextUrgent([slow, fast]), null);
});

test('a slow link loses an urgent piece: a fast source with room is asked too, and the first copy wins', () => {
  const count = 4;
  const slow = fakePeer('slow', range(0, 4), count);
  const fast = fakePeer('fast', range(0, 4), count);
  const { scheduler, requests, clock } = setUp(count, [slow, fast]);
  measure(requests, clock, slow, 50_000);
  measure(requests, clock, fast, 1_000_000);
  scheduler.want([2]);
  requests.ask(2, slow, 100_000); // asked when the fast one had no room
  assert.deepEqual(scheduler.nextUrgent([fast]), { piece: 2, peer: fast });
  requests.ask(2, fast, 100_000);
  assert.equal(scheduler.nextUrgent([fast, slow]), null); // two sources: enough
  assert.deepEqual(scheduler.finish(2, fast), [slow]); // the slow one is to be cancelled
  assert.deepEqual([requests.asked(2), requests.countOf(slow), requests.countOf(fast)], [false, 0, 0]);
  // Not several times slower: no second copy.
  const near = fakePeer('near', range(0, 4), count);
  const other = setUp(count, [slow, near]);
  measure(other.requests, other.clock, slow, 500_000);
  measure(other.requests, other.clock, near, 1_000_000);
  other.scheduler.want([1]);
  other.requests.ask(1, slow, 100_000);
  assert.equal(other.scheduler.nextUrgent([near]), null);
});

test('the owner is asked only for pieces no other link announced (endgame too), unless that link sent it bad', () => {
  const count = 4;
  const owner = fakePeer('o', range(0, 4), count, 'owner');
  const b = fakePeer('b', [0, 1], count);
  const { scheduler } = setUp(count, [owner, b]);
  assert.deepEqual(take(scheduler, owner, 4).sort(), [2, 3]);
  assert.deepEqual(take(scheduler, b, 4).sort(), [0, 1]);
  const again = setUp(count, [owner, b]).scheduler;
  again.avoid(0, b);
  assert.deepEqual(take(again, owner, 4).sort(), [0, 2, 3]);
  // Urgent pieces go to the fastest source, the owner included; on a tie, to a receiver.
  again.want([1]);
  assert.equal(again.nextUrgent([owner]).piece, 1);
  assert.equal(again.nextUrgent([owner, b]).peer, b);
  // In the endgame the owner doubles only pieces no other link announced.
  const full = fakePeer('f', range(0, 4), count);
  const end = setUp(count, [owner, full]);
  for (const piece of range(0, 4)) end.requests.ask(piece, full, 1);
  assert.equal(end.scheduler.next(owner), null);
  const c = fakePeer('c', [0], count);
  const late = setUp(count, [owner, c]);
  late.requests.ask(0, c, 1);
  for (const piece of range(1, 4)) late.requests.ask(piece, { id: 'x' }, 1); // one not announcing
  assert.equal(late.scheduler.next(owner), 1); // 0 is c's too
});

test('a piece a peer refused is asked of another peer, and of that one again after resume', () => {
  const a = fakePeer('a', [0, 1], 2);
  const b = fakePeer('b', [0], 2);
  const { scheduler, requests } = setUp(2, [a, b]);
  scheduler.pause(0, a);
  assert.deepEqual(take(scheduler, a, 2), [1]);
  assert.equal(scheduler.next(b), 0);
  scheduler.resume(0, b); // resuming a peer that was not paused changes nothing
  scheduler.resume(0, a);
  assert.equal(scheduler.next(a), 0);
  assert.equal(requests.countOf(a), 1);
});

test('a piece a peer sent bad is never asked of it again', () => {
  const a = fakePeer('a', [0], 1);
  const { scheduler } = setUp(1, [a]);
  scheduler.avoid(0, a);
  scheduler.resume(0, a);
  assert.equal(scheduler.next(a), null);
  scheduler.want([0]);
  assert.equal(scheduler.nextUrgent([a]), null);
});

test('wanted pieces come in the order wanted, before the focus window; done ones are dropped', () => {
  const a = fakePeer('a', range(0, 10), 10);
  const b = fakePeer('b', range(0, 9), 10); // lacks 9
  const { scheduler, requests } = setUp(10, [a, b], { held: [8] });
  scheduler.setFocus(4);
  scheduler.want([9, 8, 2, -1, 10]); // 8 is done; -1 and 10 are outside the share
  assert.deepEqual(scheduler.nextUrgent([b]), { piece: 2, peer: b }); // b lacks 9
  assert.equal(scheduler.nextUrgent([a, b]).piece, 9);
  requests.ask(9, a, 1);
  requests.ask(2, b, 1);
  assert.equal(scheduler.nextUrgent([a, b]).piece, 4); // every wanted piece asked: the focus window
  requests.end(2, b); // a wanted piece whose request ended comes back first
  assert.equal(scheduler.nextUrgent([a, b]).piece, 2);
  requests.ask(2, a, 1);
  scheduler.finish(2, a);
  scheduler.finish(9, a);
  scheduler.want([9, 2]); // already done: not wanted again
  assert.equal(scheduler.nextUrgent([a, b]).piece, 4);
});

test('endgame: every missing piece asked, a peer with nothing to do doubles the one asked longest ago', () => {
  const count = 3;
  const a = fakePeer('a', range(0, 3), count);
  const b = fakePeer('b', range(0, 3), count);
  const c = fakePeer('c', range(0, 3), count);
  const { scheduler, requests, clock } = setUp(count, [a, b, c]);
  requests.ask(1, a, 1);
  clock.advance(10);
  requests.ask(0, a, 1);
  assert.equal(scheduler.next(b), 2);
  requests.ask(2, a, 1);
  assert.equal(scheduler.next(b), 1); // asked longest ago
  requests.ask(1, b, 1);
  assert.equal(scheduler.next(b), null); // b has something to do
  assert.equal(scheduler.next(c), 0); // 1 has two sources already (ENDGAME_SOURCES)
  assert.equal(scheduler.next(a), null);
});

// Asks `peer` for what the scheduler picks, one piece at a time, each arriving before the next
// is asked (with farWaitMs 0: a member free to fetch any piece from afar); returns the pieces.
function fetchEach(scheduler, peer) {
  const pieces = [];
  for (let piece; (piece = scheduler.next(peer)) !== null;) {
    scheduler.requests.ask(piece, peer, 1);
    scheduler.finish(piece, peer);
    pieces.push(piece);
  }
  return pieces.sort((a, b) => a - b);
}

test('a far link is asked only for pieces no nearer link announced, unless that one sent it bad; once the near link goes, for all', () => {
  const count = 6;
  const near = fakePeer('near', range(0, 4), count);
  const far = fakePeer('far', range(0, 6), count);
  const distances = new Map([[near, 0], [far, 7]]);
  const distance = (peer) => distances.get(peer);
  const farWaitMs = 0;
  assert.deepEqual(fetchEach(setUp(count, [near, far], { distance, farWaitMs }).scheduler, far), [4, 5]);
  // The near link sent piece 0 bad: the far one may give it.
  const again = setUp(count, [near, far], { distance, farWaitMs }).scheduler;
  again.avoid(0, near);
  assert.deepEqual(fetchEach(again, far), [0, 4, 5]);
  // At the same distance both are near: the far one gets any piece.
  distances.set(far, 0);
  again.reclassify();
  assert.deepEqual(fetchEach(again, far), [1, 2, 3]);
  // The near link gone, the far one is the nearest left.
  distances.set(far, 7);
  const third = setUp(count, [near, far], { distance, farWaitMs }).scheduler;
  third.drop(near);
  assert.deepEqual(fetchEach(third, far), range(0, 6));
});

test('near members split what they fetch from afar: each piece falls to one of them, the same in each; a neighbour\'s part is fetched after farWaitMs idle', () => {
  const count = 40;
  const ids = ['a1b2c3d4e5f6', '0123456789ab', 'fedcba987654'];
  const picks = ids.map((self) => {
    const near = ids.filter((id) => id !== self).map((id) => fakePeer(id, [], count));
    const far = fakePeer('far', range(0, count), count);
    const distance = (peer) => (peer === far ? 7 : 0);
    const { scheduler } = setUp(count, [...near, far], { distance, selfId: () => self, farWaitMs: 2000 });
    return take(scheduler, far, count);
  });
  const all = picks.flat();
  assert.equal(new Set(all).size, all.length, 'no piece falls to two members');
  assert.equal(all.length, count, 'every piece falls to someone');
  for (const pieces of picks) assert.ok(pieces.length < count / 2, 'each fetches a part');
  // A member whose part arrived and that has nothing asked waits, then fetches a neighbour's.
  const near = ids.slice(1).map((id) => fakePeer(id, [], count));
  const far = fakePeer('far', range(0, count), count);
  const { scheduler, clock } = setUp(count, [...near, far], {
    distance: (peer) => (peer === far ? 7 : 0), selfId: () => ids[0], farWaitMs: 2000,
  });
  for (const piece of picks[0]) {
    scheduler.requests.ask(piece, far, 1);
    scheduler.finish(piece, far);
  }
  assert.equal(scheduler.next(far), null);
  clock.advance(2000);
  assert.ok(picks.slice(1).flat().includes(scheduler.next(far)));
});

test('a quiet peer holds nothing back: what is asked only of it goes to the owner or a far link too, once', () => {
  const count = 2;
  const owner = fakePeer('o', range(0, count), count, 'owner');
  const b = fakePeer('b', range(0, count), count);
  const { scheduler, requests, clock } = setUp(count, [owner, b]);
  assert.deepEqual(take(scheduler, b, 2).sort(), [0, 1]);
  assert.equal(scheduler.next(owner), null); // b holds them and is asked
  clock.advance(3_999);
  assert.equal(scheduler.next(owner), null);
  clock.advance(1); // REQUEST_IDLE_MS with nothing from b
  assert.deepEqual(take(scheduler, owner, 3).sort(), [0, 1]); // each once
  assert.equal(scheduler.next(b), null); // b is asked already
  // Not asked of b at all (b has no room), b quiet: the owner gets it, b's holding does not count.
  const [o2, b2] = [fakePeer('o', range(0, 3), 3, 'owner'), fakePeer('b', range(0, 3), 3)];
  const again = setUp(3, [o2, b2]);
  again.requests.ask(0, b2, 1);
  assert.equal(again.scheduler.next(o2), null);
  again.clock.advance(4_000);
  assert.deepEqual(take(again.scheduler, o2, 3).sort(), [0, 1, 2]);
  // A far link too, and the near split does not hold back a piece asked only of a quiet near member.
  const near = fakePeer('n', range(0, count), count);
  const far = fakePeer('f', range(0, count), count);
  const distance = (peer) => (peer === far ? 3 : 0);
  const split = setUp(count, [near, far], { distance, selfId: () => 'zzzz', farWaitMs: 60_000 });
  split.requests.ask(0, near, 1);
  split.requests.ask(1, near, 1);
  assert.equal(split.scheduler.next(far), null);
  split.clock.advance(4_000);
  assert.deepEqual(take(split.scheduler, far, 3).sort(), [0, 1]);
});
