// Every tunable of the browser client, named once. Protocol facts (message shapes, error codes)
// live with the module that speaks them; this file holds the numbers one might want to change.

const KiB = 1024;
const MiB = 1024 * KiB;

// Signalling (Janus WebSocket API).
export const JANUS_WS_PATH = '/janus';
export const JANUS_SUBPROTOCOL = 'janus-protocol';
export const PLUGIN_NAME = 'janus.plugin.swarmdrop';
// Janus drops a session after 60 s of silence by default; keepalives must come well before that.
export const JANUS_KEEPALIVE_MS = 25_000;
// How long a Janus request (including the plugin's asynchronous answer) may take.
export const REQUEST_TIMEOUT_MS = 15_000;
// Our own budget of plugin requests (signalling.js), a token bucket under the plugin's per-
// connection one (docs/protocol.md part 1, "Limits per connection": requests_per_second 20,
// request_burst 100 by default; past it a request is refused with 468, and a connection a whole
// burst over has its handle ended, and with it the share). Three quarters of its rate and half its
// burst: what we send in any T seconds (at most 50 + 15 T) stays under what it allows (100 + 20 T)
// even when the network bunches our requests together, with room for the requests retried.
export const SIGNALLING_REQUESTS_PER_SECOND = 15;
export const SIGNALLING_REQUEST_BURST = 50;
// Requests waiting for a token, in order; one more fails at once ('queue-full'). 34 s of the
// budget, more than a link waits to open (LINK_OPEN_TIMEOUT_MS): what would wait longer is of no
// use. A sender that 64 receivers ask at once needs about 4 each (an answer, candidate batches).
// At most 512 payloads of max_signal_bytes (16 KiB): 8 MiB.
export const SIGNALLING_QUEUE_MAX = 512;
// A request the plugin refused for want of budget (468) was not handled: every request waits
// this long (the next pause, then the last repeating) and it is sent again, at most
// SIGNALLING_RETRIES times (a server configured far below our budget) before it fails.
export const SIGNALLING_RETRY_DELAYS_MS = [1_000, 2_000, 4_000];
export const SIGNALLING_RETRIES = 6;
// A lost connection to the server (it restarted, the network went) is tried again after these
// pauses (the last one repeats) for this long; links between browsers carry on meanwhile.
export const RECONNECT_DELAYS_MS = [500, 1_000, 2_000, 4_000];
export const RECONNECT_WINDOW_MS = 120_000;
// After reconnecting, a receiver asks for its share again this often while the server does not
// have it back yet (its owner has not come back either), for at most this long.
export const REJOIN_INTERVAL_MS = 1_000;
export const REJOIN_WINDOW_MS = 60_000;
// A receiver left with no link while the sender is a member fails after this long, unless the
// connection to the server was lost meanwhile (the relayed links go a moment before it notices).
export const IDLE_FAILURE_DELAY_MS = 3_000;

