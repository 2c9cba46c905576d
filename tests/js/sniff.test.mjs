// What a file is from its own bytes (sniff.js): signatures, codecs, MP4s made by ffmpeg, and
// whether a Chromium-like browser plays them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SNIFF_HEAD_BYTES, SNIFF_MAX_MOOV_BYTES } from '../../web/src/engine/config.js';
import { PiecesMissing } from '../../web/src/engine/media/file-bytes.js';
import { mediaType, playability, sniffMedia } from '../../web/src/engine/media/sniff.js';
import { test } from 'node:test';
import { box, bytesOf, inMemory, storedFile, u16le, u32be, u32le } from './media-helpers.mjs';

// ---------------------------------------------------------------------------------------------
// sniff.js

// Chromium's canPlayType, roughly: MP4/WebM/Ogg/MP3/WAV/FLAC/AAC; no HEVC, no Matroska, no AVI
// or MPEG-TS; '' for a codec it does not know in that container.
const CHROMIUM = {
  'video/mp4': ['avc1', 'avc3', 'mp4a', 'vp09', 'av01', 'opus', 'flac', 'mp3'],
  'audio/mp4': ['mp4a', 'opus', 'flac', 'mp3'],
  'video/webm': ['vp8', 'vp9', 'vp09', 'av01', 'opus', 'vorbis'],
  'audio/webm': ['opus', 'vorbis'],
  'audio/ogg': ['opus', 'vorbis', 'flac'],
  'video/ogg': ['theora', 'opus', 'vorbis'],
  'audio/mpeg': ['mp3'],
  'audio/wav': ['1'],
  'audio/flac': ['flac'],
  'audio/aac': ['mp4a'],
};
function chromium(type) {
  const [mime, ...parameters] = String(type).split(';').map((s) => s.trim());
  const known = CHROMIUM[mime.toLowerCase()];
  if (!known) return '';
  const codecs = parameters.find((p) => p.startsWith('codecs='));
  if (!codecs) return 'maybe';
  const list = codecs.slice('codecs='.length).replace(/"/g, '').split(',').map((c) => c.trim());
  return list.every((codec) => known.some((k) => codec === k || codec.startsWith(`${k}.`))) ? 'probably' : '';
}
const sniffOf = (data) => sniffMedia(inMemory(bytesOf(data)));

test('sniff: pictures by their signature', async () => {
  const png = await sniffOf(bytesOf([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], u32be(13), 'IHDR', new Array(20).fill(0)));
  assert.deepEqual(png, { kind: 'image', container: 'png', mime: 'image/png', tracks: [] });
  const jpeg = await sniffOf(bytesOf([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10], 'JFIF', [0, 1, 1]));
  assert.deepEqual(jpeg, { kind: 'image', container: 'jpeg', mime: 'image/jpeg', tracks: [] });
  assert.equal((await sniffOf(bytesOf('GIF89a', [1, 0, 1, 0, 0, 0, 0]))).container, 'gif');
  assert.equal((await sniffOf(bytesOf('GIF87a', [1, 0, 1, 0]))).mime, 'image/gif');
  const bmp = await sniffOf(bytesOf('BM', u32le(58), [0, 0, 0, 0], u32le(54), u32le(40), u32le(1), u32le(1), new Array(36).fill(0)));
  assert.deepEqual(bmp, { kind: 'image', container: 'bmp', mime: 'image/bmp', tracks: [] });
  const webp = await sniffOf(bytesOf('RIFF', u32le(30), 'WEBP', 'VP8 ', u32le(18), new Array(18).fill(0)));
  assert.deepEqual(webp, { kind: 'image', container: 'webp', mime: 'image/webp', tracks: [] });
  const avif = await sniffOf(box('ftyp', 'avif', u32be(0), 'avifmif1miaf'));
  assert.deepEqual(avif, { kind: 'image', container: 'avif', mime: 'image/avif', tracks: [] });
  const heic = await sniffOf(box('ftyp', 'heic', u32be(0), 'mif1heic'));
  assert.equal(heic.container, 'heic');
  for (const picture of [png, jpeg, webp, avif]) {
    let asked = 0;
    assert.deepEqual(playability(picture, () => { asked++; return ''; }), { playable: true });
    assert.equal(asked, 0); // pictures are not the media element's business
  }
  assert.deepEqual(playability(heic, chromium), { playable: false, reason: 'container', kind: 'image', container: 'heic' });
  assert.equal(mediaType(png), 'image/png');
});

function wav(...chunks) {
  const body = bytesOf('WAVE', ...chunks);
  return bytesOf('RIFF', u32le(body.length), body);
}
const fmtChunk = (tag) => bytesOf('fmt ', u32le(16), u16le(tag), u16le(1), u32le(44100), u32le(88200), u16le(2), u16le(16));

test('sniff: WAV and its fmt chunk\'s format tag, AVI', async () => {
  const pcm = await sniffOf(wav(fmtChunk(1), 'data', u32le(4), [0, 0, 0, 0]));
  assert.deepEqual(pcm, { kind: 'audio', container: 'wav', mime: 'audio/wav', tracks: [{ kind: 'audio', codec: '1' }] });
  assert.equal(mediaType(pcm), 'audio/wav; codecs="1"');
  assert.deepEqual(playability(pcm, chromium), { playable: true });
  // A chunk of odd size (padded to even) before fmt.
  const listed = await sniffOf(wav('LIST', u32le(5), 'INFOx', [0], fmtChunk(3)));
  assert.deepEqual(listed.tracks, [{ kind: 'audio', codec: '3' }]);
  // WAVE_FORMAT_EXTENSIBLE.
  assert.equal((await sniffOf(wav(fmtChunk(0xfffe)))).tracks[0].codec, '65534');
  // No fmt chunk (or one cut off): the codec is not known, the type is plain audio/wav.
  const bare = await sniffOf(wav('data', u32le(4), [0, 0, 0, 0]));
  assert.deepEqual(bare.tracks, [{ kind: 'audio', codec: null }]);
  assert.equal(mediaType(bare), 'audio/wav');
  const cut = await sniffOf(bytesOf('RIFF', u32le(100), 'WAVE', 'fmt '));
  assert.equal(cut.kind, 'audio');
  assert.deepEqual(cut.tracks, [{ kind: 'audio', codec: null }]);
  // A chunk claiming more than the file has.
  const liar = await sniffOf(wav('junk', u32le(0xffffff00), [1, 2, 3]));
  assert.deepEqual(liar.tracks, [{ kind: 'audio', codec: null }]);
  const avi = await sniffOf(bytesOf('RIFF', u32le(100), 'AVI ', 'LIST', u32le(4), 'hdrl'));
  assert.deepEqual(avi, { kind: 'video', container: 'avi', mime: 'video/x-msvideo', tracks: [] });
  assert.deepEqual(playability(avi, chromium), { playable: false, reason: 'container', kind: 'video', container: 'avi' });
  // RIFF of another form is not media.
  assert.equal((await sniffOf(bytesOf('RIFF', u32le(4), 'CDXA'))).kind, null);
});

test('sniff: FLAC, Ogg Opus, Ogg Vorbis, Ogg Theora', async () => {
  const flac = await sniffOf(bytesOf('fLaC', [0x80, 0, 0, 34], new Array(34).fill(0)));
  assert.deepEqual(flac, { kind: 'audio', container: 'flac', mime: 'audio/flac', tracks: [{ kind: 'audio', codec: 'flac' }] });
  assert.deepEqual(playability(flac, chromium), { playable: true });
  const page = (...packet) => {
    const body = bytesOf(...packet);
    return bytesOf('OggS', [0, 2], new Array(8).fill(0), u32le(1), u32le(0), u32le(0), [1, body.length], body);
  };
  const opus = await sniffOf(page('OpusHead', [1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0]));
  assert.deepEqual(opus, { kind: 'audio', container: 'ogg', mime: 'audio/ogg', tracks: [{ kind: 'audio', codec: 'opus' }] });
  assert.equal(mediaType(opus), 'audio/ogg; codecs="opus"');
  assert.deepEqual(playability(opus, chromium), { playable: true });
  const vorbis = await sniffOf(page([0x01], 'vorbis', [0, 0, 0, 0, 2], u32le(44100), new Array(13).fill(0)));
  assert.deepEqual(vorbis.tracks, [{ kind: 'audio', codec: 'vorbis' }]);
  assert.equal(vorbis.mime, 'audio/ogg');
  const theora = await sniffOf(bytesOf(page([0x80], 'theora', [3, 2, 1]), page([0x01], 'vorbis', [0, 0, 0, 0, 2])));
  assert.equal(theora.kind, 'video');
  assert.equal(theora.mime, 'video/ogg');
  assert.deepEqual(theora.tracks.map((t) => t.codec).sort(), ['theora', 'vorbis']);
  // An Ogg stream of a codec not known: audio/ogg without codecs.
  const other = await sniffOf(page('Speex   ', [1, 2, 3]));
  assert.deepEqual(other.tracks, []);
  assert.equal(mediaType(other), 'audio/ogg');
});

test('sniff: MP3 with an ID3 tag or a bare frame, ADTS AAC, and what only looks like them', async () => {
  const id3 = await sniffOf(bytesOf('ID3', [4, 0, 0, 0, 0, 0, 10], new Array(10).fill(0), [0xff, 0xfb, 0x90, 0x00]));
  assert.deepEqual(id3, { kind: 'audio', container: 'mp3', mime: 'audio/mpeg', tracks: [{ kind: 'audio', codec: 'mp3' }] });
  assert.deepEqual(playability(id3, chromium), { playable: true });
  const frame = await sniffOf(bytesOf([0xff, 0xfb, 0x90, 0x00], new Array(400).fill(0)));
  assert.equal(frame.container, 'mp3');
  assert.equal((await sniffOf(bytesOf([0xff, 0xf3, 0x90, 0x00], new Array(40).fill(0)))).container, 'mp3'); // MPEG-2
  const adts = await sniffOf(bytesOf([0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc], new Array(20).fill(0)));
  assert.deepEqual(adts, { kind: 'audio', container: 'aac', mime: 'audio/aac', tracks: [{ kind: 'audio', codec: 'mp4a.40.2' }] });
  assert.equal((await sniffOf(bytesOf([0xff, 0xf9, 0x50, 0x80], new Array(20).fill(0)))).container, 'aac'); // MPEG-2 ADTS
  for (const [name, head] of [
    ['layer I', [0xff, 0xff, 0x90, 0x00]],
    ['reserved version', [0xff, 0xeb, 0x90, 0x00]],
    ['bad bitrate', [0xff, 0xfb, 0xf0, 0x00]],
    ['reserved sample rate', [0xff, 0xfb, 0x9c, 0x00]],
    ['no sync', [0xff, 0x00, 0x90, 0x00]],
    ['too short', [0xff, 0xfb, 0x90]],
  ]) {
    assert.equal((await sniffOf(bytesOf(head))).kind, null, name);
  }
});

test('sniff: MPEG-TS needs a sync byte at 0, 188 and 376', async () => {
  const ts = new Uint8Array(188 * 4);
  for (let at = 0; at < ts.length; at += 188) ts[at] = 0x47;
  const found = await sniffOf(ts);
  assert.deepEqual(found, { kind: 'video', container: 'mpeg-ts', mime: 'video/mp2t', tracks: [] });
  assert.deepEqual(playability(found, chromium), { playable: false, reason: 'container', kind: 'video', container: 'mpeg-ts' });
  const broken = ts.slice();
  broken[376] = 0;
  assert.equal((await sniffOf(broken)).kind, null);
  assert.equal((await sniffOf(ts.slice(0, 376))).kind, null); // two packets are not enough
});

// EBML: a header with the DocType, a Segment of unknown size, Tracks with TrackEntries.
const ebmlString = (id, text) => bytesOf(id, [0x80 | text.length], text);
function matroska(docType, ...codecIds) {
  const header = bytesOf([0x42, 0x86, 0x81, 1], ebmlString([0x42, 0x82], docType), [0x42, 0x87, 0x81, 4]);
  const entries = codecIds.map((id, i) => {
    const entry = bytesOf([0xd7, 0x81, i + 1], [0x83, 0x81, id.startsWith('V_') ? 1 : 2], ebmlString([0x86], id));
    return bytesOf([0xae, 0x80 | entry.length], entry);
  });
  const tracks = bytesOf(...entries);
  return bytesOf([0x1a, 0x45, 0xdf, 0xa3, 0x80 | header.length], header,
    [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    [0x16, 0x54, 0xae, 0x6b, 0x40 | (tracks.length >> 8), tracks.length & 255], tracks,
    [0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], new Array(64).fill(0x55));
}

test('sniff: Matroska and WebM by their DocType and CodecIDs', async () => {
  const mkv = await sniffOf(matroska('matroska', 'V_MPEG4/ISO/AVC', 'A_AAC'));
  assert.deepEqual(mkv, {
    kind: 'video', container: 'matroska', mime: 'video/x-matroska',
    tracks: [{ kind: 'video', codec: 'avc1' }, { kind: 'audio', codec: 'mp4a.40.2' }],
  });
  assert.equal(mediaType(mkv), 'video/x-matroska; codecs="avc1, mp4a.40.2"');
  assert.deepEqual(playability(mkv, chromium), { playable: false, reason: 'container', kind: 'video', container: 'matroska' });
  const webm = await sniffOf(matroska('webm', 'V_VP9', 'A_OPUS'));
  assert.deepEqual(webm, {
    kind: 'video', container: 'webm', mime: 'video/webm',
    tracks: [{ kind: 'video', codec: 'vp9' }, { kind: 'audio', codec: 'opus' }],
  });
  assert.equal(mediaType(webm), 'video/webm; codecs="vp9, opus"');
  assert.deepEqual(playability(webm, chromium), { playable: true });
  // Audio only; an old-style CodecID with a suffix; a subtitle track does not count.
  const audio = await sniffOf(matroska('webm', 'A_VORBIS', 'S_TEXT/UTF8'));
  assert.deepEqual(audio, { kind: 'audio', container: 'webm', mime: 'audio/webm', tracks: [{ kind: 'audio', codec: 'vorbis' }] });
  const old = await sniffOf(matroska('matroska', 'A_AAC/MPEG4/LC'));
  assert.deepEqual(old.tracks, [{ kind: 'audio', codec: 'mp4a.40.2' }]);
  assert.equal(old.mime, 'audio/x-matroska');
  // A WebM whose codec the browser does not play: that codec is named.
  const ac3 = await sniffOf(matroska('webm', 'V_VP9', 'A_AC3'));
  assert.deepEqual(playability(ac3, chromium), { playable: false, reason: 'codec', kind: 'audio', container: 'webm', codec: 'ac-3' });
  // A CodecID not known: kept as it is.
  const vfw = await sniffOf(matroska('matroska', 'V_MS/VFW/FOURCC'));
  assert.deepEqual(vfw.tracks, [{ kind: 'video', codec: 'V_MS/VFW/FOURCC' }]);
  // No tracks in the head: video, no codecs.
  const bare = await sniffOf(matroska('webm'));
  assert.deepEqual(bare, { kind: 'video', container: 'webm', mime: 'video/webm', tracks: [] });
  assert.equal(mediaType(bare), 'video/webm');
});

test('sniff: random bytes, text, an empty file and a few bytes are not media', async () => {
  let seed = 12345;
  const random = Uint8Array.from({ length: 4096 }, () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 24;
  });
  const notMedia = { kind: null, container: null, mime: null, tracks: [] };
  assert.deepEqual(await sniffOf(random), notMedia);
  assert.deepEqual(await sniffOf(bytesOf('Hello, world!\nThis is a plain text file.\n'.repeat(50))), notMedia);
  assert.deepEqual(await sniffOf(bytesOf('{"json": true}')), notMedia);
  assert.deepEqual(await sniffOf(new Uint8Array(0)), notMedia);
  for (const few of [[0x00], [0xff], [0x1a, 0x45], 'Ogg', 'RIFF', 'fLa', [0x89, 0x50]]) {
    assert.deepEqual(await sniffOf(bytesOf(few)), notMedia, String(few));
  }
  assert.deepEqual(playability(notMedia, chromium), { playable: false, reason: 'not-media' });
  assert.equal(mediaType(notMedia), null);
});

// A weak signature alone does not make media: bytes 4..8 spelling 'free', 'skip', 'wide', 'mdat' or
// 'moov' (a README starting "The free software...") are a QuickTime movie only with a moov found
// by walking sound boxes; 'BM' ("BMW ...") is a bitmap only with its reserved zero bytes at 6..10.
test('sniff: text is not taken for media by a weak signature', async () => {
  const wrong = [];
  for (const text of ['The free software in this folder is licensed...\n', 'The skip list below...\n', 'Set moov later\n', 'BMW 3 series, 1998, 200 000 km\n']) {
    const found = await sniffOf(bytesOf(text.repeat(20)));
    if (found.kind !== null) wrong.push(`${JSON.stringify(text)} sniffed as ${found.mime}, ${playability(found, chromium).playable ? 'playable' : 'not playable'}`);
  }
  assert.deepEqual(wrong, []);
});

test('sniff: handcrafted ISO BMFF edge cases', async () => {
  // A moov larger than SNIFF_MAX_MOOV_BYTES is not read: no tracks, video by default.
  const huge = bytesOf(box('ftyp', 'isom', u32be(0), 'isom'), u32be(SNIFF_MAX_MOOV_BYTES + 9), 'moov', new Array(100).fill(0));
  let read = 0;
  const counting = inMemory(huge);
  const found = await sniffMedia({ size: counting.size, read: (from, to) => { read += Math.min(to, huge.length) - from; return counting.read(from, to); } });
  assert.deepEqual(found, { kind: 'video', container: 'mp4', mime: 'video/mp4', tracks: [] });
  assert.ok(read < 1000);
  // ...audio for an M4A brand.
  const m4a = await sniffOf(bytesOf(box('ftyp', 'M4A ', u32be(0), 'M4A isom'), box('mdat', [1, 2, 3])));
  assert.deepEqual(m4a, { kind: 'audio', container: 'mp4', mime: 'audio/mp4', tracks: [] });
  // A box whose size is less than its header ends the walk.
  const tiny = await sniffOf(bytesOf(box('ftyp', 'isom', u32be(0)), u32be(4), 'free', box('moov')));
  assert.deepEqual(tiny.tracks, []);
  // An empty moov: no track, audio (no video in it).
  const empty = await sniffOf(bytesOf(box('ftyp', 'isom', u32be(0)), box('moov')));
  assert.deepEqual(empty, { kind: 'audio', container: 'mp4', mime: 'audio/mp4', tracks: [] });
  // A moov with garbage in it does not throw.
  const garbage = await sniffOf(bytesOf(box('ftyp', 'isom', u32be(0)), box('moov', box('trak', u32be(999), 'mdia', [1, 2, 3]))));
  assert.equal(garbage.container, 'mp4');
  // No ftyp (QuickTime may start with 'wide' or 'mdat'): quicktime once a moov is found; without
  // one it is not taken for a movie.
  const qt = await sniffOf(bytesOf(box('wide'), box('mdat', [1, 2, 3, 4]), box('moov')));
  assert.deepEqual(qt, { kind: 'audio', container: 'quicktime', mime: 'audio/mp4', tracks: [] });
  const noMoov = await sniffOf(bytesOf(box('wide'), box('mdat', [1, 2, 3, 4])));
  assert.equal(noMoov.kind, null);
});

// Real files made by ffmpeg.
const FFMPEG = spawnSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' });
const hasFfmpeg = FFMPEG.status === 0;
const hasX265 = hasFfmpeg && /libx265/.test(FFMPEG.stdout);
const hasX264 = hasFfmpeg && /libx264/.test(FFMPEG.stdout);

function ffmpeg(dir, name, args) {
  const path = join(dir, name);
  const run = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args, path], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return new Uint8Array(readFileSync(path));
}

