// A receiver of a share: opens the link's keys, learns the manifest (kept from an earlier visit,
// or from the first peer that sends it), fetches the missing pieces from the owner and other
// receivers, keeps them on disk, re-serves them, and saves the files when all are there.
import { IDLE_FAILURE_DELAY_MS, PROGRESS_INTERVAL_MS, SNIFF_MAX_FILES } from './config.js';
import {
  IntegrityError, LinkError, ManifestError, encryptPiece, openManifest, openShareKeys, parseLinkSecret, pieceCount,
} from './transfer/content.js';
import { Bitfield } from './transfer/bitfield.js';
import { Downloader } from './transfer/downloader.js';
import { Emitter } from './emitter.js';
import { everyTick } from './frozen.js';
import { FileBytes, PiecesMissing, StreamedFileBytes } from './media/file-bytes.js';
import { likelyPlayed } from './media/hint.js';
import { HashBook } from './transfer/hashes.js';
import { MetricsRecorder } from './metrics.js';
import { MseFeeder } from './media/mse-feeder.js';
import { bytesHeld } from './transfer/pieces.js';
import { Player } from './media/player.js';
import { saveAllAsZip, saveFile } from './store/save.js';
import { Scheduler } from './transfer/scheduler.js';
import { Seeder } from './transfer/seeder.js';
import { controllingWorker } from './service-worker.js';
import { mediaType, playability, sniffMedia } from './media/sniff.js';
import { StreamServer, streamUrl } from './media/stream-server.js';
import {
  ERR_NO_SUCH_SHARE, ERR_PEER_TAKEN, ERR_SHARE_FULL, SHARE_ID_PATTERN, Signalling, errorKindOf, joinAgain,
} from './net/signalling.js';
import { newTransferState, rejoined } from './state.js';
import { TransferRate } from './transfer/stats.js';
import { PieceStore, StorageError, forgetStoredShare } from './store/store.js';
import { Swarm } from './net/swarm.js';
import { Tracker, learnAddress } from './net/tracker.js';
import { ProtocolError } from './net/wire.js';

export const NO_SUCH_SHARE_MESSAGE =
  'This link does not lead to a share: it never existed or its sender has stopped sharing.';
const SENDER_STOPPED_MESSAGE = 'The sender stopped sharing.';
const SHARE_EXPIRED_MESSAGE = 'This share has ended: its sender left a long time ago.';
const SHARE_FULL_MESSAGE = 'This share has as many receivers as it can take; try again later.';

/**
 * state: {role: 'receiver', shareId, peerId, phase, bytes, total, pieceSize, error, fileName, files, saved,
 * bytesPerSecond, secondsLeft, badPieces, downloadedBytes, peers}, where bytes counts the bytes
 * held (on disk, this visit or earlier), pieceSize the share's (null until the manifest is
 * known), downloadedBytes the piece bytes received over the network
 * in this page load, badPieces the pieces that failed verification, files the manifest's
 * [{path, size, type}], saved whether this page started saving them, and peers one entry per peer
 * linked in this page load (Swarm.peerMetrics: {peer, role, tier, phase: 'connecting'|'open'|
 * 'gone'|'banned', ban, path: 'lan'|'direct'|'turn'|'relay' (PeerLink's path; relay: the
 * server's relay), pieces, bad, downloadedBytes, uploadedBytes, byPath});
 * media: one entry per file, in manifest order, once the manifest is known: {file, path, size,
 * status: 'checking' (its first bytes, or an MP4's index, are not here yet) | 'known' |
 * 'unchecked' (past SNIFF_MAX_FILES), kind: 'video'|'audio'|'image'|null (not media), container,
 * type (the sniffed MIME type with codecs), playable (this browser's answer), reason, codec (why
 * not: sniff.js playability)}; streams: the streaming responses open; and player: null, or the
 * state of the file being played (player.js), after play(file, element); lacks: what this browser
 * lacks that the receiver does without, as it finds out: 'disk-store' (pieces held in memory, up
 * to MEMORY_STORE_CAP_BYTES, gone on reload), 'service-worker' (no streaming to the player, no
 * ZIP archive, no playing through another tab), 'media-source' (no MSE: fragmented MP4s stream
 * through the service worker instead). An error of kind 'too-large-for-memory' (errorDetail
 * {total, cap}) is a share over that cap without a disk store.
 * Phase: 'connecting', 'waiting' (no sender and no other receiver to fetch from at the moment),
 * 'transferring', 'done' (every piece held; saved if it completed in this page load),
 * 'elsewhere' (another tab of this browser has the share: this one only plays its files, through
 * that tab), 'forgotten' (forget(): left, and nothing of it kept in this browser), 'error'.
 * Event 'change' (the state) whenever it changes, and every PROGRESS_INTERVAL_MS until an error.
 * metrics(): the page's metrics snapshot (metrics.js, docs/metrics.md), recorded from start()
 * until the page leaves the share.
 */