// WebRTC. The ICE servers (STUN/TURN) come from the page (main.js: window.swarmdropIceServers)
// through the Receiver or Sender; none means host candidates only, enough on one network.
export const DATA_CHANNEL_LABEL = 'sd';
// A link whose channel is not open by then has failed. ICE does not always say so itself: with no
// usable candidate pair the connection can stay 'connecting' or 'new' for good.
export const LINK_OPEN_TIMEOUT_MS = 30_000;
// A link whose far end ICE knows only from a connectivity check waits at most this long after
// opening for that end's candidates, to tell whether it is on our network (transport.js).
export const PATH_CANDIDATES_WAIT_MS = 1_000;
// Our ICE candidates go to the other side in batches, one `signal` per batch instead of one per
// candidate (a page linking to dozens of peers would otherwise spend its request budget on
// them): a batch waits this long after its first candidate, or until gathering ends, and holds at
// most this many bytes of JSON (half the plugin's max_signal_bytes, 16384 by default: room for
// the envelope, and for the plugin serialising a little differently); a larger one is split.
export const ICE_BATCH_MS = 80;
export const ICE_BATCH_MAX_BYTES = 8 * KiB;
// The other side's candidates one link takes; more lose the link. A browser gathers a few per
// network interface and server (tens at most); without a bound, a hostile member could have us
// hold what the plugin forwards for as long as the link takes to open (16 KiB a signal).
export const REMOTE_CANDIDATES_MAX = 256;
// Largest binary message, header included; the real size is min(pc.sctp.maxMessageSize, this).
// 65535 so that the same framing fits a data channel relayed through Janus (which drops 65536).
export const CHUNK_SIZE_CAP = 65_535;
// Used only if the SCTP transport does not tell its limit: the size every WebRTC stack accepts.
export const CHUNK_SIZE_FALLBACK = 16 * KiB;
// Send while the channel's buffer holds less than the high watermark, then wait until it drains
// to the low one: keeps the pipe full without holding a large part of the file in memory.
export const BUFFERED_HIGH_WATERMARK = 4 * MiB;
export const BUFFERED_LOW_WATERMARK = 1 * MiB;
// A seeder hands a link its next piece once the channel's buffer is down to the low watermark
// (seeder.js, PeerLink.drained), and what is in that buffer cannot be taken back: a cancel (a
// player's seek, its first focus) waits for it. So the mark is what the link sends in
// BUFFERED_LOW_SECONDS at the rate its buffer drained at (measured while it held more), between
// BUFFERED_LOW_MIN_BYTES (one frame; also until measured) and BUFFERED_LOW_WATERMARK: a quarter
// of a second is far more than the event and a prepared piece's hand-over take, and 1 MiB at
// 400 kB/s was 2.6 s of pieces the player had stopped wanting (bench/stream.mjs).
export const BUFFERED_LOW_SECONDS = 0.25;
export const BUFFERED_LOW_MIN_BYTES = 64 * KiB;
// A seeder reads and encrypts the next pieces a link asked for while the one before drains
// (seeder.js), at most this many bytes of them per link (whole pieces, at least one), so that one
// is ready when the buffer reaches the low watermark (1 MiB is ~100 ms at 10 MB/s, about a
// piece's read and encryption). They stay in the seeder, where a cancel drops them: what a peer
// that never drains makes us hold is the watermark, its link's queue and this.
export const SEND_AHEAD_BYTES = 1 * MiB;
// Every message to another browser, text or binary, direct or relayed, waits in its link's queue
// (net/outbox.js) while the channel holds the high watermark (or the relay's credit is spent);
// the channel then never holds more than that and one message (Chromium throws past 16 MiB).
// What may wait there for an honest peer: one piece frame or greeting message (those go one at
// a time), the requests and cancels of our window, its rejects (within REQUEST_BUDGET_WINDOWS)
// and two messages (have, hashes, <= ~200 bytes) per piece we stored while its link was full:
// tens of seconds of a stalled link. A link whose queue would pass either bound is closed
// (not banned): a hostile peer costs at most the watermark plus this, however fast it asks.
export const LINK_QUEUE_MAX_BYTES = 1 * MiB;
export const LINK_QUEUE_MAX_MESSAGES = 4096;

// The relay through the server (docs/protocol.md part 4), for members that cannot reach each other.
// Our answer to the server's offer goes with the candidates gathered by then (Janus does not
// wait for trickled ones); host candidates take milliseconds, an unreachable STUN server longer.
export const RELAY_GATHERING_TIMEOUT_MS = 5_000;
// The asker repeats its probe this often until the other member answers (it may not have joined
// the relay yet), within LINK_OPEN_TIMEOUT_MS.
export const RELAY_PROBE_INTERVAL_MS = 250;
// The plugin answers 470 when Janus would not take its relay offer (the handle's previous relay
// connection is still closing, e.g. right after the server hung it up): ask again after a
// pause, a few times; it is a matter of a second.
export const RELAY_BUSY_RETRY_MS = 1_000;
export const RELAY_BUSY_RETRIES = 3;

