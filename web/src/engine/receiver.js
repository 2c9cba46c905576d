// The receiving side: joins a share, links to its owner, fetches the file and saves it.
import { PROGRESS_INTERVAL_MS, RECEIVE_BLOB_PART_BYTES } from './config.js';
import { Emitter } from './emitter.js';
import { ERR_NO_SUCH_SHARE, ERR_SHARE_FULL, SHARE_ID_PATTERN, Signalling } from './signalling.js';
import { newTransferState } from './state.js';
import { TransferRate } from './stats.js';
import { PeerLink } from './transport.js';

export const NO_SUCH_SHARE_MESSAGE =
  'This link does not lead to a share: it never existed or its sender has stopped sharing.';
const SENDER_STOPPED_MESSAGE = 'The sender stopped sharing.';
const SHARE_FULL_MESSAGE = 'This share has as many receivers as it can take; try again later.';

/**
 * state: {role: 'receiver', shareId, peerId, phase, bytes, total, error, fileName, bytesPerSecond,
 * secondsLeft, savedUrl}. Phase: 'connecting' (to the server, then to the sender), 'waiting' (the
 * share has no sender at the moment), 'transferring', 'done' (saved), 'error'.
 * Event 'change' (the state) whenever it changes, and at least every PROGRESS_INTERVAL_MS while
 * transferring.
 */
export class Receiver extends Emitter {
  state = {
    ...newTransferState('receiver', 'connecting'),
    fileName: null, bytesPerSecond: 0, secondsLeft: null, savedUrl: null,
  };
  #signalling = null;
  #link = null;
  #linkPeer = null; // the owner peer #link goes to
  #retriedPeer = null; // the owner peer we already reconnected to once after losing a link
  #meta = null;
  #parts = []; // Blobs of about RECEIVE_BLOB_PART_BYTES each
  #batch = []; // ArrayBuffers not yet gathered into a Blob
  #batchBytes = 0;
  #rate = new TransferRate();
  #ticker = null;

  constructor(shareId) {
    super();
    this.state.shareId = shareId;
  }

  async start() {
    this.#changed();
    if (!SHARE_ID_PATTERN.test(this.state.shareId)) {
      this.#fail(NO_SUCH_SHARE_MESSAGE);
      return;
    }
    try {
      this.#signalling = await Signalling.connect();
      this.#listen(this.#signalling);
      const joined = await this.#signalling.join(this.state.shareId);
      this.state.peerId = joined.peer;
      this.#followOwner(joined.peers);
    } catch (error) {
      if (error.errorCode === ERR_NO_SUCH_SHARE) this.#fail(NO_SUCH_SHARE_MESSAGE);
      else if (error.errorCode === ERR_SHARE_FULL) this.#fail(SHARE_FULL_MESSAGE);
      else this.#fail(error.message);
    }
  }