export class Receiver extends Emitter {
  state = {
    ...newTransferState('receiver', 'connecting'),
    errorDetail: null, fileName: null, files: [], pieceSize: null, saved: false, bytesPerSecond: 0, secondsLeft: null, badPieces: 0, downloadedBytes: 0, peers: [],
    media: [], streams: 0, player: null, lacks: globalThis.MediaSource ? [] : ['media-source'],
  };
  #linkSecret;
  #keys = null; // {contentKey, verifyKey, relayKey}
  #signalling = null;
  #swarm = null;
  #manifest = null;
  #learning = Promise.resolve(); // manifests are tried one at a time, until one opens
  #store = null;
  #held = null; // Bitfield of the pieces on disk (the seeder announces them)
  #book = null;
  #seeder = null;
  #downloader = null;
  #player = null;
  #streams = null; // StreamServer, once the manifest is known
  #streaming = null; // Promise<boolean>: whether the service worker can stream to this page
  #sniffing = new Map(); // file number -> the pieces its sniff waits for
  #elsewhere = false; // another tab of this browser has the share: this one plays through it
  #forgotten = false; // forget(): nothing of the share is kept here any more
  #peerSecret = null; // proves our member id when we join again (kept out of state: it is mirrored)
  #settings;
  #tracker = null;
  #rate = new TransferRate();
  #ticker = null;
  #idleTimer = null; // a failure pending while no link is left (see start)
  #metrics = new MetricsRecorder({ page: 'receiver', swarm: () => this.#swarm, describe: () => this.#describe() });

  // settings: the page's {iceServers, relayOnly} (see Swarm) and testHooks (see Seeder).
  constructor(shareId, linkSecret, settings) {
    super();
    this.state.shareId = shareId;
    this.#linkSecret = linkSecret;
    this.#settings = settings;
  }

