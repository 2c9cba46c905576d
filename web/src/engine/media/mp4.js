// Fragmented MP4 (ISO BMFF: ftyp, moov with mvex, then moof/mdat pairs): the fragment index a
// sender puts in the manifest (docs/protocol.md part 3, "fragments"), and the RFC 6381 codecs
// string of its tracks. Reads box headers with Blob.slice (and the small moov and moof boxes
// whole), never the file; bounded in boxes and bytes, not in time: the same file must always give
// the same manifest (a sender that resumes its share seals it again under the same key and nonce).
// Anything unexpected means "not a fragmented MP4 we can index": it is then shared as a plain file.
import { FMP4_SCAN_MAX_BOXES, FMP4_SCAN_MAX_HEADER_BYTES } from '../config.js';
import { MAX_FRAGMENTS } from '../transfer/content.js';

const decoder = new TextDecoder('latin1');

class NotIndexable extends Error {}

function fail(why) {
  throw new NotIndexable(why);
}

/**
 * Scans `blob` (a File or Blob). Returns {fragments: [[time_ms, offset], ...], codecs: string|null,
 * mime: 'video/mp4'|'audio/mp4', type: the MSE MIME type with codecs, or null when the codecs are
 * not known} for a fragmented MP4, or null for anything else (also when a box is malformed or there
 * are more boxes than FMP4_SCAN_MAX_BOXES). Never throws for the file's content.
 */
export async function scanFragmentedMp4(blob) {
  try {
    return await scan(blob);
  } catch (error) {
    if (error instanceof NotIndexable) return null;
    if (error?.name === 'NotReadableError' || error?.name === 'NotFoundError') return null;
    throw error;
  }
}

async function read(blob, start, end) {
  return new Uint8Array(await blob.slice(start, Math.min(end, blob.size)).arrayBuffer());
}

// The header of the box at `offset` from its first bytes `bytes` (at least 8, 16 for a 64-bit size):
// {type, size, header} with size the whole box's length (to the file's end for size 0).
function boxHeader(bytes, offset, fileSize) {
  if (bytes.length < 8) fail('a box header runs past the end');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let size = view.getUint32(0);
  const type = decoder.decode(bytes.subarray(4, 8));
  let header = 8;
  if (size === 1) {
    if (bytes.length < 16) fail('a 64-bit box size runs past the end');
    size = Number(view.getBigUint64(8));
    header = 16;
  } else if (size === 0) {
    size = fileSize - offset;
  }
  if (size < header || offset + size > fileSize) fail(`box ${JSON.stringify(type)} at ${offset} has a bad size`);
  return { type, size, header };
}

async function scan(blob) {
  const fileSize = blob.size;
  let offset = 0;
  let boxes = 0;
  let track = null; // {id, timescale} of the first track
  let codecs = null;
  let mime = null;
  let sawMoov = false;
  let pendingStart = null; // where the coming fragment starts (a styp, sidx, prft or emsg may precede its moof)
  const fragments = [];
  let head = await read(blob, 0, 16);
  while (offset < fileSize) {
    if (++boxes > FMP4_SCAN_MAX_BOXES) fail('too many boxes');
    const { type, size, header } = boxHeader(head, offset, fileSize);
    let next = null; // the next box's first bytes, when read together with this box
    if (boxes === 1 && type !== 'ftyp') fail('no ftyp first');
    if (type === 'moov') {
      if (sawMoov || fragments.length > 0) fail('a second moov');
      if (size > FMP4_SCAN_MAX_HEADER_BYTES) fail('moov is too large for a fragmented file');
      const bytes = await read(blob, offset, offset + size + 16);
      ({ track, codecs, mime } = parseMoov(bytes.subarray(header, size)));
      next = bytes.subarray(size);
      sawMoov = true;
    } else if (type === 'moof') {
      if (!sawMoov) fail('moof before moov');
      if (size > FMP4_SCAN_MAX_HEADER_BYTES) fail('moof is too large');
      const bytes = await read(blob, offset, offset + size + 16);
      const time = fragmentTime(bytes.subarray(header, size), track);
      const start = pendingStart ?? offset;
      if (fragments.length >= MAX_FRAGMENTS) fail('too many fragments');
      const last = fragments.at(-1);
      if (time === null) fail('a moof without the first track');
      if (last && time < last[0]) fail('fragment times go back');
      if (start === 0) fail('a fragment at offset 0');
      fragments.push([time, start]);
      pendingStart = null;
      next = bytes.subarray(size);
    } else if (type === 'mdat') {
      if (fragments.length === 0) fail('mdat before the first moof: not fragmented');
    } else if (type === 'styp' || type === 'sidx' || type === 'prft' || type === 'emsg') {
      if (sawMoov) pendingStart ??= offset;
    } else if (!['ftyp', 'free', 'skip', 'uuid', 'mfra', 'meta', 'pdin'].includes(type)) {
      fail(`an unexpected top-level box ${JSON.stringify(type)}`);
    }
    offset += size;
    if (offset >= fileSize) break;
    head = next && next.length >= 16 ? next : await read(blob, offset, offset + 16);
  }
  if (!sawMoov || fragments.length === 0) return null;
  const type = codecs ? `${mime}; codecs="${codecs}"` : null;
  return { fragments, codecs, mime, type };
}

