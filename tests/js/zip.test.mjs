// The streaming ZIP writer, checked by an independent reader (Python's zipfile).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32, zipStream } from '../../web/src/engine/store/zip.js';

async function collect(stream) {
  const parts = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

// Lists the archive with Python's zipfile: [[name, size, crc, content sha-256]...], after testzip().
function readWithPython(bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'zip-test-'));
  try {
    const path = join(dir, 'a.zip');
    writeFileSync(path, bytes);
    const script = `
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None
    print(json.dumps([[i.filename, i.file_size, i.CRC, hashlib.sha256(z.read(i)).hexdigest()] for i in z.infolist()]))`;
    return JSON.parse(execFileSync('python3', ['-c', script, path], { maxBuffer: 64 << 20 }).toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sha256 = async (bytes) => Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  const whole = crc32(new TextEncoder().encode('hello world'));
  const split = crc32(new TextEncoder().encode(' world'), crc32(new TextEncoder().encode('hello')));
  assert.equal(split, whole);
});

test('files with folders, UTF-8 names and an empty file read back intact', async () => {
  const big = new Uint8Array(3 << 20).map((_, i) => (i * 31 + 7) & 0xff);
  const files = [
    { path: 'holiday/day 1/ünïcødé photo.jpg', bytes: big },
    { path: 'holiday/empty.txt', bytes: new Uint8Array(0) },
    { path: 'notes.txt', bytes: new TextEncoder().encode('swarmdrop\n') },
  ];
  const entries = files.map(({ path, bytes }) => ({ path, size: bytes.length, open: async () => new Blob([bytes]) }));
  const listed = readWithPython(await collect(zipStream(entries)));
  assert.equal(listed.length, files.length);
  for (let i = 0; i < files.length; i++) {
    const [name, size, crc, digest] = listed[i];
    assert.equal(name, files[i].path);
    assert.equal(size, files[i].bytes.length);
    assert.equal(crc, crc32(files[i].bytes));
    assert.equal(digest, await sha256(files[i].bytes));
  }
});

test('more than 65535 entries switch to ZIP64 end records', async () => {
  const count = 65600;
  const entries = Array.from({ length: count }, (_, i) => ({ path: `f/${i}`, size: 0, open: async () => new Blob([]) }));
  const listed = readWithPython(await collect(zipStream(entries)));
  assert.equal(listed.length, count);
  assert.equal(listed[count - 1][0], `f/${count - 1}`);
});

test('a file shorter than announced errors the stream instead of writing a corrupt archive', async () => {
  const entries = [{ path: 'short.bin', size: 10, open: async () => new Blob([new Uint8Array(4)]) }];
  await assert.rejects(collect(zipStream(entries)), /has 4 bytes, not 10/);
});

test('only names that pass "File names" go into an archive', () => {
  for (const path of ['../evil', '/etc/passwd', 'C:evil', 'a\\b', 'CON.txt', 'a\u202Egnp.exe', 'x\u2215y', 'a\u200Bb', 'x'.repeat(256)]) {
    assert.throws(() => zipStream([{ path: 'fine.txt', size: 0, open: async () => new Blob([]) }, { path, size: 0, open: async () => new Blob([]) }]),
      RangeError, JSON.stringify(path));
  }
});

test("Info-ZIP's unzip extracts UTF-8 names as they are, as files of mode 0644", async () => {
  const names = ['dir/ünïcødé.txt', `dir/${'é'.repeat(127)}x`, 'dir/日本語 😀.bin'];
  const bytes = await collect(zipStream(names.map((path, i) => ({ path, size: 1, open: async () => new Blob([String(i)]) }))));
  const dir = mkdtempSync(join(tmpdir(), 'zip-unzip-'));
  try {
    writeFileSync(join(dir, 'a.zip'), bytes);
    execFileSync('unzip', ['-q', join(dir, 'a.zip'), '-d', join(dir, 'out')], { env: { ...process.env, LC_ALL: 'C' } });
    const out = join(dir, 'out', 'dir');
    assert.deepEqual(readdirSync(out).sort(), names.map((path) => path.slice(4)).sort());
    for (const name of readdirSync(out)) assert.equal(statSync(join(out, name)).mode & 0o777, 0o644, name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
