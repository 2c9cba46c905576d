// PeerLink's one outgoing queue (net/transport.js, net/outbox.js) over a fake channel that throws
// past 16 MiB as Chromium's does: text waits behind the watermark in order with binary, the
// queue is bounded in bytes and messages, and an overflow or a throwing send closes that link
// only (LinkFailure), never throwing at the caller. And the path a link reports when the other
// side's checks came before its candidates.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import {
  BUFFERED_HIGH_WATERMARK, BUFFERED_LOW_MIN_BYTES, BUFFERED_LOW_SECONDS, BUFFERED_LOW_WATERMARK, DATA_CHANNEL_LABEL,
  LINK_QUEUE_MAX_BYTES, LINK_QUEUE_MAX_MESSAGES,
} from '../../web/src/engine/config.js';
import { LINK_OVERFLOW, LINK_SEND_FAILED, LinkFailure } from '../../web/src/engine/net/outbox.js';
import { PeerLink } from '../../web/src/engine/net/transport.js';
import { FakePeerConnection, installFakeWebRtc, settle } from './fake-webrtc.mjs';

beforeEach(installFakeWebRtc);

// An open link that answered the other side's offer: {link, channel, lost: [Error]}.
async function openLink(now = undefined) {
  const link = new PeerLink({ initiator: false, sendSignal: async () => {}, now });
  const lost = [];
  link.on('lost', (error) => lost.push(error));
  const channel = FakePeerConnection.made.at(-1).announceChannel(DATA_CHANNEL_LABEL);
  await settle();
  return { link, channel, lost };
}

test('text waits behind the high watermark, in order with binary; drained() waits for the queue too', async () => {
  const { link, channel } = await openLink();
  const frame = new Uint8Array(60_000);
  const sent = [];
  while (channel.bufferedAmount < BUFFERED_HIGH_WATERMARK) sent.push(link.sendBinary(frame));
  const handed = channel.sent.length;
  link.send({ t: 'have', pieces: [1] }); // behind the watermark: waits
  const turn = link.sendInTurn({ t: 'reject', piece: 2 });
  let drained = false;
  link.drained().then(() => { drained = true; });
  await settle();
  assert.equal(channel.sent.length, handed);
  assert.equal(drained, false);
  channel.drain(); // the other side read everything
  assert.equal(await turn, true);
  assert.deepEqual(channel.sent.slice(handed), ['{"t":"have","pieces":[1]}', '{"t":"reject","piece":2}']);
  assert.ok((await Promise.all(sent)).every(Boolean));
  channel.drain();
  await settle();
  assert.equal(drained, true);
  link.close();
});

test('drained() waits for the low mark: one frame until measured, then a quarter second of the rate the buffer drained at', async () => {
  let clock = 0;
  const { link, channel } = await openLink(() => clock);
  assert.equal(link.lowMark, BUFFERED_LOW_MIN_BYTES);
  const piece = new Uint8Array(256 * 1024);
  // The buffer drains at 400 kB/s: the link's first piece, then the next ones, each handed over
  // once the buffer is down to the mark.
  const drainFor = async (ms) => {
    clock += ms;
    channel.drain(400 * ms);
    await settle();
  };
  await link.sendBinary(piece);
  let drained = false;
  link.drained().then(() => { drained = true; });
  await settle();
  assert.equal(drained, false);
  await drainFor(100); // 40 kB: still above one frame
  assert.equal(drained, false);
  await drainFor(500); // down to the mark: 240 kB left the buffer in 600 ms, 400 kB/s
  assert.equal(drained, true);
  const mark = 400 * BUFFERED_LOW_SECONDS * 1000;
  assert.ok(Math.abs(link.lowMark - mark) / mark < 0.1, `${link.lowMark} is about ${mark}`);
  // Never below one frame, never above the watermark: a fast link measures 1 MiB.
  await link.sendBinary(piece);
  drained = false;
  link.drained().then(() => { drained = true; });
  await settle();
  clock += 1;
  channel.drain();
  await settle();
  assert.equal(drained, true);
  assert.equal(link.lowMark, BUFFERED_LOW_WATERMARK);
  link.close();
});

test('a queue past its bound in messages or in bytes closes the link (overflow), never the channel\'s 16 MiB', async () => {
  for (const [what, message] of [['messages', { t: 'have', pieces: [1] }], ['bytes', { t: 'x', pad: 'x'.repeat(60_000) }]]) {
    const { link, channel, lost } = await openLink();
    channel.bufferedAmount = BUFFERED_HIGH_WATERMARK; // the other side stopped reading
    let sends = 0;
    while (lost.length === 0 && sends < 1_000_000) {
      link.send(message);
      sends += 1;
    }
    const limit = what === 'messages' ? LINK_QUEUE_MAX_MESSAGES : Math.floor(LINK_QUEUE_MAX_BYTES / JSON.stringify(message).length);
    assert.equal(sends, limit + 1, what);
    assert.ok(lost[0] instanceof LinkFailure);
    assert.equal(lost[0].code, LINK_OVERFLOW);
    assert.equal(channel.sent.length, 0);
    assert.equal(await link.sendInTurn({ t: 'late' }), false); // closed: nothing more goes
  }
});

test('a send the channel refuses (it throws) closes that link; the caller never sees the throw', async () => {
  const { link, channel, lost } = await openLink();
  channel.send = () => { throw new DOMException('RTCDataChannel send queue is full', 'OperationError'); };
  link.send({ t: 'have', pieces: [1] });
  assert.equal(await link.sendBinary(new Uint8Array(10)), false);
  assert.equal(lost.length, 1);
  assert.deepEqual([lost[0].name, lost[0].code], ['LinkFailure', LINK_SEND_FAILED]);
  assert.match(lost[0].message, /send queue is full/);
});

// The selected pair as getStats reports it: a local host candidate and the remote end `remote`.
function selectedPairStats(remote) {
  return new Map([
    ['T', { type: 'transport', selectedCandidatePairId: 'P' }],
    ['P', { type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' }],
    ['L', { type: 'local-candidate', candidateType: 'host', address: '198.18.0.1' }],
    ['R', { type: 'remote-candidate', ...remote }],
  ]);
}

// The path is judged from the pair read again once the other side's candidates are in: at first
// the remote end is peer-reflexive with its address hidden, as Chromium reports it.
const LATE_CANDIDATES = [
  ['its host candidate comes: "lan"', { candidateType: 'host', address: '198.18.0.2' },
    [{ candidate: 'candidate:1 1 udp 2122260223 198.18.0.2 50000 typ host' }], 'lan'],
  ['the pair turned to one through TURN meanwhile: "turn"', { candidateType: 'relay', address: '203.0.113.7' }, [], 'turn'],
];

for (const [title, remoteLater, candidates, path] of LATE_CANDIDATES) {
  test(`a link whose checks came before the other side's candidates, then ${title}`, async () => {
    const link = new PeerLink({ initiator: false, sendSignal: async () => {} });
    await link.handleSignal({ kind: 'sdp', sdp: { type: 'offer', sdp: '' } });
    FakePeerConnection.stats = selectedPairStats({ candidateType: 'prflx', address: '' });
    const opened = new Promise((resolve) => { link.on('open', resolve); });
    FakePeerConnection.made.at(-1).announceChannel(DATA_CHANNEL_LABEL);
    await settle();
    FakePeerConnection.stats = selectedPairStats(remoteLater);
    await link.handleSignal({ kind: 'ice', candidates, done: true });
    await opened;
    assert.equal(link.path, path);
    link.close();
  });
}
