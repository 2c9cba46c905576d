// "File names" (docs/protocol.md part 3): every rule a manifest path must pass, the error a
// receiver gets for each (ManifestError 'bad-name' with the rule and the file), and the sender's
// mapping of picked names to names that pass. Run: node --test tests/js/names.test.mjs
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  MAX_PATH_BYTES, MAX_PATH_SEGMENTS, MAX_SEGMENT_BYTES, ManifestError, NAME_RULES, createShareKeys, openManifest,
  openShareKeys, pathProblem, sealManifest, sealManifestBytes, shareablePaths, validateManifest,
} from '../../web/src/engine/transfer/content.js';

const bytes = (text) => Buffer.byteLength(text);
const manifestOf = (paths) => ({ v: 1, piece_size: 16384, total: 0, files: paths.map((path) => ({ path, size: 0, type: '' })) });

// Each rule with paths that break it (and break no rule checked before it).
const BROKEN = {
  'not-text': ['a\ud800', '\udc00b'],
  length: ['', `${'a/'.repeat(2048)}a`],
  depth: [Array.from({ length: MAX_PATH_SEGMENTS + 1 }, () => 'd').join('/')],
  control: ['a\u0000', 'a\tb', 'a\nb', '\u001b[31mred', 'a\u007f', 'a\u0085', 'a\u009f'],
  bidi: ['a\u202Egnp.exe', 'a\u202Ab', 'a\u202Bb', 'a\u202Cb', 'a\u202Db', 'a\u200Eb', 'a\u200Fb', 'a\u061Cb', 'a\u2066b', 'a\u2067b', 'a\u2068b', 'a\u2069b'],
  invisible: ['a\u200Bb', 'a\u200Cb', 'a\u200Db', 'a\u2060b', '\uFEFFa'],
  backslash: ['a\\b', '..\\..\\evil'],
  colon: ['C:evil', 'a:b', 'dir/file.txt:stream', 'C:'],
  'slash-lookalike': ['x\u2215y', 'x\u2044y', 'x\u2216y', 'x\u29F8y', 'x\u29F9y', 'x\uFF0Fy', 'x\uFF3Cy'],
  'dot-segment': ['/a', 'a/', 'a//b', '.', '..', '../a', 'a/./b', 'a/..'],
  'trailing-dot-space': ['a.', 'a ', 'dir./b', 'dir /b', 'a/b...', '...'],
  reserved: ['CON', 'con', 'CON.txt', 'Con.tar.gz', 'PRN', 'aux.c', 'NUL', 'nul.x', 'COM1', 'com9.log', 'LPT1', 'lpt9.txt', 'dir/AUX/x'],
  'segment-length': [`${'x'.repeat(MAX_SEGMENT_BYTES + 1)}`, `d/${'é'.repeat(128)}`, `${'😀'.repeat(64)}/b`],
};

// Names that look close to a rule and pass.
const FINE = [
  'a', 'CON_.txt', 'CONSOLE.txt', 'icon.png', 'COM0', 'COM10', 'LPT', 'lpt10.txt', 'xCON', 'a.b', '.hidden', '..a', 'a/.x',
  'a b', ' a', 'Grüße/日本語/😀.txt', 'a\u00A0b', 'a\u00ADb', 'a\u2028b', 'x/y', 'semi;colon', 'half/ｗｉｄｅ.txt',
  'x'.repeat(MAX_SEGMENT_BYTES), 'é'.repeat(127), Array.from({ length: MAX_PATH_SEGMENTS }, () => 'd').join('/'),
  Array.from({ length: 17 }, () => 'a'.repeat(240)).join('/'), // 4096 bytes
];

