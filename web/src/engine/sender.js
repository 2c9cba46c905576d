// The sending side: creates a share for one File and serves it to any number of receivers, each
// over its own PeerLink (docs/protocol.md, part 2).
import { READ_AHEAD_CHUNKS } from './config.js';
import { Emitter } from './emitter.js';
import { Signalling } from './signalling.js';
import { newTransferState } from './state.js';
import { TransferRate } from './stats.js';
import { PeerLink } from './transport.js';

// The file could not be read: fatal for the whole share, not only for one receiver.
class FileReadError extends Error {}

/**
 * state: {role: 'owner', shareId, peerId, phase, bytes, total, error, receivers}, where
 * bytes is the sum of what the receivers hold and receivers is a list of
 * {peer, phase: 'connecting'|'transferring'|'done'|'failed', bytes, bytesPerSecond, secondsLeft, error}.
 * Phase: 'waiting' (for a file, then for receivers), 'connecting' (creating the share),
 * 'transferring' (at least one receiver is), 'done' (receivers got it, none is transferring), 'error'.
 * Event 'change' (the state) whenever it changes.
 */
export class Sender extends Emitter {
  state = { ...newTransferState('owner', 'waiting'), receivers: [] };
  #file = null;
  #signalling = null;
  #receivers = new Map(); // peer id -> {peer, phase, bytes, rate, error, link, streaming}

  async share(file) {
    this.#file = file;
    this.state.total = file.size;
    this.#changed();
    try {
      await assertReadable(file);
      this.#signalling = await Signalling.connect();
      this.#listen(this.#signalling);
      const created = await this.#signalling.create();
      this.state.shareId = created.share;
      this.state.peerId = created.peer;
    } catch (error) {
      this.#fail(error.message);
      return;
    }
    this.#changed();
  }