// Top-level boxes: [{type, offset, size}].
function topBoxes(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const boxes = [];
  for (let at = 0; at + 8 <= data.length;) {
    const size = view.getUint32(at) || data.length - at;
    boxes.push({ type: String.fromCharCode(...data.subarray(at + 4, at + 8)), offset: at, size });
    at += size;
  }
  return boxes;
}

const VIDEO_IN = ['-f', 'lavfi', '-i', 'testsrc=duration=1:size=160x120:rate=25'];
const AUDIO_IN = ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1'];

test('sniff: real MP4s made by ffmpeg', { skip: !hasX264 && 'ffmpeg with libx264 is not here' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swarmdrop-sniff-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const h264 = [...VIDEO_IN, ...AUDIO_IN, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'];

  await t.test('moov first (faststart)', async () => {
    const data = ffmpeg(dir, 'fast.mp4', [...h264, '-movflags', '+faststart']);
    assert.deepEqual(topBoxes(data).map((b) => b.type).slice(0, 2), ['ftyp', 'moov']);
    const found = await sniffMedia(inMemory(data));
    assert.equal(found.kind, 'video');
    assert.equal(found.container, 'mp4');
    assert.equal(found.mime, 'video/mp4');
    assert.equal(found.tracks.length, 2);
    assert.match(found.tracks[0].codec, /^avc1\.[0-9a-f]{6}$/);
    assert.deepEqual(found.tracks[1], { kind: 'audio', codec: 'mp4a.40.2' });
    assert.match(mediaType(found), /^video\/mp4; codecs="avc1\.[0-9a-f]{6}, mp4a\.40\.2"$/);
    assert.deepEqual(playability(found, chromium), { playable: true });
  });

  await t.test('moov at the end is read there', async () => {
    const data = ffmpeg(dir, 'slow.mp4', h264);
    const boxes = topBoxes(data);
    assert.equal(boxes.at(-1).type, 'moov');
    assert.ok(boxes.at(-1).offset > SNIFF_HEAD_BYTES || boxes.at(-1).offset > data.length / 2);
    const found = await sniffMedia(inMemory(data));
    assert.equal(found.kind, 'video');
    assert.deepEqual(found.tracks.map((t) => t.kind), ['video', 'audio']);
    assert.match(found.tracks[0].codec, /^avc1\.[0-9a-f]{6}$/);
    assert.equal(found.tracks[1].codec, 'mp4a.40.2');

    // The same with a 64-bit mdat header, and with a moov of size 0 (to the end of the file).
    const mdat = boxes.find((b) => b.type === 'mdat');
    const large = bytesOf(data.subarray(0, mdat.offset), u32be(1), 'mdat', u32be(0), u32be(mdat.size + 8),
      data.subarray(mdat.offset + 8, mdat.offset + mdat.size), data.subarray(mdat.offset + mdat.size));
    assert.deepEqual(await sniffMedia(inMemory(large)), found);
    const toEnd = data.slice();
    toEnd.set(u32be(0), boxes.at(-1).offset);
    assert.deepEqual(await sniffMedia(inMemory(toEnd)), found);
    // A file cut in its moov does not throw.
    const cut = await sniffMedia(inMemory(data.slice(0, boxes.at(-1).offset + 200)));
    assert.equal(cut.container, 'mp4');
  });

  await t.test('audio only (m4a)', async () => {
    const data = ffmpeg(dir, 'sound.m4a', [...AUDIO_IN, '-c:a', 'aac']);
    const found = await sniffMedia(inMemory(data));
    assert.deepEqual(found, { kind: 'audio', container: 'mp4', mime: 'audio/mp4', tracks: [{ kind: 'audio', codec: 'mp4a.40.2' }] });
    assert.equal(mediaType(found), 'audio/mp4; codecs="mp4a.40.2"');
    assert.deepEqual(playability(found, chromium), { playable: true });
  });

  await t.test('QuickTime (.mov)', async () => {
    const data = ffmpeg(dir, 'clip.mov', [...VIDEO_IN, '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const found = await sniffMedia(inMemory(data));
    assert.equal(found.container, 'quicktime');
    assert.equal(found.mime, 'video/mp4');
    assert.match(found.tracks[0].codec, /^avc1\.[0-9a-f]{6}$/);
  });

  await t.test('HEVC (hvc1): not playable in Chromium, for its codec', { skip: !hasX265 && 'no libx265' }, async () => {
    const data = ffmpeg(dir, 'hevc.mp4', [...VIDEO_IN, ...AUDIO_IN, '-c:v', 'libx265', '-tag:v', 'hvc1', '-x265-params', 'log-level=none', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']);
    const found = await sniffMedia(inMemory(data));
    assert.equal(found.kind, 'video');
    // Main profile, compatible with Main and Main 10 (flags 0x60000000 reversed: 6), level 3 (L30
    // = 3 * 30) for 160x120; the constraint byte of progressive frames.
    assert.match(found.tracks[0].codec, /^hvc1\.1\.6\.L\d+\.[0-9A-F]{2}$/);
    assert.equal(found.tracks[0].codec, 'hvc1.1.6.L30.90');
    assert.equal(found.tracks[1].codec, 'mp4a.40.2');
    const answer = playability(found, chromium);
    assert.equal(answer.playable, false);
    assert.equal(answer.reason, 'codec');
    assert.equal(answer.kind, 'video');
    assert.equal(answer.container, 'mp4');
    assert.match(answer.codec, /^hvc1\./);
  });

  await t.test('moov at the end over a store holding only the head: PiecesMissing names the tail', async () => {
    // More than 3 pieces of SNIFF_HEAD_BYTES, so that the head is piece 0 alone.
    const data = ffmpeg(dir, 'big.mp4', ['-f', 'lavfi', '-i', 'testsrc=duration=3:size=320x240:rate=25', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p']);
    const pieceSize = SNIFF_HEAD_BYTES;
    const count = Math.ceil(data.length / pieceSize);
    assert.ok(count >= 4, `${data.length} bytes`);
    const moov = topBoxes(data).at(-1);
    assert.equal(moov.type, 'moov');
    const { store, bytes } = storedFile(data, pieceSize, [0]);
    const asked = [];
    for (let tries = 0; ; tries++) {
      assert.ok(tries < 5);
      try {
        const found = await sniffMedia(bytes);
        assert.match(found.tracks[0].codec, /^avc1\./);
        break;
      } catch (error) {
        assert.ok(error instanceof PiecesMissing, error);
        assert.ok(error.pieces.length > 0);
        for (const piece of error.pieces) {
          assert.ok(piece >= bytes.pieceAt(moov.offset) && piece < count, `piece ${piece} is not the moov's`);
          store.pieces.add(piece);
        }
        asked.push(error.pieces);
      }
    }
    // One miss, naming every piece from the moov's header to the end (the tail is wanted at once,
    // not a box header at a time); the mdat between was never needed.
    const first = bytes.pieceAt(moov.offset);
    assert.deepEqual(asked, [Array.from({ length: count - first }, (_, i) => first + i)]);
    for (let piece = 1; piece < bytes.pieceAt(moov.offset); piece++) assert.ok(!store.pieces.has(piece));
  });
});

test('sniff: playability names the video track first, and takes a type without codecs', () => {
  const found = { kind: 'video', container: 'mp4', mime: 'video/mp4', tracks: [{ kind: 'audio', codec: 'ac-3' }, { kind: 'video', codec: 'hvc1.1.6.L93.B0' }] };
  assert.deepEqual(playability(found, chromium), { playable: false, reason: 'codec', kind: 'video', container: 'mp4', codec: 'hvc1.1.6.L93.B0' });
  const audioBad = { ...found, tracks: [{ kind: 'video', codec: 'avc1.64001f' }, { kind: 'audio', codec: 'ac-3' }] };
  assert.deepEqual(playability(audioBad, chromium), { playable: false, reason: 'codec', kind: 'audio', container: 'mp4', codec: 'ac-3' });
  // A codec not known: the container's own answer.
  const unknown = { ...found, tracks: [{ kind: 'video', codec: null }] };
  assert.equal(mediaType(unknown), 'video/mp4');
  assert.deepEqual(playability(unknown, chromium), { playable: true });
  // Everything plays: asked once, with every codec.
  const asked = [];
  assert.deepEqual(playability({ ...found, tracks: [{ kind: 'video', codec: 'avc1.64001f' }] }, (type) => { asked.push(type); return 'probably'; }), { playable: true });
  assert.deepEqual(asked, ['video/mp4; codecs="avc1.64001f"']);
  // A browser that plays nothing.
  assert.deepEqual(playability(found, () => ''), { playable: false, reason: 'container', kind: 'video', container: 'mp4' });
});
