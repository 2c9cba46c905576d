// RelayChannel and RelayLink against a fake RTCPeerConnection and a fake plugin: the probe before
// `open`, refusals, the credit window, the order of what goes out, and text sealed both ways
// under the share's relay key.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const ME = '0123456789ab';
const OTHER = 'a1b2c3d4e5f6';
const WINDOW = 70_000; // room for one largest frame, not two

class FakeChannel extends EventTarget {
  readyState = 'connecting';
  bufferedAmount = 0;
  sent = [];

  send(data) {
    this.sent.push(data);
  }

  close() {}
}

globalThis.RTCPeerConnection = class extends EventTarget {
  iceGatheringState = 'complete';
  localDescription = { sdp: 'v=0 our answer' };

  async setRemoteDescription() {}

  async setLocalDescription() {}

  createDataChannel() {
    this.channel = new FakeChannel();
    pcs.push(this);
    return this.channel;
  }

  close() {}
};
const pcs = [];
const { RelayChannel } = await import('../../web/src/engine/net/relay.js');
const { openText, sealText } = await import('../../web/src/engine/net/relay-wire.js');
const { createShareKeys, openShareKeys } = await import('../../web/src/engine/transfer/content.js');
// The share's relay key, as both members derive it from the link's secret.
const { relayKey: KEY } = await openShareKeys(await createShareKeys());
// Sealing and opening take WebCrypto a moment: what a test checks after a send or a delivery
// waits for it.
const settle = () => sleep(20);

function fakeSignalling() {
  const calls = [];
  return {
    calls,
    async relay(share) {
      calls.push(['relay', share]);
      return { share, peer: ME, window: WINDOW, jsep: { type: 'offer', sdp: 'v=0 offer' } };
    },
    async relayAnswer(jsep) {
      calls.push(['relay_answer', jsep]);
    },
    hangupRelay() {
      calls.push(['hangup']);
    },
  };
}

// From the plugin: a text message, or a frame from `source` (kind 0 with a JSON object sealed
// from `source` to us).
const fromPlugin = (channel, data) => channel.dispatchEvent(Object.assign(new Event('message'), { data }));
const textFrom = async (source, message) => {
  const sealed = await sealText(KEY, source, ME, new TextEncoder().encode(JSON.stringify(message)));
  const frame = new Uint8Array(7 + sealed.length);
  frame.set([0, ...Buffer.from(source, 'hex')]);
  frame.set(sealed, 7);
  return frame.buffer;
};
// What we sent: {kind, source, targets, body} (body opened and decoded as JSON for kind 0, its
// length else).
const decodeSent = async (frame) => {
  const target = Buffer.from(frame.subarray(8, 14)).toString('hex');
  return {
    kind: frame[0],
    source: Buffer.from(frame.subarray(1, 7)).toString('hex'),
    targets: frame[7],
    target,
    body: frame[0] === 0 ? JSON.parse(new TextDecoder().decode(await openText(KEY, ME, target, frame.subarray(14)))) : frame.length - 14,
  };
};
const sentBodies = async (channel) => Promise.all(channel.sent.map(async (frame) => (await decodeSent(frame)).body));

async function readyChannel(initiator, options) {
  const signalling = fakeSignalling();
  const relay = new RelayChannel(signalling, [], options);
  const link = relay.link({ shareId: 'f'.repeat(16), remoteId: OTHER, initiator, key: KEY });
  const events = [];
  for (const type of ['open', 'message', 'data', 'lost']) link.on(type, (value) => events.push([type, value]));
  await sleep(0);
  const { channel } = pcs.at(-1);
  channel.readyState = 'open';
  channel.dispatchEvent(new Event('open'));
  fromPlugin(channel, JSON.stringify({ t: 'ready', peers: [ME] }));
  await settle();
  return { signalling, relay, link, channel, events };
}

