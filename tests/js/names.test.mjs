// "File names" (docs/protocol.md part 3): every rule a manifest path must pass, the error a
// receiver gets for each (ManifestError 'bad-name' with the rule and the file), and the sender's
// mapping of picked names to names that pass. Run: node --test tests/js/names.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

import {
  MAX_PATH_BYTES, MAX_PATH_SEGMENTS, MAX_SEGMENT_BYTES, ManifestError, NAME_RULES, createShareKeys, openManifest,
  openShareKeys, pathProblem, sealManifest, sealManifestBytes, shareablePaths, validateManifest,
} from '../../web/src/engine/transfer/content.js';

const bytes = (text) => Buffer.byteLength(text);
const manifestOf = (paths) => ({ v: 1, piece_size: 16384, total: 0, files: paths.map((path) => ({ path, size: 0, type: '' })) });

// tests/vectors/names.json, shared with the C side (tests/unit/test_manifest.c): each rule with
// paths that break it (and break no rule checked before it), paths close to a rule that pass, sets
// of paths that clash (or not) and the names a sender and the server make of picked names. Lone
// surrogates cannot be written in that file (C reads only UTF-8): 'not-text' is tested here.
const vectors = JSON.parse(readFileSync(new URL('../vectors/names.json', import.meta.url), 'utf8'));
const BROKEN = { 'not-text': ['a\ud800', '\udc00b'], ...vectors.refused };
const FINE = vectors.pass;

describe('every rule of "File names"', () => {
  test('the rules listed are the rules tested', () => {
    assert.deepEqual(new Set([...Object.keys(BROKEN), 'duplicate', 'file-folder']), new Set(NAME_RULES));
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

  test('paths that clash, case and normalisation aside, or as a file and a folder, are refused', () => {
    for (const { paths, rule, file } of vectors.sets) {
      if (rule === null) {
        assert.ok(validateManifest(manifestOf(paths)), JSON.stringify(paths));
        continue;
      }
      assert.throws(() => validateManifest(manifestOf(paths)), (error) => error.code === 'bad-name'
        && error.rule === rule && error.file === file, JSON.stringify(paths));
    }
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

  test('the sender and the server make the same name of a picked name', () => {
    for (const [picked, expected] of vectors.safe_names) assert.equal(shareablePaths([picked])[0], expected, JSON.stringify(picked));
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

  test('names that clash on a case-insensitive or normalising file system, or as a file and a folder, are told apart', () => {
    assert.deepEqual(shareablePaths(['README.txt', 'readme.TXT']), ['README.txt', 'readme (2).TXT']);
    assert.deepEqual(shareablePaths(['caf\u00e9', 'cafe\u0301']), ['caf\u00e9', 'cafe\u0301 (2)']);
    assert.deepEqual(shareablePaths(['a', 'a/b']), ['a (2)', 'a/b']);
    assert.deepEqual(shareablePaths(['A/b', 'a', 'a (2)']), ['A/b', 'a (3)', 'a (2)']);
    assert.deepEqual(shareablePaths(['x.txt', 'X.TXT', 'x (2).txt', 'a?b', 'A_B']), ['x.txt', 'X (3).TXT', 'x (2).txt', 'a_b (2)', 'A_B']);
    for (const { paths } of vectors.sets) {
      const mapped = shareablePaths(paths);
      assert.ok(validateManifest(manifestOf(mapped)), JSON.stringify(mapped));
    }
  });

  test('a numbered name stays within the limits of a name and of a path', () => {
    const long = `${'n'.repeat(251)}.txt`;
    const [, second] = shareablePaths([long, long]);
    assert.equal(second, `${'n'.repeat(247)} (2).txt`);
    const deep = [...Array.from({ length: 16 }, () => 'd'.repeat(250)), 'x'.repeat(79)].join('/'); // 4095 bytes
    const mapped = shareablePaths([deep, deep.toUpperCase()]);
    assert.equal(pathProblem(mapped[1]), null);
    assert.ok(validateManifest(manifestOf(mapped)));
  });
});
