// What a file of a share is, from its own bytes (never from its name): the container, whether it
// is video, audio or a picture, and the codec of each track, as RFC 6381 strings where the
// container says enough (an MP4's sample entries, read from its moov wherever it lies) and as the
// codec's common short name otherwise. The browser then answers whether it plays that type
// (playability); the page words the answer (ui/).
//
// sniffMedia reads through `bytes.read(from, to)` (FileBytes): a read of pieces not held yet
// throws PiecesMissing, and the caller tries again once they are here. Reads are a few header
// bytes at a time, plus an MP4's moov up to SNIFF_MAX_MOOV_BYTES.
import { SNIFF_HEAD_BYTES, SNIFF_MAX_MOOV_BYTES, SNIFF_TAIL_BYTES } from '../config.js';
import { PiecesMissing } from './file-bytes.js';
import { boxChild, boxChildren, codecOf } from './mp4.js';

const latin1 = new TextDecoder('latin1');
const ascii = (bytes, from, to) => latin1.decode(bytes.subarray(from, to));
const startsWith = (bytes, signature, at = 0) => signature.every((b, i) => bytes[at + i] === b);

/**
 * {kind: 'video'|'audio'|'image'|null, container, mime, tracks: [{kind, codec}]} where codec is
 * an RFC 6381 string ('avc1.64001f', 'hvc1.1.6.L93.B0', 'mp4a.40.2', 'opus', 'vp9', ...) or
 * null when the container does not say; kind null for anything that is not media.
 */
export async function sniffMedia(bytes) {
  const head = await bytes.read(0, Math.min(SNIFF_HEAD_BYTES, bytes.size));
  for (const sniff of SNIFFERS) {
    const found = await sniff(head, bytes);
    if (found) return found;
  }
  return { kind: null, container: null, mime: null, tracks: [] };
}

const media = (kind, container, mime, tracks = []) => ({ kind, container, mime, tracks });
const image = (container, mime) => media('image', container, mime);

const SNIFFERS = [isoBmff, ebml, ogg, riff, flac, mpegAudio, images, mpegTs];

// MP4, MOV (QuickTime), M4A, and AVIF/HEIC pictures.
async function isoBmff(head, bytes) {
  const first = ascii(head, 4, 8);
  if (!['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip'].includes(first) || head.length < 8) return null;
  const brand = first === 'ftyp' ? ascii(head, 8, 12) : 'qt  ';
  if (['avif', 'avis'].includes(brand)) return image('avif', 'image/avif');
  if (['heic', 'heix', 'mif1', 'msf1'].includes(brand)) return image('heic', 'image/heic');
  const container = brand === 'qt  ' ? 'quicktime' : 'mp4';
  const moov = await findMoov(bytes);
  // Without an ftyp, only a moov found by walking sound boxes makes it a (QuickTime) movie: text
  // that says "free" or "skip" at bytes 4-8 is not one.
  if (first !== 'ftyp' && !moov) return null;
  const tracks = moov ? mp4Tracks(moov) : [];
  const kind = !moov ? (brand === 'M4A ' ? 'audio' : 'video') : tracks.some((t) => t.kind === 'video') ? 'video' : 'audio';
  // Browsers play QuickTime files with MP4 codecs as MP4.
  return media(kind, container, `${kind}/mp4`, tracks);
}

// The moov box's payload, walking the top-level box headers (8 or 16 bytes read each); null if
// there is none or it is larger than SNIFF_MAX_MOOV_BYTES.
async function findMoov(bytes) {
  for (let offset = 0, boxes = 0; offset + 8 <= bytes.size && boxes < 1000; boxes++) {
    // Past the head and near the end, where an index at the end lies, every piece left is wanted
    // at once rather than one box header after another (each a round trip).
    const tail = offset > SNIFF_HEAD_BYTES && bytes.size - offset <= SNIFF_TAIL_BYTES;
    const gaps = tail ? bytes.missing?.(offset, bytes.size) ?? [] : [];
    if (gaps.length > 0) throw new PiecesMissing(gaps);
    const header = await bytes.read(offset, offset + 16);
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    let size = view.getUint32(0);
    let length = 8;
    if (size === 1) {
      if (header.length < 16) return null;
      size = Number(view.getBigUint64(8));
      length = 16;
    } else if (size === 0) {
      size = bytes.size - offset;
    }
    if (size < length) return null;
    if (ascii(header, 4, 8) === 'moov') {
      if (size > SNIFF_MAX_MOOV_BYTES) return null;
      return bytes.read(offset + length, offset + size);
    }
    offset += size;
  }
  return null;
}