// Children of a box's payload: [{type, body}] (body a subarray); malformed sizes fail.
export function boxChildren(bytes) {
  const out = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 8 <= bytes.length;) {
    let size = view.getUint32(at);
    const type = decoder.decode(bytes.subarray(at + 4, at + 8));
    let header = 8;
    if (size === 1) {
      if (at + 16 > bytes.length) fail('a child box size runs past its parent');
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = bytes.length - at;
    }
    if (size < header || at + size > bytes.length) fail(`child box ${JSON.stringify(type)} has a bad size`);
    out.push({ type, body: bytes.subarray(at + header, at + size) });
    at += size;
  }
  return out;
}

export function boxChild(bytes, type) {
  return boxChildren(bytes).find((box) => box.type === type)?.body ?? null;
}

function viewOf(bytes) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// The first track's id and timescale, the codecs of every track, and whether there is video.
function parseMoov(moov) {
  const boxes = boxChildren(moov);
  if (!boxes.some((box) => box.type === 'mvex')) fail('moov without mvex: not fragmented');
  const traks = boxes.filter((box) => box.type === 'trak');
  if (traks.length === 0) fail('no track');
  let track = null;
  const codecs = [];
  let video = false;
  let known = true;
  for (const { body } of traks) {
    const tkhd = boxChild(body, 'tkhd');
    const mdia = boxChild(body, 'mdia');
    const mdhd = mdia && boxChild(mdia, 'mdhd');
    if (!tkhd || !mdhd || tkhd.length < 24 || mdhd.length < 24) fail('a track without tkhd or mdhd');
    const id = viewOf(tkhd).getUint32(tkhd[0] === 1 ? 20 : 12);
    const timescale = viewOf(mdhd).getUint32(mdhd[0] === 1 ? 20 : 12);
    if (timescale === 0) fail('a timescale of 0');
    track ??= { id, timescale };
    const hdlr = boxChild(mdia, 'hdlr');
    const handler = hdlr && hdlr.length >= 12 ? decoder.decode(hdlr.subarray(8, 12)) : '';
    if (handler === 'vide') video = true;
    const stsd = boxChild(boxChild(boxChild(mdia, 'minf') ?? new Uint8Array(0), 'stbl') ?? new Uint8Array(0), 'stsd');
    const codec = stsd && stsd.length > 8 ? codecOf(stsd.subarray(8)) : null;
    if (codec) codecs.push(codec);
    else known = false;
  }
  return { track, codecs: known && codecs.length > 0 ? codecs.join(', ') : null, mime: video ? 'video/mp4' : 'audio/mp4' };
}

const hex2 = (n) => n.toString(16).padStart(2, '0');
const dec2 = (n) => String(n).padStart(2, '0');

// RFC 6381 codecs of the first sample entry in an stsd's entries, or null when not cheap to tell.
export function codecOf(entries) {
  const [entry] = boxChildren(entries);
  if (!entry) return null;
  const { type, body } = entry;
  // A visual sample entry has 78 bytes before its boxes, an audio one 28.
  if (type === 'avc1' || type === 'avc3') {
    const avcC = boxChild(body.subarray(78), 'avcC');
    if (!avcC || avcC.length < 4) return null;
    return `${type}.${hex2(avcC[1])}${hex2(avcC[2])}${hex2(avcC[3])}`;
  }
  if (type === 'vp09') {
    const vpcC = boxChild(body.subarray(78), 'vpcC');
    if (!vpcC || vpcC.length < 7) return null;
    return `vp09.${dec2(vpcC[4])}.${dec2(vpcC[5])}.${dec2(vpcC[6] >> 4)}`;
  }
  if (type === 'av01') {
    const av1C = boxChild(body.subarray(78), 'av1C');
    if (!av1C || av1C.length < 3) return null;
    const profile = av1C[1] >> 5;
    const level = av1C[1] & 31;
    const tier = av1C[2] & 0x80 ? 'H' : 'M';
    const bits = av1C[2] & 0x40 ? (profile === 2 && av1C[2] & 0x20 ? 12 : 10) : 8;
    return `av01.${profile}.${dec2(level)}${tier}.${dec2(bits)}`;
  }
  if (type === 'mp4a') {
    const esds = boxChild(body.subarray(28), 'esds');
    return esds && esds.length > 4 ? mp4aCodec(esds.subarray(4)) : null;
  }
  if (type === 'hvc1' || type === 'hev1') {
    const hvcC = boxChild(body.subarray(78), 'hvcC');
    return hvcC && hvcC.length >= 13 ? hevcCodec(type, hvcC) : type;
  }
  if (type === 'Opus') return 'opus';
  if (type === 'fLaC') return 'flac';
  if (type === 'ac-3' || type === 'ec-3') return type;
  if (type === 'mp4v') return 'mp4v.20';
  return null;
}