test('the asker answers the offer without trickle, probes until the other member answers, then opens', async () => {
  const { signalling, relay, link, channel, events } = await readyChannel(true);
  assert.deepEqual(signalling.calls[1], ['relay_answer', { type: 'answer', sdp: 'v=0 our answer', trickle: false }]);
  assert.deepEqual(await decodeSent(channel.sent[0]), { kind: 0, source: ME, targets: 1, target: OTHER, body: { t: 'relay_probe' } });
  assert.ok(!new TextDecoder().decode(channel.sent[0]).includes('relay_probe'), 'the relay reads no text');
  // Not on the relay yet: the probe repeats, the link waits.
  fromPlugin(channel, JSON.stringify({ t: 'refused', to: OTHER, error_code: 457, error: 'not an endpoint' }));
  await sleep(300);
  assert.ok(channel.sent.length >= 2);
  assert.deepEqual(events, []);
  assert.equal(link.opened, false);
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  assert.deepEqual(events, [['open', undefined]]);
  const probes = channel.sent.length;
  await sleep(300);
  assert.equal(channel.sent.length, probes); // no more probes once open
  link.send({ t: 'hello' });
  await settle();
  assert.deepEqual((await decodeSent(channel.sent.at(-1))).body, { t: 'hello' });
  fromPlugin(channel, await textFrom(OTHER, { t: 'have', pieces: [1] }));
  await settle();
  assert.deepEqual(events.at(-1), ['message', { t: 'have', pieces: [1] }]);
  relay.close();
});

test('the other side answers each probe and opens on the first; probes never reach the peer wire', async () => {
  const { relay, link, channel, events } = await readyChannel(false);
  assert.equal(channel.sent.length, 0);
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  assert.deepEqual(events, [['open', undefined]]);
  assert.equal(link.opened, true);
  assert.deepEqual(await sentBodies(channel), [{ t: 'relay_probe' }, { t: 'relay_probe' }]);
  relay.close();
});

test('frames wait for credit in order; a refusal other than 457 loses the link with a clear error', async () => {
  const { relay, link, channel, events } = await readyChannel(false);
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  channel.sent.length = 0;
  const big = new Uint8Array(link.messageSize);
  assert.equal(await link.sendBinary(big), true);
  let second = null;
  link.sendBinary(big).then((sent) => { second = sent; });
  link.send({ t: 'have', pieces: [2] }); // behind the waiting frame
  await settle();
  assert.equal(channel.sent.length, 1);
  assert.equal(second, null);
  fromPlugin(channel, JSON.stringify({ t: 'credit', from: ME, to: OTHER, bytes: 7 + link.messageSize }));
  await settle();
  assert.equal(second, true);
  assert.deepEqual(await sentBodies(channel), [link.messageSize, link.messageSize, { t: 'have', pieces: [2] }]);
  // The channel's own buffer holds frames back too.
  fromPlugin(channel, JSON.stringify({ t: 'credit', from: ME, to: OTHER, bytes: 10 * WINDOW }));
  channel.bufferedAmount = 4 << 20;
  link.send({ t: 'have', pieces: [3] });
  await settle();
  assert.equal(channel.sent.length, 3);
  channel.bufferedAmount = 0;
  channel.dispatchEvent(new Event('bufferedamountlow'));
  assert.equal(channel.sent.length, 4);
  fromPlugin(channel, JSON.stringify({ t: 'refused', to: OTHER, error_code: 458, error: 'window' }));
  assert.equal(events.at(-1)[0], 'lost');
  assert.match(events.at(-1)[1].message, /relay refused a message \(458: window\)/);
  assert.equal(await link.sendBinary(big), false);
  relay.close();
});

