// The origin of a share: makes its keys and manifest, creates the share (or takes back the one it
// made before a reload), and seeds: every piece is read, encrypted and hashed when a peer first
// asks for it, and its signed hash goes to every linked peer (docs/protocol.md parts 2 and 3).
import { MEDIA_PIECE_SIZE, PIECE_SIZE, PROGRESS_INTERVAL_MS } from './config.js';
import {
  TAG_LENGTH, createShareKeys, encryptPiece, exportSigningKey, importSigningKey, openShareKeys, parseLinkSecret, pieceCount,
  pieceHash, pieceRange, sealManifest, shareablePaths, signHashes, validateManifest,
} from './transfer/content.js';
import { Bitfield } from './transfer/bitfield.js';
import { Emitter } from './emitter.js';
import { FileSource } from './transfer/file-source.js';
import { HashBook } from './transfer/hashes.js';
import { MetricsRecorder } from './metrics.js';
import { forgetShare, loadShare, pickKey, saveShare } from './transfer/keystore.js';
import { looksLikeMedia } from './media/hint.js';
import { scanFragmentedMp4 } from './media/mp4.js';
import { shareUrl } from './links.js';
import { bytesHeld } from './transfer/pieces.js';
import { Seeder } from './transfer/seeder.js';
import {
  ERR_BAD_OWNER_TOKEN, ERR_PEER_TAKEN, PluginError, Signalling, errorKindOf, joinAgain,
} from './net/signalling.js';
import { newTransferState, rejoined } from './state.js';
import { TransferRate } from './transfer/stats.js';
import { Swarm } from './net/swarm.js';
import { Tracker, learnAddress } from './net/tracker.js';

/**
 * state: {role: 'owner', shareId, peerId, phase, bytes, total, error, link, receivers, copies,
 * peers, uploadedBytes, uploadedCopies},
 * where link is the share link (with its secret), bytes the sum of what the receivers hold,
 * receivers a list of {peer, phase: 'connecting'|'transferring'|'done', path:
 * 'lan'|'direct'|'turn'|'relay'|null (see PeerLink; how we are, or were last, linked to it; null
 * before any link opened), bytes, bytesPerSecond, secondsLeft}, and copies the complete copies
 * held by receivers in the share now (Swarm.completeMembers: the tracker's word or their `have`;
 * the metrics' copies are these and this page's): with one or more, the share goes on without
 * this page (closing it is not stopping; stop() is); peers the traffic with each member (Swarm.peerMetrics), uploadedBytes
 * the piece bytes this page sent and uploadedCopies that divided by the share's size (the origin
 * should upload about one copy however many receivers there are).
 * Phase: 'waiting' (for a file, then for receivers), 'connecting' (creating the share),
 * 'transferring' (at least one receiver is), 'done' (receivers got it, none is transferring),
 * 'stopped' (stop(): the share is closed for everyone), 'error'.
 * Event 'change' (the state) whenever it changes.
 * metrics(): the page's metrics snapshot (metrics.js, docs/metrics.md), recorded from share()
 * until the page leaves the share.
 */
export class Sender extends Emitter {
  state = {
    ...newTransferState('owner', 'waiting'), link: null, receivers: [], copies: 0, peers: [], uploadedBytes: 0, uploadedCopies: 0,
  };
  #manifest = null;
  #files = null;
  #keys = null; // {contentKey, relayKey, signingKey}
  #signalling = null;
  #ownerToken = null;
  #peerSecret = null; // proves our member id when we join again
  #key = null; // this pick's key in the keystore
  #stopping = false; // stop() asked the server to close the share: its share_closed is ours
  #swarm = null;
  #book = null;
  #seeder = null;
  #rows = new Map(); // peer id -> {peer, bytes, pieces, complete, rate, path, firstHeld}
  #ticker = null;
  #settings;
  #tracker = null;
  #metrics = new MetricsRecorder({ page: 'sender', swarm: () => this.#swarm, describe: () => this.#describe() });

  // settings: the page's {iceServers, relayOnly} (see Swarm) and testHooks (see Seeder).
  constructor(settings) {
    super();
    this.#settings = settings;
  }