// hvc1.P.C.TL.B (ISO/IEC 14496-15 annex E) from an HEVCDecoderConfigurationRecord: profile
// space and profile, the compatibility flags bit-reversed, tier and level, constraint bytes
// without the trailing zero ones.
function hevcCodec(type, hvcC) {
  const space = ['', 'A', 'B', 'C'][hvcC[1] >> 6];
  const tier = hvcC[1] & 0x20 ? 'H' : 'L';
  let flags = viewOf(hvcC).getUint32(2);
  let reversed = 0;
  for (let i = 0; i < 32; i++, flags >>>= 1) reversed = ((reversed << 1) | (flags & 1)) >>> 0;
  const constraints = [...hvcC.subarray(6, 12)];
  while (constraints.length > 0 && constraints.at(-1) === 0) constraints.pop();
  return [`${type}`, `${space}${hvcC[1] & 31}`, reversed.toString(16).toUpperCase(), `${tier}${hvcC[12]}`,
    ...constraints.map((b) => b.toString(16).toUpperCase().padStart(2, '0'))].join('.');
}

// mp4a.OO[.A] from an ES_Descriptor: the decoder config's object type, and for AAC (0x40) the
// audio object type from the AudioSpecificConfig.
function mp4aCodec(bytes) {
  let at = 0;
  const descriptor = () => {
    if (at + 2 > bytes.length) return null;
    const tag = bytes[at++];
    let length = 0;
    for (let i = 0; i < 4; i++) {
      const b = bytes[at++];
      length = (length << 7) | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    return { tag, length, start: at };
  };
  const es = descriptor();
  if (!es || es.tag !== 0x03) return null;
  const flags = bytes[at + 2];
  at += 3;
  if (flags & 0x80) at += 2;
  if (flags & 0x40) at += 1 + bytes[at];
  if (flags & 0x20) at += 2;
  const config = descriptor();
  if (!config || config.tag !== 0x04 || config.start + 13 > bytes.length) return null;
  const objectType = bytes[config.start];
  if (objectType !== 0x40) return `mp4a.${hex2(objectType)}`;
  at = config.start + 13;
  const specific = descriptor();
  if (!specific || specific.tag !== 0x05 || specific.start >= bytes.length) return null;
  let aot = bytes[specific.start] >> 3;
  if (aot === 31 && specific.start + 1 < bytes.length) {
    aot = 32 + (((bytes[specific.start] & 7) << 3) | (bytes[specific.start + 1] >> 5));
  }
  return aot > 0 ? `mp4a.40.${aot}` : null;
}

// The first track's baseMediaDecodeTime in a moof's payload, in ms; null if the moof has none.
function fragmentTime(moof, track) {
  for (const { type, body } of boxChildren(moof)) {
    if (type !== 'traf') continue;
    const tfhd = boxChild(body, 'tfhd');
    if (!tfhd || tfhd.length < 8 || viewOf(tfhd).getUint32(4) !== track.id) continue;
    const tfdt = boxChild(body, 'tfdt');
    if (!tfdt || tfdt.length < 8) fail('a traf without tfdt');
    const view = viewOf(tfdt);
    const base = tfdt[0] === 1 ? (tfdt.length >= 12 ? view.getBigUint64(4) : fail('a short tfdt')) : BigInt(view.getUint32(4));
    const ms = Number((base * 1000n) / BigInt(track.timescale));
    if (!Number.isSafeInteger(ms)) fail('a time too large');
    return ms;
  }
  return null;
}

/** The index of the fragment that holds time `ms` (the last one starting at or before it; 0 before the first). */
export function fragmentAt(fragments, ms) {
  let low = 0;
  let high = fragments.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (fragments[mid][0] <= ms) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Bytes [start, end) of fragment k of a file of `size` bytes (k = -1: the init segment). */
export function fragmentRange(fragments, size, k) {
  if (k < 0) return { start: 0, end: fragments[0][1] };
  return { start: fragments[k][1], end: k + 1 < fragments.length ? fragments[k + 1][1] : size };
}