function mp4Tracks(moov) {
  const tracks = [];
  try {
    for (const trak of boxChildren(moov).filter((box) => box.type === 'trak')) {
      const mdia = boxChild(trak.body, 'mdia');
      const hdlr = mdia && boxChild(mdia, 'hdlr');
      const handler = hdlr && hdlr.length >= 12 ? ascii(hdlr, 8, 12) : '';
      if (handler !== 'vide' && handler !== 'soun') continue;
      const stsd = boxChild(boxChild(boxChild(mdia, 'minf') ?? new Uint8Array(0), 'stbl') ?? new Uint8Array(0), 'stsd');
      const entry = stsd && stsd.length > 16 ? ascii(stsd, 12, 16) : null;
      tracks.push({ kind: handler === 'vide' ? 'video' : 'audio', codec: (stsd && stsd.length > 8 && codecOf(stsd.subarray(8))) || entry?.trim() || null });
    }
  } catch {
    // a malformed moov: what was read so far
  }
  return tracks;
}

// Matroska and WebM: the DocType, and the CodecID strings of the tracks (in the head: Tracks come
// before the clusters).
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];
const MATROSKA_CODECS = {
  'V_MPEG4/ISO/AVC': ['video', 'avc1'],
  'V_MPEGH/ISO/HEVC': ['video', 'hvc1'],
  V_VP8: ['video', 'vp8'],
  V_VP9: ['video', 'vp9'],
  V_AV1: ['video', 'av01'],
  V_THEORA: ['video', 'theora'],
  'V_MPEG4/ISO/ASP': ['video', 'mp4v'],
  V_MPEG2: ['video', 'mpeg2'],
  A_AAC: ['audio', 'mp4a.40.2'],
  A_OPUS: ['audio', 'opus'],
  A_VORBIS: ['audio', 'vorbis'],
  A_FLAC: ['audio', 'flac'],
  'A_MPEG/L3': ['audio', 'mp3'],
  A_AC3: ['audio', 'ac-3'],
  A_EAC3: ['audio', 'ec-3'],
  A_DTS: ['audio', 'dts'],
  'A_PCM/INT/LIT': ['audio', 'pcm'],
};

async function ebml(head) {
  if (!startsWith(head, EBML_MAGIC)) return null;
  const webm = elementStrings(head, [0x42, 0x82]).includes('webm');
  const tracks = [];
  for (const id of elementStrings(head, [0x86])) {
    const known = MATROSKA_CODECS[id] ?? MATROSKA_CODECS[id.replace(/\/.*$/, '')];
    tracks.push(known ? { kind: known[0], codec: known[1] } : { kind: id.startsWith('V_') ? 'video' : id.startsWith('A_') ? 'audio' : 'other', codec: id });
  }
  const av = tracks.filter((t) => t.kind !== 'other');
  const kind = av.some((t) => t.kind === 'video') || av.length === 0 ? 'video' : 'audio';
  return media(kind, webm ? 'webm' : 'matroska', `${kind}/${webm ? 'webm' : 'x-matroska'}`, av);
}

// The ASCII payloads of every EBML element with this (1- or 2-byte) id in `bytes` whose size is
// a 1-byte vint: DocType and CodecID are short strings.
function elementStrings(bytes, id) {
  const found = [];
  for (let at = 0; at + id.length + 1 < bytes.length; at++) {
    if (!startsWith(bytes, id, at)) continue;
    const size = bytes[at + id.length];
    if (!(size & 0x80)) continue;
    const length = size & 0x7f;
    const text = ascii(bytes, at + id.length + 1, at + id.length + 1 + length);
    if (length > 0 && length < 32 && /^[A-Z]_[A-Z0-9/_]+$|^(webm|matroska)$/.test(text)) found.push(text);
  }
  return found;
}

const OGG_CODECS = [
  [[0x01, ...'vorbis'].map(byteOf), 'audio', 'vorbis'],
  [[...'OpusHead'].map(byteOf), 'audio', 'opus'],
  [[0x7f, ...'FLAC'].map(byteOf), 'audio', 'flac'],
  [[0x80, ...'theora'].map(byteOf), 'video', 'theora'],
];

function byteOf(c) {
  return typeof c === 'number' ? c : c.charCodeAt(0);
}

async function ogg(head) {
  if (ascii(head, 0, 4) !== 'OggS') return null;
  const tracks = [];
  for (const [signature, kind, codec] of OGG_CODECS) {
    for (let at = 0; at + signature.length <= head.length; at++) {
      if (startsWith(head, signature, at)) {
        if (!tracks.some((t) => t.codec === codec)) tracks.push({ kind, codec });
        break;
      }
    }
  }
  const kind = tracks.some((t) => t.kind === 'video') ? 'video' : 'audio';
  return media(kind, 'ogg', `${kind}/ogg`, tracks);
}