  async start() {
    this.#metrics.start();
    this.#changed();
    this.#ticker = everyTick(PROGRESS_INTERVAL_MS, (frozenMs) => {
      this.#downloader?.checkLiveness(frozenMs);
      this.#changed();
    });
    try {
      if (!SHARE_ID_PATTERN.test(this.state.shareId)) {
        this.#fail(NO_SUCH_SHARE_MESSAGE);
        return;
      }
      const address = learnAddress(this.#settings.iceServers); // meanwhile: it may take a moment
      this.#keys = await openShareKeys(parseLinkSecret(this.#linkSecret));
      this.#listenForStreams();
      // From an earlier visit: the file's name and what is on disk show before any peer answers.
      const saved = await PieceStore.savedManifest(this.state.shareId);
      this.#signalling = await Signalling.connect();
      this.#listen(this.#signalling);
      this.#swarm = new Swarm({
        signalling: this.#signalling, asks: true, handle: (peer, message) => this.#handle(peer, message), settings: this.#settings,
      });
      this.#swarm.on('open', (peer) => this.#seeder?.greet(peer));
      this.#swarm.on('closed', (peer) => this.#downloader?.forget(peer));
      this.#swarm.on('idle', (error) => {
        // The sender is there but cannot be reached, and nobody else can help. A server that goes
        // away takes the relayed links with it a moment before the signalling notices: once it
        // did, joining again asks every member anew.
        if (!error) return;
        clearTimeout(this.#idleTimer);
        this.#idleTimer = setTimeout(() => {
          if (this.#swarm.idle && !this.state.reconnecting && this.#swarm.ownerPresent && !this.#held?.complete) {
            this.#fail(error.message);
          }
        }, IDLE_FAILURE_DELAY_MS);
      });
      this.#swarm.on('change', () => {
        this.#downloader?.reclassify();
        this.#changed();
      });
      if (saved) await this.#learn(saved);
      if (this.#elsewhere) return;
      this.#tracker = new Tracker({
        signalling: this.#signalling,
        address: await address,
        holding: () => ({ complete: this.#held?.complete ?? false, held: this.#held }),
        links: () => [...this.#swarm.peers.values()].filter((peer) => peer.open),
        maxLinks: () => this.#swarm.maxLinks,
      });
      const joined = await this.#signalling.join(this.state.shareId, { address: this.#tracker.address });
      this.state.peerId = joined.peer;
      this.#peerSecret = joined.peer_secret;
      this.#swarm.start({ shareId: this.state.shareId, selfId: joined.peer, joined, relayKey: this.#keys.relayKey });
      this.#tracker.start(this.state.shareId);
    } catch (error) {
      // Everything came in an earlier visit: the files are on disk whether the share is still open
      // or not (only seeding needs it).
      if (this.#held?.complete) this.#leave();
      else this.#fail(explain(error), error);
    }
  }

  // Saves one file of the share from disk, or without a path every file: a share of one file
  // as that file, a share of several as one ZIP archive that keeps their folders.
  // Forgets the share in this page: leaves it and removes all this browser kept of it (its
  // pieces, manifest and hashes). Throws StorageError 'in-use' while another tab has it open.
  async forget() {
    this.#leave();
    this.#player?.close();
    this.#streams?.close();
    await this.#store?.close();
    await forgetStoredShare(this.state.shareId);
    this.#forgotten = true;
    Object.assign(this.state, { phase: 'forgotten', error: null, errorKind: null, errorDetail: null });
    this.#changed();
  }

  async save(path = null) {
    const files = this.#manifest.files;
    if (path !== null || files.length === 1) {
      const chosen = path ?? files[0].path;
      saveFile(await this.#store.file(chosen), chosen.split('/').pop());
    } else {
      await saveAllAsZip(this.state.shareId, files.map(({ path: p, size }) => ({ path: p, size })), zipName(files));
    }
    this.state.saved = true;
    this.#changed();
  }

  // Plays file `number` of the share into `element` (a <video> or <audio>, an <img> for a
  // picture) while it downloads, in place of what played before; the bytes it waits for are
  // fetched first. An indexed fragmented MP4 through Media Source Extensions, anything else
  // through the service worker; without one, it fails with code 'no-streaming'.
  async play(number, element) {
    const media = this.state.media[number];
    if (!media || media.kind === null || this.state.phase === 'error') return;
    this.#player?.close();
    const askedAt = performance.now();
    const file = this.#manifest.files[number];
    const base = { file: number, path: file.path, kind: media.kind ?? 'video', type: media.type, askedAt };
    let player;
    // A fragmented MP4 with its index in the manifest goes through MSE even where the service
    // worker could stream it: the browser's own demuxer (FFmpeg's, in Chromium) reads every moof of
    // a seekable fragmented MP4 before it plays, which over a swarm means the whole download.
    if (file.fragments && globalThis.MediaSource?.isTypeSupported(file.type)) {
      const feeder = new MseFeeder({
        bytes: this.#bytesOf(number), type: file.type,
        focus: (piece, keepAhead) => this.#downloader?.focus(piece, keepAhead),
      });
      player = new Player({ ...base, type: file.type, feeder });
    } else if (await this.#streaming) {
      player = new Player({ ...base, url: streamUrl(this.state.shareId, number, file.path) });
    } else {
      player = new Player(base);
      player.fail({ code: 'no-streaming' });
    }
    this.#player = player;
    this.state.player = player.state;
    if (media.playable === false) this.#cannotPlay(media);
    player.attach(element);
    this.#changed();
  }

  // Our handle is a peer of this one share only, so events need no share id check.
  #listen(signalling) {
    signalling.on('share_closed', ({ reason }) => {
      const complete = this.#held?.complete;
      this.#end(reason === 'owner_gone' ? SHARE_EXPIRED_MESSAGE : SENDER_STOPPED_MESSAGE);
      // Half a share that ended can never complete: what was kept of it goes (store/lifetime.js).
      if (!complete && this.#store) this.#store.close().then(() => forgetStoredShare(this.state.shareId)).catch(() => {});
    });
    signalling.on('error', (error) => this.#end(error.message));
    signalling.on('reconnecting', () => {
      this.state.reconnecting = true;
      this.#changed();
    });
    signalling.on('reconnected', () => this.#rejoin());
  }

  // The server is back (it restarted, or our connection to it was lost) and forgot us: we join
  // again under the same member id (its secret proves it is ours). A restarted server has the
  // share again only once its owner came back, so "no such share" is asked again for a while
  // before it means the share ended; "id taken" while the server still sees our old connection.
  async #rejoin() {
    try {
      const joined = await joinAgain(this.#signalling, {
        share: this.state.shareId, peerSecret: this.#peerSecret, address: this.#tracker?.address,
        retryCodes: [ERR_NO_SUCH_SHARE, ERR_PEER_TAKEN],
      });
      if (joined) rejoined(this.state, this.#swarm, joined);
      this.#changed();
    } catch (error) {
      if (error.errorCode === ERR_NO_SUCH_SHARE) this.#end(SENDER_STOPPED_MESSAGE);
      else this.#fail(explain(error), error);
    }
  }

  // The share or the server is gone: an error, unless every piece is here (then only seeding ends).
  #end(message) {
    if (this.#held?.complete) this.#leave();
    else this.#fail(message);
  }

  // One message from a peer (see Peer): everything but the manifest needs the manifest first.
  // What it throws closes that peer's link (Swarm); our own failures end this page here.
  async #handle(peer, message) {
    if (message.t === 'manifest') {
      try {
        await this.#learn(message.sealed, peer);
      } catch (error) {
        if (error instanceof ProtocolError) throw error;
        this.#fail(explain(error), error); // the owner's manifest does not open, or our store failed
      }
      return;
    }
    if (!this.#manifest) throw new ProtocolError(`A peer sent "${message.t}" before the manifest.`);
    if (this.#seeder.take(peer, message)) return;
    switch (message.t) {
      case 'hashes': {
        if ((await this.#book.accept(message)).length === 0) break;
        this.#seeder.passOn(message, peer);
        this.#store.saveBatch(message).catch((error) => this.#fail(error.message));
        break;
      }
      case 'have':
        this.#downloader.have(peer, message);
        break;
      case 'reject':
        this.#downloader.rejected(peer, message.piece);
        break;
      case 'data':
        peer.downloadedBytes += message.data.length;
        this.state.downloadedBytes += message.data.length;
        await this.#downloader.data(peer, message);
        break;
    }
  }

  // The first manifest that opens with the link's keys is the share's; once it is set up, those
  // that come later (every peer sends it) are not looked at. One from disk (peer null) or from
  // the owner that does not open means the link is wrong; one from another receiver only that
  // this receiver is hostile or broken: it is banned (ProtocolError) and the link still works.
  #learn(sealed, peer = null) {
    const attempt = this.#learning.then(async () => {
      if (this.#manifest) return;
      let manifest;
      try {
        manifest = await openManifest(this.#keys.contentKey, this.#keys.verifyKey, sealed);
      } catch (error) {
        if (peer?.role === 'receiver') throw new ProtocolError(`Its manifest does not open with this link: ${error.message}`);
        throw error;
      }
      await this.#setUp(manifest, sealed);
    });
    this.#learning = attempt.catch(() => {});
    return attempt;
  }

  async #setUp(manifest, sealed) {
    Object.assign(this.state, {
      fileName: manifest.files.length === 1 ? manifest.files[0].path : `${manifest.files.length} files`,
      files: manifest.files,
      total: manifest.total,
      pieceSize: manifest.piece_size,
    });
    this.#changed();
    let store;
    try {
      store = await PieceStore.open(this.state.shareId, manifest);
    } catch (error) {
      if (error.code === 'in-use' && await this.#streaming) {
        this.#playFromOtherTab(manifest);
        return;
      }
      throw error;
    }
    this.#store = store;
    if (store.inMemory) this.#lacks('disk-store');
    await store.saveManifest(sealed);
    const count = pieceCount(manifest.total, manifest.piece_size);
    const { contentKey, verifyKey } = this.#keys;
    this.#held = new Bitfield(count, store.haveBitfield());
    this.#book = new HashBook(count, verifyKey);
    this.#book.restore(store.savedBatches);
    this.#seeder = new Seeder({
      swarm: this.#swarm,
      sealed,
      pieceSize: manifest.piece_size,
      book: this.#book,
      announced: this.#held,
      ciphertext: async (piece) => encryptPiece(contentKey, piece, await store.read(piece)),
      servable: (piece) => this.#book.has(piece),
      onError: (error) => this.#fail(error.message),
      testHooks: this.#settings.testHooks,
    });
    this.#downloader = new Downloader({
      manifest,
      contentKey,
      book: this.#book,
      store,
      scheduler: new Scheduler(new Bitfield(count, store.haveBitfield()), {
        distance: (peer) => this.#swarm.distanceOf(peer), selfId: () => this.#swarm.selfId, nearMembers: () => this.#swarm.nearMembers(),
      }),
      peers: () => this.#swarm.peers.values(),
    });
    this.#streams = new StreamServer({
      shareId: this.state.shareId,
      manifest,
      store,
      focus: (piece) => this.#downloader.focus(piece),
      typeOf: (number) => this.state.media[number]?.type ?? null,
      keepalive: () => navigator.serviceWorker?.controller?.postMessage({ type: 'keepalive' }),
    });
    // The file the page will likely play comes from its start, in order, from the first requests:
    // asked at random until the player opens it, the pieces in the sender's channel by then
    // (which a cancel cannot take back) come before the player's (bench/stream.mjs: ~1.3 MB,
    // 3 s at 1.5 times the video's rate). The player's reading moves the focus from there.
    const played = likelyPlayed(manifest.files);
    if (played >= 0 && !this.#elsewhere) this.#downloader.focus(new FileBytes(manifest, played, store).pieceAt(0));
    this.#downloader.on('stored', (piece) => this.#stored(piece));
    this.#downloader.on('bad', (peer) => this.#badPiece(peer));
    this.#downloader.on('stalled', (peer) => this.#swarm.stalled(peer));
    this.#downloader.on('error', (error) => this.#fail(error.message));
    this.#manifest = manifest;
    this.state.bytes = bytesHeld(manifest, this.#held);
    this.#rate.update(this.state.bytes);
    for (const peer of this.#swarm.peers.values()) if (peer.open) this.#seeder.greet(peer);
    if (this.#held.complete) this.#swarm.seeding();
    this.#listMedia();
  }

  // Another tab of this browser has the share's store open, and downloads it: this one leaves
  // the swarm and plays the share's files through that tab (the service worker asks it).
  #playFromOtherTab(manifest) {
    this.#elsewhere = true;
    this.#manifest = manifest;
    this.#leave();
    this.#listMedia();
  }

  // Every file's media entry, and their sniffing (the first SNIFF_MAX_FILES).
  #listMedia() {
    const { files } = this.#manifest;
    this.state.media = files.map(({ path, size }, number) => ({
      file: number, path, size, status: number < SNIFF_MAX_FILES ? 'checking' : 'unchecked',
      kind: null, container: null, type: null, playable: null, reason: null, codec: null,
    }));
    for (let number = 0; number < Math.min(files.length, SNIFF_MAX_FILES); number++) this.#sniff(number);
    this.#changed();
  }

  // File `number`'s bytes: from this tab's store, or through the tab that has the share.
  #bytesOf(number) {
    if (!this.#elsewhere) return new FileBytes(this.#manifest, number, this.#store);
    return new StreamedFileBytes(this.#manifest, number, streamUrl(this.state.shareId, number, this.#manifest.files[number].path));
  }

  // Answers the service worker's requests for this share's files (stream-server.js); a request
  // that comes before the manifest is known is refused (the page has nothing to play yet).
  #listenForStreams() {
    if (!navigator.serviceWorker) {
      this.#streaming = Promise.resolve(false);
      this.#lacks('service-worker');
      return;
    }
    navigator.serviceWorker.addEventListener('message', (event) => {
      const [port] = event.ports;
      if (event.data?.type !== 'stream-open' || !port) return;
      if (this.#streams && this.state.phase !== 'error') this.#streams.open(event.data, port);
      else port.postMessage({ type: 'refused' });
    });
    navigator.serviceWorker.startMessages();
    this.#streaming = controllingWorker().then(() => true, () => {
      this.#lacks('service-worker');
      return false;
    });
  }

  #lacks(code) {
    if (this.state.lacks.includes(code)) return;
    this.state.lacks.push(code);
    this.#changed();
  }

  // What file `number` is, from its first bytes (sniff.js); the pieces it needs first are wanted
  // before all others, and it is tried again when they are all here.
  async #sniff(number) {
    let found;
    try {
      found = await sniffMedia(this.#bytesOf(number));
    } catch (error) {
      if (!(error instanceof PiecesMissing)) {
        this.#fail(error.message); // the store failed, or the tab that has the share is gone
        return;
      }
      this.#sniffing.set(number, error.pieces);
      this.#downloader.want(error.pieces);
      return;
    }
    this.#sniffing.delete(number);
    const verdict = playability(found, (type) => document.createElement(found.kind === 'audio' ? 'audio' : 'video').canPlayType(type));
    const media = Object.assign(this.state.media[number], {
      status: 'known', kind: found.kind, container: found.container, type: mediaType(found),
      playable: verdict.playable, reason: verdict.reason ?? null, codec: verdict.codec ?? null,
    });
    if (this.#player?.state.file === number && !media.playable) this.#cannotPlay(media);
    this.#changed();
  }

  // The file being played turned out to be one this browser cannot play.
  #cannotPlay(media) {
    this.#player.fail({ code: media.reason, kind: media.kind, codec: media.codec, container: media.container });
  }

  #stored(piece) {
    this.#player?.pieceStored(piece);
    this.#streams.pieceStored(piece);
    for (const [number, pieces] of this.#sniffing) {
      if (pieces.includes(piece) && pieces.every((wanted) => this.#store.has(wanted))) this.#sniff(number);
    }
    if (!this.#seeder.announce(piece)) return; // it came from two peers at once
    this.state.bytes = bytesHeld(this.#manifest, this.#held);
    this.#changed();
    if (!this.#held.complete) return;
    this.#swarm.seeding();
    // Several files wait for the person to choose: browsers block a burst of downloads.
    if (this.#manifest.files.length === 1) this.save().catch((error) => this.#fail(error.message));
  }

  #badPiece(peer) {
    this.state.badPieces += 1;
    this.#swarm.badPiece(peer); // the swarm decides whether that bans it
    this.#changed();
  }

  // error: what failed, when it has a kind the page words itself (errorKind, errorDetail).
  #fail(message, error = null) {
    if (this.state.phase === 'error') return;
    if (error instanceof ManifestError && error.code === 'bad-name') {
      // The owner's manifest names a file unsafely: refused whoever signed it (content.js, "File names").
      this.state.errorKind = 'bad-name';
      this.state.errorDetail = { rule: error.rule, file: error.file };
    } else if (error instanceof StorageError && error.code === 'too-large-for-memory') {
      this.state.errorKind = error.code;
      this.state.errorDetail = error.detail;
    } else {
      this.state.errorKind = errorKindOf(error);
    }
    this.#leave();
    this.#player?.close(); // before the store it reads from
    this.#streams?.close();
    this.#store?.close();
    this.state.error = message;
    this.state.phase = 'error';
    this.#changed();
  }

  // Leaves the share (the sender then drops us from its list) and stops serving.
  #leave() {
    clearInterval(this.#ticker);
    this.#metrics.stop();
    clearTimeout(this.#idleTimer);
    this.#tracker?.stop();
    this.#swarm?.close();
    this.#signalling?.close();
  }

  #changed() {
    if (this.state.phase !== 'error') this.state.phase = this.#phase();
    this.#rate.update(this.state.bytes);
    this.state.bytesPerSecond = this.#rate.bytesPerSecond;
    this.state.secondsLeft = this.#manifest ? this.#rate.secondsLeft(this.#manifest.total) : null;
    this.state.peers = this.#swarm?.peerMetrics() ?? [];
    this.state.paths = this.#swarm?.pathMetrics() ?? {};
    this.state.streams = this.#streams?.openStreams ?? 0;
    this.state.requests = this.#signalling?.requestStats ?? this.state.requests;
    this.emit('change', this.state);
  }

  metrics() {
    return this.#metrics.snapshot();
  }

  // What the metrics recorder asks of the receiver (MetricsRecorder describe()).
  #describe() {
    const { shareId, peerId, phase, files, total, pieceSize, bytes, badPieces, requests, reconnections } = this.state;
    const self = this.#held?.complete ? 1 : 0;
    return {
      shareId, peerId, phase, share: { files: files.length, total, pieceSize }, held: bytes, reportedHeld: null,
      copies: self + (this.#swarm?.completeMembers() ?? 0), badPieces, playback: this.#playback(), requests, reconnections,
    };
  }

  // The file being played (not a picture shown): its figures but the download rate (the recorder's).
  #playback() {
    const player = this.#player;
    if (!player || player.state.kind === 'image') return null;
    const { file, path, via, duration } = player.state;
    const size = this.#manifest.files[file].size;
    return { file, path, via, ...player.metrics(), mediaBitsPerSecond: duration > 0 ? (size * 8) / duration : null };
  }

  #phase() {
    if (this.#forgotten) return 'forgotten';
    if (this.#elsewhere) return 'elsewhere';
    if (this.#held?.complete) return 'done';
    const peers = [...(this.#swarm?.peers.values() ?? [])];
    if (peers.some((peer) => peer.open)) return 'transferring';
    if (peers.length > 0 || !this.state.peerId || this.#swarm.ownerPresent) return 'connecting';
    return 'waiting';
  }
}

// An error as the person who opened the link should read it.
function explain(error) {
  if (error instanceof LinkError || error instanceof IntegrityError) return `This link is incomplete or wrong: ${error.message}`;
  if (error.errorCode === ERR_NO_SUCH_SHARE) return NO_SUCH_SHARE_MESSAGE;
  if (error.errorCode === ERR_SHARE_FULL) return SHARE_FULL_MESSAGE;
  return error.message;
}

// A shared folder's own name, or a name made from the share id's start.
function zipName(files) {
  const tops = new Set(files.map(({ path }) => path.split('/')[0]));
  const [top] = tops;
  return tops.size === 1 && files.every(({ path }) => path.includes('/')) ? `${top}.zip` : 'swarmdrop files.zip';
}
