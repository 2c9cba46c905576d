// Two Chromium processes, the real Janus + plugin + nginx: a fragmented MP4 made here by Debian's
// ffmpeg goes browser to browser from a sender whose uplink is capped (test hook), and the
// receiver plays it while it downloads: past 3 s before the whole file is there, then after a
// seek to 30 s, again before the whole file is there (the pieces at the playhead come first).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  launchBrowser, playsWhileDownloading, serverFixture, shareFile, startPlayer, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();

// About 20 MB: 40 s at a constant 4 Mbit/s, a keyframe and so a fragment every 2 s.
function makeVideo(path) {
  execFileSync('ffmpeg', [
    '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '40',
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-b:v', '4M', '-minrate', '4M', '-maxrate', '4M', '-bufsize', '2M',
    '-x264-params', 'nal-hrd=cbr', '-c:a', 'aac', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', path,
  ]);
  return statSync(path).size;
}

test('a fragmented MP4 plays while it downloads, and a seek to 30 s plays without waiting for the rest', { timeout: 300_000 }, async (t) => {
  const path = join(fixture.dir, 'clip.mp4');
  const size = makeVideo(path);
  assert.ok(size > 16 << 20, `${size} bytes`);
  // 700 kB/s: the 20 MB take about 30 s, so playing at 3 s and at 30 s must come well before.
  const sender = await launchBrowser({ testHooks: { seedBytesPerSecond: 700_000 } });
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      const link = await shareFile(sender.page, fixture.server.url, path);
      await receiver.page.goto(link);
      const video = receiver.page.locator('#player');
      await video.waitFor({ state: 'visible', timeout: 60_000 });
      const known = await receiver.page.evaluate(() => window.swarmdrop);
      assert.equal(known.player.path, 'clip.mp4');
      assert.match(known.player.type, /^video\/mp4; codecs="avc1\.[0-9a-f]{6}, mp4a\.40\.2"$/);
      assert.equal(known.player.error, null);
      assert.equal(known.files[0].fragments.length, 20);
      assert.ok(known.bytes < known.total, 'the video shows before the file is here');

      await startPlayer(receiver.page);
      const { early, late } = await playsWhileDownloading(t, receiver.page);
      assert.equal(early.total, size);
      // Fetched in plain order, playing at 30 s would need every byte before its fragment first.
      const seekedTo = known.files[0].fragments.findLast(([ms]) => ms <= 30_000);
      assert.ok(late.bytes < seekedTo[1], `the pieces before the seek target came first (${late.bytes} bytes, target at ${seekedTo[1]})`);

      // The download went on and ends; the file is saved as usual.
      const done = await waitForState(receiver.page, (s) => s.phase === 'done', null, { timeout: 120_000 });
      assert.equal(done.bytes, size);
      assert.equal(done.player.error, null);
    }, { server: fixture.server });
  } finally {
    await sender.close();
    await receiver.close();
  }
});