// WAV, AVI, WebP.
async function riff(head) {
  if (ascii(head, 0, 4) !== 'RIFF') return null;
  const form = ascii(head, 8, 12);
  if (form === 'WAVE') return media('audio', 'wav', 'audio/wav', [{ kind: 'audio', codec: wavCodec(head) }]);
  if (form === 'AVI ') return media('video', 'avi', 'video/x-msvideo');
  if (form === 'WEBP') return image('webp', 'image/webp');
  return null;
}

// The fmt chunk's format tag as WAV's codecs parameter ('1' is PCM).
function wavCodec(head) {
  for (let at = 12; at + 10 <= head.length;) {
    const size = new DataView(head.buffer, head.byteOffset + at + 4, 4).getUint32(0, true);
    if (ascii(head, at, at + 4) === 'fmt ') return String(head[at + 8] | (head[at + 9] << 8));
    at += 8 + size + (size & 1);
  }
  return null;
}

async function flac(head) {
  return ascii(head, 0, 4) === 'fLaC' ? media('audio', 'flac', 'audio/flac', [{ kind: 'audio', codec: 'flac' }]) : null;
}

// MP3 (an ID3 tag, or an MPEG audio layer III frame first) and ADTS AAC.
async function mpegAudio(head) {
  if (ascii(head, 0, 3) === 'ID3') return media('audio', 'mp3', 'audio/mpeg', [{ kind: 'audio', codec: 'mp3' }]);
  if (head.length < 4 || head[0] !== 0xff) return null;
  if ((head[1] & 0xf6) === 0xf0) return media('audio', 'aac', 'audio/aac', [{ kind: 'audio', codec: 'mp4a.40.2' }]);
  // Frame sync, MPEG version not reserved, layer III, bitrate and sample rate not reserved.
  if ((head[1] & 0xe0) === 0xe0 && (head[1] & 0x18) !== 0x08 && (head[1] & 0x06) === 0x02
    && (head[2] & 0xf0) !== 0xf0 && (head[2] & 0x0c) !== 0x0c) {
    return media('audio', 'mp3', 'audio/mpeg', [{ kind: 'audio', codec: 'mp3' }]);
  }
  return null;
}

const IMAGES = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'png', 'image/png'],
  [[0xff, 0xd8, 0xff], 'jpeg', 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'gif', 'image/gif'],
  [[0x42, 0x4d], 'bmp', 'image/bmp'],
];

async function images(head) {
  const found = IMAGES.find(([signature]) => startsWith(head, signature));
  // "BM" alone begins many a text: a bitmap also has four reserved zero bytes at 6-10.
  if (found?.[1] === 'bmp' && !startsWith(head, [0, 0, 0, 0], 6)) return null;
  return found ? image(found[1], found[2]) : null;
}

// MPEG transport stream: sync bytes every 188 bytes.
async function mpegTs(head) {
  if (head.length < 376 || head[0] !== 0x47 || head[188] !== 0x47 || head[376] !== 0x47) return null;
  return media('video', 'mpeg-ts', 'video/mp2t');
}

/** The MIME type with a codecs parameter where every track's codec is known. */
export function mediaType({ mime, tracks }) {
  if (!mime) return null;
  const codecs = tracks.map((t) => t.codec);
  return codecs.length > 0 && codecs.every(Boolean) ? `${mime}; codecs="${codecs.join(', ')}"` : mime;
}

/**
 * Whether this browser plays (or shows) the sniffed file, by its own answer (canPlayType, an
 * HTMLMediaElement's): {playable: true} or {playable: false, reason: 'not-media'|'container'|
 * 'codec', kind, container, codec (the track it cannot play, for 'codec')}.
 */
export function playability(found, canPlayType) {
  const { kind, container, mime, tracks } = found;
  if (!kind) return { playable: false, reason: 'not-media' };
  if (kind === 'image') {
    return PICTURES.has(container) ? { playable: true } : { playable: false, reason: 'container', kind, container };
  }
  if (canPlayType(mediaType(found)) !== '') return { playable: true };
  if (canPlayType(mime) === '') return { playable: false, reason: 'container', kind, container };
  // The container plays: name the track whose codec does not (video first).
  const ordered = [...tracks.filter((t) => t.kind === 'video'), ...tracks.filter((t) => t.kind !== 'video')];
  const bad = ordered.find((t) => t.codec && canPlayType(`${mime}; codecs="${t.codec}"`) === '');
  return bad ? { playable: false, reason: 'codec', kind: bad.kind, container, codec: bad.codec } : { playable: true };
}

// Pictures every current browser shows (HEIC, for one, most do not).
const PICTURES = new Set(['png', 'jpeg', 'gif', 'bmp', 'webp', 'avif']);