// Content. Bytes of plaintext per piece (a power of two, docs/protocol.md part 3): the unit that is
// hashed, verified, stored and requested.
export const PIECE_SIZE = 1 * MiB;
// A share with a video or audio file in it has smaller pieces: a player gets its first bytes, and
// those after a seek, once the pieces holding them are here and verified, whole. Chromium shows
// the first frame of a 300 s 720p MP4 once it has ~0.36 MB (its 227 KB index, the first frames):
// two pieces of 256 KiB (0.52 MB), three of 128 KiB (0.39 MB). bench/stream.mjs (a link at 1.5
// times the video's rate): first frame 2.35 s instead of 2.75, a frame after a seek 2.6 s
// instead of 3.8 (nginx 0.9 and 1.8). The cost: a request, a signed hash and a `have` per 128
// KiB (~0.2 %), and a greeting twice as long to a receiver that joins once the owner signed
// many pieces (every batch goes before the bitfield: ~170 bytes a piece).
export const MEDIA_PIECE_SIZE = 128 * KiB;

// Swarm. A receiver links to the share's owner and to at most `max_links` other receivers (the
// plugin's join answer; this many when it does not say), and answers offers beyond that "busy";
// one that holds every piece takes this many times as many once the owner has left.
export const MAX_SWARM_LINKS = 6;
export const SEEDING_LINKS_FACTOR = 2;
// Every this often, a receiver's slowest link (its down rate over that time under this fraction
// of the median of its links) makes room for a ranked member not tried yet.
export const REPLACE_INTERVAL_MS = 10_000;
export const REPLACE_SLOW_FRACTION = 0.25;
// A receiver short of sources asks the tracker for a new ranked list at most this often.
export const LIST_MIN_INTERVAL_MS = 10_000;
// Members whose traffic the page keeps after their link closed (the oldest go first).
export const MAX_PEER_RECORDS = 64;