test('once open, 457 means the other member left the relay; losing the channel loses every link', async () => {
  const first = await readyChannel(false);
  fromPlugin(first.channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  fromPlugin(first.channel, JSON.stringify({ t: 'refused', to: OTHER, error_code: 457, error: 'gone' }));
  assert.match(first.events.at(-1)[1].message, /left the server’s relay/);
  first.relay.close();

  const second = await readyChannel(false);
  second.channel.dispatchEvent(new Event('close'));
  assert.match(second.events.at(-1)[1].message, /closed its relay/);
  const late = second.relay.link({ shareId: 'f'.repeat(16), remoteId: 'bbbbbbbbbbbb', initiator: true, key: KEY });
  const lost = await new Promise((resolve) => late.on('lost', resolve));
  assert.match(lost.message, /Could not use the server’s relay/);
});

test('a binary message waiting for several members goes out once, to all of them (fan-out)', async () => {
  const { relay, link, channel } = await readyChannel(false);
  const third = 'c0ffee123456';
  const other = relay.link({ shareId: 'f'.repeat(16), remoteId: third, initiator: false, key: KEY });
  await sleep(0);
  // Both answer their askers' probes, so both are open.
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  fromPlugin(channel, await textFrom(third, { t: 'relay_probe' }));
  await settle();
  channel.sent.length = 0;
  channel.readyState = 'open';
  channel.bufferedAmount = 8 << 20; // over the high watermark: both messages wait in their queues
  const piece = new Uint8Array(40_000).fill(7);
  const sent = [link.sendBinary(piece), other.sendBinary(piece.slice()), link.sendBinary(new Uint8Array(10).fill(1))];
  channel.bufferedAmount = 0;
  channel.dispatchEvent(new Event('bufferedamountlow'));
  assert.deepEqual(await Promise.all(sent), [true, true, true]);
  const frames = channel.sent.map((frame) => ({ targets: frame[7], length: frame.length }));
  // One frame to both (8 + 2·6 header bytes), then the message only one of them waits for.
  assert.deepEqual(frames, [{ targets: 2, length: 20 + 40_000 }, { targets: 1, length: 14 + 10 }]);
});

test('a relayed link whose queue passes its bound (no credit comes back) is lost alone; a throwing channel loses the relay, not the page', async () => {
  const { LINK_OVERFLOW } = await import('../../web/src/engine/net/outbox.js');
  const { LINK_QUEUE_MAX_MESSAGES } = await import('../../web/src/engine/config.js');
  const { relay, link, channel, events } = await readyChannel(false);
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  const big = new Uint8Array(link.messageSize);
  await link.sendBinary(big); // spends the window but a few small messages: then all waits for credit
  const before = channel.sent.length;
  const sends = LINK_QUEUE_MAX_MESSAGES + 100;
  const accepted = [];
  for (let i = 0; i < sends; i++) accepted.push(link.sendInTurn({ t: 'reject', piece: i }));
  const outcomes = await Promise.all(accepted);
  const went = channel.sent.length - before;
  // Those that went, then the queue's bound held, then the one that overflowed it lost the link.
  assert.equal(outcomes.filter((sent) => sent).length, went);
  assert.equal(outcomes.filter((sent) => !sent).length, sends - went);
  assert.ok(sends - went > 100, `${went} went`);
  assert.equal(events.at(-1)[0], 'lost');
  assert.equal(events.at(-1)[1].code, LINK_OVERFLOW);
  relay.close();

  const second = await readyChannel(false);
  fromPlugin(second.channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  second.channel.send = () => { throw new DOMException('RTCDataChannel send queue is full', 'OperationError'); };
  second.link.send({ t: 'have', pieces: [1] });
  await settle();
  assert.equal(second.events.at(-1)[0], 'lost');
  assert.match(second.events.at(-1)[1].message, /Could not send through the server’s relay: RTCDataChannel send queue is full/);
  assert.equal(second.relay.lost, true);
});

test('text is sealed for this link: one altered on the way, or sealed for another member, loses the link and is not read', async () => {
  for (const spoil of [
    (frame) => { frame[20] ^= 1; }, // a byte of the ciphertext
    (frame) => { frame[7] ^= 1; }, // a byte of the nonce
  ]) {
    const { relay, channel, events } = await readyChannel(false);
    const frame = new Uint8Array(await textFrom(OTHER, { t: 'relay_probe' }));
    spoil(frame);
    fromPlugin(channel, frame.buffer);
    await settle();
    assert.deepEqual(events.map(([type]) => type), ['lost']);
    assert.match(events[0][1].message, /refused: .*does not open/);
    relay.close();
  }
  // Sealed by OTHER for a third member, and passed to us by the relay as if it were for us.
  const { relay, channel, events } = await readyChannel(false);
  const sealed = await sealText(KEY, OTHER, 'c0ffee123456', new TextEncoder().encode(JSON.stringify({ t: 'relay_probe' })));
  fromPlugin(channel, Uint8Array.from([0, ...Buffer.from(OTHER, 'hex'), ...sealed]).buffer);
  await settle();
  assert.deepEqual(events.map(([type]) => type), ['lost']);
  relay.close();
});

test('a piece frame after text keeps its place while the text is opened', async () => {
  const { relay, channel, events } = await readyChannel(false);
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  const hashes = await textFrom(OTHER, { t: 'hashes', first: 0 });
  const piece = Uint8Array.from([1, ...Buffer.from(OTHER, 'hex'), 0, 0, 0, 0, 0, 0, 0, 0, 42]).buffer;
  fromPlugin(channel, hashes);
  fromPlugin(channel, piece);
  await settle();
  assert.deepEqual(events.map(([type]) => type), ['open', 'message', 'data']);
  relay.close();
});

test('bytes in flight with no credit back for linkStallMs lose the link as stalled; credits keep it; a new link to the member starts with an empty window', async () => {
  const { relay, link, channel, events } = await readyChannel(false, { linkStallMs: 200 });
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  const big = new Uint8Array(link.messageSize);
  assert.equal(await link.sendBinary(big), true);
  for (let i = 0; i < 3; i++) { // credited now and then: alive
    await sleep(120);
    fromPlugin(channel, JSON.stringify({ t: 'credit', from: ME, to: OTHER, bytes: 1000 }));
  }
  assert.deepEqual(events.map(([type]) => type), ['open']);
  await sleep(300);
  assert.equal(events.at(-1)[0], 'lost');
  assert.equal(events.at(-1)[1].code, 'stalled');
  // The member's window is still full, but a new link to it starts empty.
  const again = relay.link({ shareId: 'f'.repeat(16), remoteId: OTHER, initiator: false, key: KEY });
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  await settle();
  const before = channel.sent.length;
  assert.equal(await again.sendBinary(big), true);
  assert.equal(channel.sent.length, before + 1);
  relay.close();
});

test('a relay connection lost on our side is hung up, so that the next relay request gets a new offer', async () => {
  const { signalling, relay } = await readyChannel(false);
  assert.deepEqual(signalling.calls.map(([call]) => call), ['relay', 'relay_answer']);
  pcs.at(-1).connectionState = 'failed';
  pcs.at(-1).dispatchEvent(new Event('connectionstatechange'));
  assert.equal(relay.lost, true);
  assert.deepEqual(signalling.calls.map(([call]) => call), ['relay', 'relay_answer', 'hangup']);
});

test('before a probe opened the link, frames left over from an earlier link with the member are dropped, not taken as its first message', async () => {
  const { relay, link, channel, events } = await readyChannel(false);
  fromPlugin(channel, await textFrom(OTHER, { t: 'request', piece: 3 })); // the old link's
  const frame = new Uint8Array(7 + 20);
  frame.set([1, ...Buffer.from(OTHER, 'hex')]);
  fromPlugin(channel, frame.buffer);
  await settle();
  assert.deepEqual([events, link.opened], [[], false]);
  fromPlugin(channel, await textFrom(OTHER, { t: 'relay_probe' }));
  fromPlugin(channel, await textFrom(OTHER, { t: 'hello' }));
  await settle();
  assert.deepEqual(events, [['open', undefined], ['message', { t: 'hello' }]]);
  relay.close();
});