describe('every rule of "File names"', () => {
  test('the rules listed are the rules tested', () => {
    assert.deepEqual(new Set([...Object.keys(BROKEN), 'duplicate']), new Set(NAME_RULES));
  });

  for (const [rule, paths] of Object.entries(BROKEN)) {
    test(`${rule}: refused with the rule and the file named`, () => {
      for (const path of paths) {
        assert.equal(pathProblem(path), rule, JSON.stringify(path));
        assert.throws(() => validateManifest(manifestOf(['fine.txt', path])), (error) => error instanceof ManifestError
          && error.code === 'bad-name' && error.rule === rule && error.file === 1, JSON.stringify(path));
      }
    });
  }

  test('a path given twice is refused as a duplicate', () => {
    assert.throws(() => validateManifest(manifestOf(['a', 'b', 'a'])), (error) => error.code === 'bad-name'
      && error.rule === 'duplicate' && error.file === 2);
  });

  test('names close to a rule pass', () => {
    for (const path of FINE) assert.equal(pathProblem(path), null, JSON.stringify(path));
    assert.ok(validateManifest(manifestOf(FINE)));
    assert.equal(bytes(FINE.at(-1)), MAX_PATH_BYTES);
  });

  test('other manifest errors are not name errors', () => {
    assert.throws(() => validateManifest({ ...manifestOf(['a']), v: 2 }), (error) => error.code === 'bad-manifest' && error.rule === null);
  });

  test('a manifest signed by the owner with a hostile name is still refused', async () => {
    const keys = await createShareKeys();
    const { contentKey, verifyKey } = await openShareKeys(keys);
    // sealManifest checks the names first; a hostile owner seals whatever bytes it likes.
    const hostile = { ...manifestOf(['a\u202Egnp.exe']) };
    await assert.rejects(sealManifest(contentKey, keys.signingKey, hostile), { code: 'bad-name', rule: 'bidi' });
    const sealed = await sealManifestBytes(contentKey, keys.signingKey, new TextEncoder().encode(JSON.stringify(hostile)));
    await assert.rejects(openManifest(contentKey, verifyKey, sealed), { name: 'ManifestError', code: 'bad-name', rule: 'bidi', file: 0 });
  });
});

describe('the sender maps picked names to names that pass', () => {
  test('each hostile name becomes a valid one', () => {
    const picked = Object.values(BROKEN).flat().filter((path) => path !== '');
    const mapped = shareablePaths(picked);
    assert.equal(new Set(mapped).size, mapped.length);
    for (const path of mapped) assert.equal(pathProblem(path), null, JSON.stringify(path));
    assert.ok(validateManifest(manifestOf(mapped)));
  });

  test('what the mapping does to each kind of name', () => {
    const cases = [
      ['CON.txt', 'CON_.txt'], ['con', 'con_'], ['Lpt1.tar.gz', 'Lpt1_.tar.gz'], ['a\u202Egnp.exe', 'a_gnp.exe'],
      ['x\u2215y', 'x_y'], ['C:evil', 'C_evil'], ['zero\u200Bwidth', 'zero_width'], ['a\\b', 'a_b'], ['tab\there', 'tab_here'],
      ['name.', 'name_'], ['name ', 'name_'], ['album/..', 'album/._'], ['/abs//path/', 'abs/path'], ['', '_'],
      ['ok/name.txt', 'ok/name.txt'],
    ];
    for (const [picked, expected] of cases) assert.equal(shareablePaths([picked])[0], expected, JSON.stringify(picked));
  });

  test('a long name is cut to 255 bytes and keeps its extension', () => {
    for (const [stem, extension] of [['x', '.jpeg'], ['é', '.tar.gz'], ['😀', '.mp4'], ['y', '']]) {
      const [mapped] = shareablePaths([`album/${stem.repeat(300)}${extension}`]);
      const name = mapped.split('/')[1];
      assert.ok(bytes(name) <= MAX_SEGMENT_BYTES && bytes(name) >= MAX_SEGMENT_BYTES - 4, `${bytes(name)} bytes`);
      assert.ok(name.endsWith(extension.split('.').slice(-1)[0]), name.slice(-10));
      assert.equal(pathProblem(mapped), null);
      assert.doesNotMatch(name, /\ufffd/); // no half character
    }
  });

  test('a path too deep or too long is shortened, whole segments kept where they fit', () => {
    const deep = Array.from({ length: 40 }, (_, i) => `d${i}`).join('/');
    const [mapped] = shareablePaths([deep]);
    assert.equal(mapped.split('/').length, MAX_PATH_SEGMENTS);
    assert.ok(mapped.startsWith('d0/d1/'));
    const long = Array.from({ length: 30 }, () => 'n'.repeat(250)).join('/');
    const [cut] = shareablePaths([long]);
    assert.equal(pathProblem(cut), null);
    assert.equal(cut.split('/').length, 30);
  });

  test('names that meet after mapping are told apart; a name that passed keeps its own', () => {
    assert.deepEqual(shareablePaths(['a:b.txt', 'a_b.txt', 'a\\b.txt', 'x']), ['a_b (2).txt', 'a_b.txt', 'a_b (3).txt', 'x']);
    assert.deepEqual(shareablePaths(['same', 'same']), ['same', 'same (2)']);
  });
});