  // Our handle is a peer of this one share only, so events need no share id check.
  #listen(signalling) {
    signalling.on('peer_joined', ({ peer, role }) => {
      if (role !== 'receiver') return;
      this.#receiver(peer);
      this.#changed();
    });
    signalling.on('peer_left', ({ peer }) => this.#onPeerLeft(peer));
    signalling.on('signal', ({ from, payload }) => this.#onSignal(from, payload));
    signalling.on('share_closed', () => this.#fail('The server closed the share.'));
    signalling.on('error', (error) => {
      this.#fail(`${error.message} Sharing stopped; reload the page to share again.`);
    });
  }

  #receiver(peer) {
    if (!this.#receivers.has(peer)) {
      this.#receivers.set(peer, {
        peer, phase: 'connecting', bytes: 0, rate: new TransferRate(), error: null, link: null, streaming: null,
      });
    }
    return this.#receivers.get(peer);
  }

  #onSignal(from, payload) {
    // Every offer starts a new link: a receiver that sends another one gave up on the previous.
    if (payload?.kind === 'sdp' && payload.sdp?.type === 'offer') {
      const receiver = this.#receiver(from);
      this.#disconnect(receiver);
      receiver.link = this.#openLink(receiver);
      Object.assign(receiver, { phase: 'connecting', error: null });
      this.#changed();
    }
    this.#receivers.get(from)?.link?.handleSignal(payload);
  }

  #openLink(receiver) {
    const link = new PeerLink({
      initiator: false,
      sendSignal: (payload) => this.#signalling.signal(this.state.shareId, receiver.peer, payload),
    });
    link.on('open', () => {
      const { name, size, type } = this.#file;
      link.send({ t: 'meta', name, size, type });
      receiver.phase = 'transferring';
      this.#changed();
    });
    link.on('message', (message) => this.#onMessage(receiver, message));
    link.on('lost', (error) => this.#failReceiver(receiver, error.message));
    return link;
  }

  #onMessage(receiver, message) {
    switch (message.t) {
      case 'want':
        this.#stream(receiver, message.offset);
        break;
      case 'progress':
        this.#record(receiver, message.bytes);
        break;
      case 'done':
        this.#record(receiver, this.#file.size);
        receiver.phase = 'done';
        // Nothing more will flow on this link.
        this.#disconnect(receiver);
        break;
      // Unknown message types are ignored: a newer receiver may say more than we understand.
    }
    this.#changed();
  }

  // Streams the file from `offset`, replacing any stream already running for this receiver.
  #stream(receiver, offset) {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > this.#file.size) {
      this.#failReceiver(receiver, 'It asked for data outside the file.');
      return;
    }
    receiver.streaming?.abort();
    const streaming = new AbortController();
    receiver.streaming = streaming;
    receiver.link.sendStream(readSlices(this.#file, offset, receiver.link.chunkSize), streaming.signal)
      .catch((error) => {
        if (error instanceof FileReadError) this.#fail(error.message);
        else this.#failReceiver(receiver, `Could not send: ${error.message}`);
      });
  }

  // What a receiver says it holds; it only feeds the display.
  #record(receiver, bytes) {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > this.#file.size) return;
    receiver.bytes = bytes;
    receiver.rate.update(bytes);
  }

  #onPeerLeft(peer) {
    const receiver = this.#receivers.get(peer);
    if (!receiver) return;
    this.#disconnect(receiver);
    // A receiver that got the whole file stays listed, so the sender sees who has it.
    if (receiver.phase !== 'done') this.#receivers.delete(peer);
    this.#changed();
  }

  #failReceiver(receiver, message) {
    this.#disconnect(receiver);
    if (receiver.phase === 'done') return;
    Object.assign(receiver, { phase: 'failed', error: message });
    this.#changed();
  }

  #disconnect(receiver) {
    receiver.streaming?.abort();
    receiver.link?.close();
    Object.assign(receiver, { streaming: null, link: null });
  }

  #fail(message) {
    if (this.state.phase === 'error') return;
    this.state.error = message;
    this.state.phase = 'error';
    this.#closeShare();
    this.#changed();
  }

  // Leaving closes the share at once: receivers hear share_closed instead of waiting out the
  // owner grace period (which is for an owner that may come back, not one that gave up).
  async #closeShare() {
    const leaving = this.state.shareId && this.#signalling?.leave(this.state.shareId);
    for (const receiver of this.#receivers.values()) this.#disconnect(receiver);
    await leaving?.catch(() => {}); // the share is gone either way
    this.#signalling?.close();
  }

  #changed() {
    const receivers = [...this.#receivers.values()];
    const size = this.#file?.size ?? 0;
    if (this.state.phase !== 'error') this.state.phase = this.#phase(receivers);
    this.state.bytes = receivers.reduce((sum, receiver) => sum + receiver.bytes, 0);
    this.state.receivers = receivers.map(({ peer, phase, bytes, rate, error }) => ({
      peer, phase, bytes, bytesPerSecond: rate.bytesPerSecond, secondsLeft: rate.secondsLeft(size), error,
    }));
    this.emit('change', this.state);
  }

  #phase(receivers) {
    if (!this.#file) return 'waiting';
    if (!this.state.shareId) return 'connecting';
    if (receivers.some((receiver) => receiver.phase === 'transferring')) return 'transferring';
    if (receivers.some((receiver) => receiver.phase === 'done')) return 'done';
    return 'waiting';
  }
}

async function assertReadable(file) {
  try {
    await file.slice(0, 1).arrayBuffer();
  } catch {
    throw new Error(`Cannot read “${file.name}”: it may be a folder, or no longer there.`);
  }
}

// Reads `file` from `offset` in chunks of `chunkSize`, at most READ_AHEAD_CHUNKS ahead of the
// consumer: only a few chunks of the file are ever in memory.
async function* readSlices(file, offset, chunkSize) {
  const reads = [];
  let next = offset;
  const readAhead = () => {
    while (reads.length < READ_AHEAD_CHUNKS && next < file.size) {
      const end = Math.min(next + chunkSize, file.size);
      reads.push(file.slice(next, end).arrayBuffer());
      next = end;
    }
  };
  try {
    readAhead();
    while (reads.length > 0) {
      let chunk;
      try {
        chunk = await reads.shift();
      } catch (error) {
        throw new FileReadError(`Could not read “${file.name}” any more (${error.message}). Sharing stopped.`);
      }
      readAhead();
      yield chunk;
    }
  } finally {
    // Reads still in flight when the consumer stops must not become unhandled rejections.
    for (const read of reads) read.catch(() => {});
  }
}
