// The sender's fragmented-MP4 scan (web/src/engine/mp4.js) on files Debian's ffmpeg makes here,
// and on damaged copies of them; the fragment lookup the player uses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fragmentAt, fragmentRange, scanFragmentedMp4 } from '../../web/src/engine/media/mp4.js';

let dir;
const made = {};

function ffmpeg(name, args) {
  const path = join(dir, name);
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', ...args, path]);
  return new Uint8Array(readFileSync(path));
}

const FRAG = ['-movflags', 'frag_keyframe+empty_moov+default_base_moof'];
const VIDEO = ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25'];
const AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'swarmdrop-mp4-'));
  made.av = ffmpeg('av.mp4', [...VIDEO, ...AUDIO, '-t', '5', '-c:v', 'libx264', '-g', '25', '-c:a', 'aac', ...FRAG]);
  made.audio = ffmpeg('a.mp4', [...AUDIO, '-t', '3', '-c:a', 'aac', '-frag_duration', '1000000', ...FRAG]);
  made.plain = ffmpeg('plain.mp4', [...VIDEO, '-t', '2', '-c:v', 'libx264']);
});
after(() => rmSync(dir, { recursive: true, force: true }));

// Top-level boxes of a buffer: [{type, offset, size}].
function topBoxes(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes = [];
  for (let at = 0; at < bytes.length;) {
    const size = view.getUint32(at);
    boxes.push({ type: new TextDecoder().decode(bytes.subarray(at + 4, at + 8)), offset: at, size });
    at += size;
  }
  return boxes;
}

// A Blob that counts the bytes read through it.
function counting(bytes) {
  const blob = new Blob([bytes]);
  const counter = { bytes: 0, reads: 0 };
  const wrap = (b) => ({
    size: b.size,
    slice: (s, e) => {
      const part = b.slice(s, e);
      counter.bytes += part.size;
      counter.reads += 1;
      return part;
    },
  });
  return { blob: wrap(blob), counter };
}

describe('scanFragmentedMp4', () => {
  test('indexes every moof of an ffmpeg fragmented MP4, with times from tfdt and the codecs', async () => {
    const { blob, counter } = counting(made.av);
    const result = await scanFragmentedMp4(blob);
    const moofs = topBoxes(made.av).filter((box) => box.type === 'moof');
    assert.equal(result.fragments.length, moofs.length);
    assert.ok(moofs.length >= 5, `${moofs.length} fragments`);
    assert.deepEqual(result.fragments.map(([, offset]) => offset), moofs.map((box) => box.offset));
    // -g 25 at 25 fps: a keyframe, so a fragment, every second of the first (video) track.
    assert.deepEqual(result.fragments.map(([time]) => time), moofs.map((_, k) => k * 1000));
    assert.match(result.codecs, /^avc1\.64[0-9a-f]{4}, mp4a\.40\.2$/);
    assert.equal(result.mime, 'video/mp4');
    assert.equal(result.type, `video/mp4; codecs="${result.codecs}"`);
    // Box headers and the small moov/moof only: far less than the file.
    assert.ok(counter.bytes < made.av.length / 4, `${counter.bytes} of ${made.av.length} bytes read`);
  });

  test('audio only: audio/mp4 and its AAC codec', async () => {
    const result = await scanFragmentedMp4(new Blob([made.audio]));
    assert.equal(result.type.startsWith('audio/mp4; codecs="mp4a.40.2"'), true, result.type);
    assert.ok(result.fragments.length >= 2);
    for (let k = 1; k < result.fragments.length; k++) assert.ok(result.fragments[k][0] >= result.fragments[k - 1][0]);
  });

  test('a plain (not fragmented) MP4, other files and damaged boxes are not indexed', async () => {
    assert.equal(await scanFragmentedMp4(new Blob([made.plain])), null);
    assert.equal(await scanFragmentedMp4(new Blob([])), null);
    assert.equal(await scanFragmentedMp4(new Blob([new TextEncoder().encode('hello, this is not a video at all')])), null);
    const boxes = topBoxes(made.av);
    const damaged = (change) => {
      const copy = made.av.slice();
      change(copy, new DataView(copy.buffer));
      return scanFragmentedMp4(new Blob([copy]));
    };
    const second = boxes.filter((box) => box.type === 'moof')[1];
    // A box size past the end, one smaller than its header, a 64-bit size of 2^60.
    assert.equal(await damaged((_, v) => v.setUint32(second.offset, made.av.length)), null);
    assert.equal(await damaged((_, v) => v.setUint32(second.offset, 4)), null);
    assert.equal(await damaged((c, v) => { v.setUint32(second.offset, 1); v.setBigUint64(second.offset + 8, 1n << 60n); }), null);
    // A moof inside which a child box is too long.
    assert.equal(await damaged((_, v) => v.setUint32(second.offset + 8, 0xfffffff0)), null);
    // No ftyp first; moov without mvex (renamed); an unknown top-level box.
    assert.equal(await damaged((c) => c.set(new TextEncoder().encode('fxyp'), 4)), null);
    const moov = boxes.find((box) => box.type === 'moov');
    const moovBytes = made.av.subarray(moov.offset, moov.offset + moov.size);
    const mvex = Buffer.from(moovBytes).indexOf('mvex');
    assert.equal(await damaged((c) => c.set(new TextEncoder().encode('xvex'), moov.offset + mvex)), null);
    assert.equal(await damaged((c) => c.set(new TextEncoder().encode('zzzz'), second.offset + 4)), null);
    // A fragment time that goes back: tfdt of the second moof set to 0... of the third one.
    const third = boxes.filter((box) => box.type === 'moof')[2];
    const thirdBytes = made.av.subarray(third.offset, third.offset + third.size);
    const tfdt = Buffer.from(thirdBytes).indexOf('tfdt');
    assert.equal(await damaged((c, v) => {
      if (c[third.offset + tfdt + 4] === 1) v.setBigUint64(third.offset + tfdt + 8, 0n);
      else v.setUint32(third.offset + tfdt + 8, 0);
    }), null);
  });
});

test('fragmentAt finds the fragment holding a time; fragmentRange its bytes', () => {
  const fragments = [[0, 100], [2000, 400], [2000, 500], [4000, 900]];
  assert.equal(fragmentAt(fragments, 0), 0);
  assert.equal(fragmentAt(fragments, 1999), 0);
  assert.equal(fragmentAt(fragments, 2000), 2);
  assert.equal(fragmentAt(fragments, 3999), 2);
  assert.equal(fragmentAt(fragments, 4000), 3);
  assert.equal(fragmentAt(fragments, 1e9), 3);
  assert.equal(fragmentAt(fragments, -5), 0);
  assert.equal(fragmentAt([[500, 10]], 0), 0);
  assert.deepEqual(fragmentRange(fragments, 1000, -1), { start: 0, end: 100 });
  assert.deepEqual(fragmentRange(fragments, 1000, 0), { start: 100, end: 400 });
  assert.deepEqual(fragmentRange(fragments, 1000, 3), { start: 900, end: 1000 });
});