// Tracker (tracker.js). Our public address is asked of the STUN server for at most this long.
export const ADDRESS_LEARN_TIMEOUT_MS = 2_000;
// Reports go every interval_ms of the plugin's answer; the first, and all while it has not said,
// after this long.
export const REPORT_FALLBACK_INTERVAL_MS = 5_000;
// The plugin takes at most max_links + this many links per report, each number at most this.
export const REPORT_MAX_EXTRA_LINKS = 2;
export const REPORT_LIMIT_MAX = 10_000_000;
// A peer's request window: bytes of pieces asked of it whose frames have not all come (whole
// pieces, at least one). At least REQUEST_WINDOW_BYTES; more where the link's delivery rate times
// its latency (round trip and the sender's preparing a piece), times REQUEST_WINDOW_GAIN, plus a
// piece, is more (downloader.js), up to REQUEST_WINDOW_MAX_BYTES; all peers' windows together at
// most REQUEST_WINDOWS_TOTAL_BYTES (a link with nothing asked may still ask one piece). Keeps
// every source busy without stop-and-wait, and bounds what is held in memory per peer and in all.
export const REQUEST_WINDOW_BYTES = 4 * MiB;
export const REQUEST_WINDOW_GAIN = 2;
export const REQUEST_WINDOWS_TOTAL_BYTES = 32 * MiB;
// Latency samples a link's latency is the median of (transfer/requests.js).
export const REQUEST_LATENCY_SAMPLES = 8;
// Pieces that came whole and are being verified and written leave the window, so that a slow
// disk does not close it; while this many bytes of them wait, nothing more is asked of anyone.
export const STORING_MAX_BYTES = 4 * MiB;
// Requests one peer may have unanswered with us, in windows of REQUEST_WINDOW_BYTES (whole
// pieces, at least one: 16 pieces of 1 MiB, 64 of 256 KiB, 4 of 16 MiB): those queued, not
// started, and those refused whose reject still waits in our queue for its link. An honest
// receiver never has more than REQUEST_WINDOW_MAX_BYTES asked of a peer (it asks again only once
// a piece came whole, or it read a reject, or cancelled); a peer past this many asks more than
// the protocol allows, or faster than its link drains: it is disconnected and banned (Swarm
// BAN_REQUESTS), never answered.
export const REQUEST_BUDGET_WINDOWS = 4;
// The largest request window: half of what a sender takes unanswered (the margin: requests and
// cancels crossing on the wire, a sender counting differently), 8 MiB.
export const REQUEST_WINDOW_MAX_BYTES = (REQUEST_BUDGET_WINDOWS / 2) * REQUEST_WINDOW_BYTES;
// A peer that refused a piece is asked for it again after this long, if it is still missing.
export const REJECTED_RETRY_MS = 2_000;
// Liveness of a link with work outstanding (issue 12): a direct link's ICE consent fails only after
// ~30 s, and a relayed one never does, since the server answers for a browser that stopped. A peer
// with requests of ours outstanding that sent nothing (no byte, no reject) for REQUEST_IDLE_MS is
// "quiet": its pieces are asked of another source too, the owner included (the first copy wins).
// Quiet for LINK_STALL_MS, or a relayed link with bytes in flight and no credit back for as long,
// the link is closed (LINK_STALLED, not a ban) and its requests go elsewhere at once. An honest
// link's longest gap is a piece or two queued ahead of ours (4 pieces of 1 MiB at 256 KiB/s: 4 s
// before our first byte), and a relay's credits come as the target's channel drains: 10 s is
// well past both, 4 s past the first.
export const REQUEST_IDLE_MS = 4_000;
export const LINK_STALL_MS = 10_000;
// The origin (seeder.js) refuses a receiver a piece that another member it is linked with is
// getting (queued for it, or on its way), until that member announces it or for at most
// SPREAD_WAIT_MS after it was queued or went out (a
// piece can sit seconds in a channel's buffer: 2 MiB per link, eight links sharing an 8 Mbit/s
// uplink in bench/swarm.mjs); one another member holds, at most SPREAD_REFUSALS times (then it
// serves it: the receiver may not reach that member). A receiver hears that member's `have`
// behind the pieces in their channel, seconds late on a busy link: two refusals (4 s) let
// bench/swarm.mjs's origin upload 1.44 copies at 8 receivers.
export const SPREAD_WAIT_MS = 20_000;
export const SPREAD_REFUSALS = 4;
// Pieces that fail verification before the peer that sent them is disconnected for good.
export const MAX_BAD_PIECES = 3;
// Near the end, a piece still in flight may be requested from this many peers at once.
export const ENDGAME_SOURCES = 2;
// An urgent piece (wanted, or at a player's focus) asked only of a source this many times slower
// than a fast one with room is asked of the fast one too, and cancelled on the slow one when it
// comes: a slow link must not hold up the playhead, and a smaller gap is noise, not worth the
// bytes sent twice.
export const SLOW_LINK_FACTOR = 4;
// Near members split the pieces they fetch from far links (scheduler.js); one that has had nothing
// to ask for this long fetches a neighbour's part itself (the neighbour may be slow, or gone).
export const FAR_WAIT_MS = 2_000;
// How often both sides refresh speed and time left.
export const PROGRESS_INTERVAL_MS = 500;
// Speed is measured over this sliding window.
export const SPEED_WINDOW_MS = 3_000;
// Metrics (metrics.js, docs/metrics.md): the recorder samples the page's rates, its links'
// rates and round trips once a second (one getStats per open link: cheap at that pace, and a
// chart people read needs no more), and keeps the latest 600 samples: the last 10 minutes, a few
// tens of KiB however long the page stays open.
export const METRICS_SAMPLE_MS = 1_000;
export const METRICS_SERIES_MAX = 600;
// A round of getStats that has not settled by then (a browser that never answers one) counts as
// unmeasured, so that the next round may start: three samples' time, long past a healthy answer.
export const METRICS_MEASURE_TIMEOUT_MS = 3 * METRICS_SAMPLE_MS;

// Links: `${location.origin}${SHARE_PATH_PREFIX}<shareId>#<link secret>`.
export const SHARE_PATH_PREFIX = '/s/';

