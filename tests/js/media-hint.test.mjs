// media/hint.js: which file of a manifest a receiver fetches from its start, in order, before its
// player opens it (receiver.js), and the sender's smaller pieces for media.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { likelyPlayed, looksLikeMedia } from '../../web/src/engine/media/hint.js';

test('a file looks like media by its name or its type', () => {
  assert.equal(looksLikeMedia('holiday.MKV', ''), true);
  assert.equal(looksLikeMedia('clip', 'video/mp4'), true);
  assert.equal(looksLikeMedia('song', 'audio/ogg'), true);
  assert.equal(looksLikeMedia('notes.txt', 'text/plain'), false);
  assert.equal(looksLikeMedia('film.mp4.zip', 'application/zip'), false);
});

test('the file likely played is the first that looks like media, -1 when none does', () => {
  const file = (path, type = '') => ({ path, size: 10, type });
  assert.equal(likelyPlayed([file('readme.txt', 'text/plain'), file('a/film.webm'), file('b.mp3')]), 1);
  assert.equal(likelyPlayed([file('x', 'video/mp4')]), 0);
  assert.equal(likelyPlayed([file('readme.txt'), file('photo.jpg', 'image/jpeg')]), -1);
});