  // Our handle is a peer of this one share only, so events need no share id check.
  #listen(signalling) {
    signalling.on('peer_joined', ({ peer, role }) => {
      if (role === 'owner' && this.state.phase === 'waiting') this.#connect(peer);
    });
    signalling.on('peer_left', ({ peer }) => {
      // The sender's page is gone (its links with it, though ours may take long to notice):
      // wait for it to come back, and then resume where we stopped.
      if (peer !== this.#linkPeer || this.#isOver()) return;
      this.#dropLink();
      this.#setPhase('waiting');
    });
    signalling.on('signal', ({ from, payload }) => {
      if (from === this.#linkPeer) this.#link.handleSignal(payload);
    });
    signalling.on('share_closed', () => this.#fail(SENDER_STOPPED_MESSAGE));
    signalling.on('error', (error) => this.#fail(error.message));
  }

  #followOwner(peers) {
    const owner = peers.find((peer) => peer.role === 'owner');
    if (owner) this.#connect(owner.peer);
    else this.#setPhase('waiting');
  }

  #connect(ownerPeer) {
    const link = new PeerLink({
      initiator: true,
      sendSignal: (payload) => this.#signalling.signal(this.state.shareId, ownerPeer, payload),
    });
    link.on('message', (message) => {
      if (message.t === 'meta') this.#onMeta(message);
    });
    link.on('data', (chunk) => this.#onData(chunk));
    link.on('lost', (error) => this.#onLinkLost(link, ownerPeer, error));
    this.#link = link;
    this.#linkPeer = ownerPeer;
    this.#setPhase('connecting');
  }

  #onMeta({ name, size, type }) {
    if (this.state.phase !== 'connecting') return; // once per link, when it opens
    if (typeof name !== 'string' || name === '' || !Number.isSafeInteger(size) || size < 0) {
      this.#fail('The sender described the file in a way this page does not understand.');
      return;
    }
    // After a reconnection the sender must still offer the same file we have the start of.
    if (this.#meta && (this.#meta.name !== name || this.#meta.size !== size)) {
      this.#fail('The sender now shares a different file.');
      return;
    }
    this.#meta = { name, size, type: typeof type === 'string' ? type : '' };
    Object.assign(this.state, { fileName: name, total: size });
    if (this.state.bytes === size) {
      this.#finish(); // an empty file: nothing to ask for
      return;
    }
    // Resume where we are: after a reconnection we keep what we already have.
    this.#link.send({ t: 'want', offset: this.state.bytes });
    this.#setPhase('transferring');
    this.#ticker = setInterval(() => this.#reportProgress(), PROGRESS_INTERVAL_MS);
  }

  #onData(chunk) {
    if (this.state.phase !== 'transferring') {
      this.#fail('The sender sent file data before describing the file.');
      return;
    }
    if (this.state.bytes + chunk.byteLength > this.#meta.size) {
      this.#fail('The sender sent more data than the file holds.');
      return;
    }
    this.#batch.push(chunk);
    this.#batchBytes += chunk.byteLength;
    this.state.bytes += chunk.byteLength;
    if (this.#batchBytes >= RECEIVE_BLOB_PART_BYTES) this.#gatherBatch();
    if (this.state.bytes === this.#meta.size) this.#finish();
  }

  // Gathers the pending ArrayBuffers into one Blob, which the browser may keep on disk.
  #gatherBatch() {
    if (this.#batch.length === 0) return;
    this.#parts.push(new Blob(this.#batch));
    this.#batch = [];
    this.#batchBytes = 0;
  }

  #reportProgress() {
    this.#link?.send({ t: 'progress', bytes: this.state.bytes });
    this.#rate.update(this.state.bytes);
    this.#changed();
  }

  #finish() {
    clearInterval(this.#ticker);
    this.#gatherBatch();
    const file = new Blob(this.#parts, { type: this.#meta.type });
    this.#parts = [];
    this.#link.send({ t: 'done', bytes: this.state.bytes });
    this.#rate.update(this.state.bytes);
    this.state.savedUrl = save(file, this.#meta.name);
    // The sender closes the link once it reads 'done'.
    this.#setPhase('done');
  }

  async #onLinkLost(link, ownerPeer, error) {
    if (this.#isOver()) return;
    this.#dropLink();
    this.#setPhase('connecting');
    // Did the sender go (then wait for it or report the share's end) or only the link between us?
    let peers;
    try {
      ({ peers } = await this.#signalling.list(this.state.shareId));
    } catch (listError) {
      this.#fail(listError.errorCode === ERR_NO_SUCH_SHARE ? SENDER_STOPPED_MESSAGE : listError.message);
      return;
    }
    if (this.#isOver() || this.#link) return; // something else moved on meanwhile
    if (peers.some((peer) => peer.peer === ownerPeer && peer.role === 'owner')) {
      // The sender is still listed: either it is leaving right now (the server has not heard
      // yet) or the path between us broke. A link that worked gets one more try, resuming
      // where it stopped; a link that never opened, or a second loss, is final.
      if (!link.opened || this.#retriedPeer === ownerPeer) {
        this.#fail(error.message);
        return;
      }
      this.#retriedPeer = ownerPeer;
    }
    this.#followOwner(peers);
  }

  // Closes the link to the sender and stops the progress reports that go over it.
  #dropLink() {
    clearInterval(this.#ticker);
    this.#link?.close();
    this.#link = null;
    this.#linkPeer = null;
  }

  #isOver() {
    return this.state.phase === 'done' || this.state.phase === 'error';
  }

  #fail(message) {
    if (this.#isOver()) return;
    this.#dropLink();
    this.#parts = [];
    this.#batch = [];
    // Leave the share: the sender then drops us from its list.
    this.#signalling?.close();
    this.state.error = message;
    this.#setPhase('error');
  }

  #setPhase(phase) {
    this.state.phase = phase;
    this.#changed();
  }

  #changed() {
    this.state.bytesPerSecond = this.#rate.bytesPerSecond;
    this.state.secondsLeft = this.#meta ? this.#rate.secondsLeft(this.#meta.size) : null;
    this.emit('change', this.state);
  }
}

// Saves through a download link; the Blob URL stays valid so the page can offer to save again.
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  anchor.click();
  return url;
}