// Storage. Where the browser has no Origin Private File System (or it is refused), received
// pieces are held in memory up to this many bytes; a larger share is refused with a clear error.
export const MEMORY_STORE_CAP_BYTES = 512 * MiB;
// What a receiver keeps of the shares it received (store/lifetime.js), applied each time a store
// opens: a share not opened for STORE_MAX_IDLE_MS goes, finished or not; beyond STORE_BUDGET_BYTES
// for all of them together, the least recently opened finished shares go. Chromium grants a site
// up to 60% of the disk, so without a bound old shares would fill it; a finished share was saved
// (or can be fetched again), and 4 GiB still keeps a few films or a large folder to replay and
// seed. A share half way is never removed for room.
export const STORE_BUDGET_BYTES = 4 * 1024 * MiB;
export const STORE_MAX_IDLE_MS = 30 * 24 * 3600 * 1000;
// The store worker writes pieces as they come but makes them durable (flushes the data, the hash
// records, then the bitfield of held pieces) once this many bytes of pieces wait, after this long,
// and when the share completes or closes: a flush is an fsync, and three per piece (the data, the
// bitfield, the hashes) cost a disk's sync latency each, per 1 MiB or 256 KiB piece. A crash loses
// at most this much, fetched again: the bitfield never lists a piece before its data is durable.
export const STORE_FLUSH_BYTES = 8 * MiB;
export const STORE_FLUSH_MS = 1_000;

// Fragmented MP4 (mp4.js): the sender indexes a dropped file's fragments within these bounds, or
// shares it as a plain file: top-level boxes looked at (a reading of a few bytes each), the
// largest moov or moof read whole. No time limit: the same file must give the same manifest.
export const FMP4_SCAN_MAX_BOXES = 250_000;
export const FMP4_SCAN_MAX_HEADER_BYTES = 4 * MiB;

// The player (player.js): media appended at most this far ahead of the playhead, and media
// further behind it removed (seconds); where the scheduler's focus moves, requests made to peers
// for pieces before it or more than PLAYER_KEEP_REQUESTS_AHEAD pieces past it, none of whose bytes
// came yet, are cancelled so the pieces at the playhead come first.
export const PLAYER_AHEAD_SECONDS = 40;
export const PLAYER_BEHIND_SECONDS = 30;
export const PLAYER_KEEP_REQUESTS_AHEAD = 8;

// Streaming (stream-server.js, sw.js): a share's files are served at /stream/<share id>/<file
// number>/<name> by the service worker, which asks the page holding the share for the bytes of
// each HTTP range. A response sends at most one piece per pull of the browser's media stack, so
// what is in flight stays at a piece or two per response whatever the file's size.
export const STREAM_PATH_PREFIX = '/stream/';
// Responses a page serves at once; opening one more ends the least recently read. A response
// whose end nobody reports (a dropped one whose cancel was lost) cannot outlive this cap.
export const MAX_OPEN_STREAMS = 8;
// A response not read for this long is ended, and its bytes stop being urgent.
export const STREAM_IDLE_MS = 120_000;
// While it streams, the page wakes the service worker this often: Firefox stops one that has
// been idle for ~30 s, even with a response open.
export const STREAM_KEEPALIVE_MS = 10_000;
// How long the service worker waits for a page's answer before trying the next page.
export const STREAM_OPEN_TIMEOUT_MS = 5_000;
// What the media sniffer (sniff.js) reads: the head of a file (the signature, Matroska's
// tracks, Ogg's codec headers) and at most this much of an MP4's moov (a long film's is a few MB).
export const SNIFF_HEAD_BYTES = 64 * KiB;
export const SNIFF_MAX_MOOV_BYTES = 32 * MiB;
// Within this much of a file's end, the sniffer wants every piece left at once: an MP4's index at
// the end comes in one round instead of a box header at a time.
export const SNIFF_TAIL_BYTES = 4 * MiB;
// Files of a share whose type is sniffed (the first ones, in manifest order); the others are
// offered for saving only.
export const SNIFF_MAX_FILES = 64;