  // picked: [{path, file}], the files of the share in order. Each path is shared under a name
  // that passes "File names" (content.js shareablePaths): every real file shares.
  async share(picked) {
    const names = shareablePaths(picked.map(({ path }) => path));
    const entries = picked.map(({ file }, i) => ({ path: names[i], file }));
    this.#files = new FileSource(entries);
    this.#metrics.start();
    this.state.total = this.#files.total;
    this.#changed();
    try {
      const address = learnAddress(this.#settings.iceServers); // meanwhile: it may take a moment
      await this.#files.check();
      this.#manifest = validateManifest({
        v: 1,
        piece_size: entries.some(isMedia) ? MEDIA_PIECE_SIZE : PIECE_SIZE,
        total: this.#files.total,
        files: await Promise.all(entries.map(({ path, file }) => fileEntry(path, file))),
      });
      this.#signalling = await Signalling.connect();
      this.#signalling.on('share_closed', () => {
        if (!this.#stopping) this.#fail('The server closed the share.');
      });
      this.#signalling.on('error', (error) => {
        this.#fail(`${error.message} Sharing stopped; reload the page to share again.`);
      });
      this.#signalling.on('reconnecting', () => {
        this.state.reconnecting = true;
        this.#changed();
      });
      this.#signalling.on('reconnected', () => this.#rejoin());
      this.#swarm = new Swarm({
        signalling: this.#signalling, asks: false, handle: (peer, message) => this.#handle(peer, message), settings: this.#settings,
      });
      this.#tracker = new Tracker({
        signalling: this.#signalling,
        address: await address,
        holding: () => ({ complete: true, held: null }), // the origin holds everything
        links: () => [...this.#swarm.peers.values()].filter((peer) => peer.open),
        maxLinks: () => this.#swarm.maxLinks,
      });
      this.#swarm.on('change', () => this.#changed());
      // Nothing one peer does fails the share: its link closes, and it may be banned (Swarm).
      this.#swarm.on('open', (peer) => this.#seeder.greet(peer));
      this.#book = new HashBook(pieceCount(this.#manifest.total, this.#manifest.piece_size), null);
      const key = await pickKey(entries, this.#manifest);
      this.#key = key;
      const { linkSecret, shareId, peerId, peerSecret, joined, ownerToken, created } = await this.#claim(key);
      // In the same task as the join or create answer: no event of the share is missed.
      Object.assign(this.state, { shareId, peerId, link: shareUrl(shareId, linkSecret) });
      this.#ownerToken = ownerToken;
      this.#peerSecret = peerSecret;
      this.#swarm.start({ shareId, selfId: peerId, joined, relayKey: this.#keys.relayKey });
      this.#tracker.start(shareId);
      this.#changed();
      if (created) {
        await saveShare(key, { shareId, ownerToken, linkSecret, signingKey: await exportSigningKey(this.#keys.signingKey) });
      }
    } catch (error) {
      this.#fail(error.message, error);
      return;
    }
    this.#ticker = setInterval(() => this.#changed(), PROGRESS_INTERVAL_MS);
    this.#changed();
  }

  // The share this pick had before a reload, if the server still has it (same keys, same link);
  // else a new one, with its owner token to keep. The join or create answer is the last thing
  // awaited here.
  async #claim(key) {
    const saved = await loadShare(key);
    if (saved) {
      await this.#prepare({ ...parseLinkSecret(saved.linkSecret), signingKey: await importSigningKey(saved.signingKey) });
      try {
        const joined = await this.#signalling.join(saved.shareId, { ownerToken: saved.ownerToken, address: this.#tracker.address });
        return {
          linkSecret: saved.linkSecret, shareId: joined.share, peerId: joined.peer, peerSecret: joined.peer_secret,
          joined, ownerToken: saved.ownerToken,
        };
      } catch (error) {
        if (!(error instanceof PluginError)) throw error; // else it is gone (or open elsewhere): make a new one
      }
    }
    const keys = await createShareKeys();
    await this.#prepare(keys);
    const created = await this.#signalling.create();
    return {
      linkSecret: keys.linkSecret, shareId: created.share, peerId: created.peer, peerSecret: created.peer_secret, joined: {},
      ownerToken: created.owner_token, created: true,
    };
  }

  // The server is back (it restarted, or our connection to it was lost) and forgot us: we take
  // our share again with its owner token, under the same member id; a restarted server makes it
  // again. While the server has not yet noticed that our old connection is gone, it still sees
  // us as the owner present ("bad owner token", "id taken"): that is asked again for a while.
  async #rejoin() {
    try {
      const joined = await joinAgain(this.#signalling, {
        share: this.state.shareId, ownerToken: this.#ownerToken, peerSecret: this.#peerSecret, address: this.#tracker.address,
        retryCodes: [ERR_BAD_OWNER_TOKEN, ERR_PEER_TAKEN],
      });
      if (joined) rejoined(this.state, this.#swarm, joined);
      this.#changed();
    } catch (error) {
      this.#fail(`${error.message} Sharing stopped; reload the page to share again.`, error);
    }
  }

  // The keys, and the seeder that offers the sealed manifest and every piece.
  async #prepare(keys) {
    const { contentKey, relayKey } = await openShareKeys(keys);
    this.#keys = { contentKey, relayKey, signingKey: keys.signingKey };
    const everything = new Bitfield(this.#book.pieceCount);
    for (let piece = 0; piece < everything.length; piece++) everything.set(piece);
    this.#seeder = new Seeder({
      swarm: this.#swarm,
      pieceSize: this.#manifest.piece_size,
      sealed: await sealManifest(contentKey, keys.signingKey, this.#manifest),
      book: this.#book,
      announced: everything,
      ciphertext: (piece) => this.#ciphertext(piece),
      servable: () => true, // it signs each hash the first time it reads the piece
      onError: (error) => this.#fail(error.message),
      spread: true,
      testHooks: this.#settings.testHooks,
    });
  }

  // C_i, and the first time, its signed hash to every linked peer (before the piece itself).
  async #ciphertext(piece) {
    const { start, end } = pieceRange(this.#manifest, piece);
    const ciphertext = await encryptPiece(this.#keys.contentKey, piece, await this.#files.read(start, end));
    if (!this.#book.has(piece)) {
      const hashes = await pieceHash(ciphertext);
      const batch = { first: piece, count: 1, hashes, sig: await signHashes(this.#keys.signingKey, piece, hashes) };
      if (this.#book.add(batch).length > 0) this.#seeder.passOn(batch);
    }
    return ciphertext;
  }

  // The origin holds everything: it only listens to what receivers hold and ask for.
  // Manifests, hashes, refusals and piece data from receivers are nothing the origin needs.
  #handle(peer, message) {
    if (this.#seeder.take(peer, message)) return;
    if (message.t === 'have') {
      peer.addHave(message, this.#book.pieceCount);
      this.#record(peer);
    }
  }

  #record(peer) {
    const row = this.#row(peer.id);
    noteHolding(row, bytesHeld(this.#manifest, peer.remote), peer.remote.count);
    row.complete = peer.remote.complete;
    row.rate.update(row.bytes);
    this.#changed();
  }

  #row(id) {
    if (!this.#rows.has(id)) this.#rows.set(id, { peer: id, bytes: 0, pieces: 0, complete: false, rate: new TransferRate(), path: null, firstHeld: null });
    return this.#rows.get(id);
  }

  // Closes the share for everyone: receivers are told the sender stopped, and the link leads
  // nowhere from now on (picking the same files again makes a new one).
  async stop() {
    if (!this.state.shareId || this.#stopping || ['stopped', 'error'].includes(this.state.phase)) return;
    this.#stopping = true;
    try {
      await this.#signalling.stopShare(this.state.shareId, this.#ownerToken);
      await forgetShare(this.#key);
    } catch (error) {
      this.#stopping = false;
      this.#fail(`Could not stop sharing: ${error.message}`);
      return;
    }
    this.state.phase = 'stopped';
    this.#leaveShare();
    this.#changed();
  }

  // error: what failed, when it has a kind the page words itself (errorKind).
  #fail(message, error = null) {
    if (['stopped', 'error'].includes(this.state.phase)) return;
    this.state.errorKind = errorKindOf(error);
    this.state.error = message;
    this.state.phase = 'error';
    this.#leaveShare();
    this.#changed();
  }

  // This page stops serving; the share goes on with its receivers (an owner that left may come
  // back with its token), until it is stopped or expires.
  async #leaveShare() {
    clearInterval(this.#ticker);
    this.#metrics.stop();
    this.#tracker?.stop();
    const leaving = this.state.phase !== 'stopped' && this.state.shareId ? this.#signalling?.leave(this.state.shareId) : null;
    this.#swarm?.close();
    await leaving?.catch(() => {}); // we are gone either way
    this.#signalling?.close();
  }

  #changed() {
    // A receiver that got everything stays listed after it leaves, so the sender sees who has it.
    const members = this.#swarm?.members ?? new Map();
    for (const [id, role] of members) if (role === 'receiver') this.#row(id);
    for (const [id, row] of this.#rows) if (!members.has(id) && !row.complete) this.#rows.delete(id);
    // The path of the latest link that opened: a link being set up has none yet.
    for (const [id, peer] of this.#swarm?.peers ?? []) if (this.#rows.has(id) && peer.open) this.#rows.get(id).path = peer.link.path;
    const total = this.state.total;
    this.state.receivers = [...this.#rows.values()].map(({ peer, bytes, complete, rate, path }) => ({
      peer,
      phase: complete ? 'done' : this.#swarm.peers.get(peer)?.open ? 'transferring' : 'connecting',
      path,
      bytes,
      bytesPerSecond: rate.bytesPerSecond,
      secondsLeft: rate.secondsLeft(total),
    }));
    this.state.bytes = this.state.receivers.reduce((sum, receiver) => sum + receiver.bytes, 0);
    this.state.copies = this.#swarm?.completeMembers() ?? 0;
    this.state.paths = this.#swarm?.pathMetrics() ?? {};
    this.state.peers = this.#swarm?.peerMetrics() ?? [];
    this.state.uploadedBytes = Object.values(this.state.paths).reduce((sum, path) => sum + path.sent, 0);
    this.state.uploadedCopies = total > 0 ? this.state.uploadedBytes / total : 0;
    this.state.requests = this.#signalling?.requestStats ?? this.state.requests;
    if (!['stopped', 'error'].includes(this.state.phase)) this.state.phase = this.#phase();
    this.emit('change', this.state);
  }

  metrics() {
    return this.#metrics.snapshot();
  }

  // What the metrics recorder asks of the sender (MetricsRecorder describe()): the origin holds
  // every piece, and is one of the complete copies (itself and state.copies). Its receivers'
  // holdings count what each gained since its first `have` to this page (what it held before,
  // from an earlier visit or before this page's reload, this page never sent: `sent` is this
  // page load's), as the piece bytes that cross a link (with each piece's tag), as `sent` is.
  #describe() {
    const { shareId, peerId, phase, total, requests, reconnections, copies } = this.state;
    const reportedHeld = gainedSinceFirstHave(this.#rows.values());
    return {
      shareId, peerId, phase, share: { files: this.#manifest?.files.length ?? 0, total, pieceSize: this.#manifest?.piece_size ?? null },
      held: total, reportedHeld, copies: 1 + copies, badPieces: 0, playback: null,
      requests, reconnections,
    };
  }

  #phase() {
    const phases = this.state.receivers.map((receiver) => receiver.phase);
    if (!this.#files) return 'waiting';
    if (!this.state.link) return 'connecting';
    if (phases.includes('transferring')) return 'transferring';
    if (phases.includes('done')) return 'done';
    return 'waiting';
  }
}

// A receiver row's `have` taken in: what it holds now (bytes, pieces), and at the first one, what
// it held before this page could send it anything (firstHeld).
export function noteHolding(row, bytes, pieces) {
  Object.assign(row, { bytes, pieces });
  row.firstHeld ??= onLink(row);
}

// What the rows' receivers gained since their first `have` to this page (none before one), as
// the piece bytes that cross a link: the divisor of the sender's offload.
export function gainedSinceFirstHave(rows) {
  let gained = 0;
  for (const row of rows) if (row.firstHeld !== null) gained += onLink(row) - row.firstHeld;
  return gained;
}

// A receiver row's holding as the piece bytes that cross a link: each piece with its GCM tag.
function onLink({ bytes, pieces }) {
  return bytes + pieces * TAG_LENGTH;
}

const MP4_NAME = /\.(mp4|m4v|m4a|mov|cmfv|cmfa|mp4v)$/i;

// A video or audio file (a hint: media/hint.js) gets the smaller pieces.
function isMedia({ path, file }) {
  return looksLikeMedia(path, file.type);
}

// A file's manifest entry: a fragmented MP4 gets its fragment index and the MSE type with its
// codecs (docs/protocol.md part 3), so that receivers can play it while it downloads; anything
// else, or an MP4 the scan cannot index, is a plain file with the browser's type.
async function fileEntry(path, file) {
  const entry = { path, size: file.size, type: file.type };
  if (!MP4_NAME.test(path) && !/^(video|audio)\/mp4$/i.test(file.type)) return entry;
  const scanned = await scanFragmentedMp4(file).catch(() => null);
  if (!scanned) return entry;
  return { ...entry, type: scanned.type ?? file.type, fragments: scanned.fragments };
}
