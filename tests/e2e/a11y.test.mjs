// Accessibility: axe-core finds no serious or critical violation on the sender's page (before and
// after a pick, the link shown), the receiver's (during and after a transfer, with its media and
// file lists), the error pages and the page of a browser that lacks an essential; and the keyboard
// reaches every control of the sender's page, each with a name and a visible focus indicator.
//
// axe goes into the page through page.evaluate: the driver's Runtime.evaluate over CDP runs it in
// the page's world and is not subject to the page's Content-Security-Policy (script-src 'self'),
// which refuses an injected <script> (and the harness fails a test on any CSP refusal).
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  launchBrowser, randomFile, randomLinkSecret, serverFixture, shareFile, shortClip, waitForState, withStates,
} from './harness.mjs';

const fixture = serverFixture();
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// Runs axe over the whole page; every violation goes to the diagnostics, the serious and critical
// ones fail the test.
async function axeCheck(t, page, label) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const { violations: found } = await window.axe.run(document, { resultTypes: ['violations'] });
    return found.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.slice(0, 5).map((node) => node.target.join(' ')) }));
  });
  for (const { id, impact, help, nodes } of violations) t.diagnostic(`${label}: ${impact} ${id}: ${help} [${nodes.join(', ')}]`);
  assert.deepEqual(violations.filter(({ impact }) => ['serious', 'critical'].includes(impact)), [], label);
}

// What has the keyboard focus: its id, accessible name (axe's), and whether a focus indicator
// shows (an outline or a box shadow on it, or for a visually hidden input on its label).
async function focused(page) {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const shows = (el) => {
      const style = getComputedStyle(el);
      return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
    };
    const hiddenInput = element.matches('input') && getComputedStyle(element).opacity === '0';
    window.axe.setup(document); // the tree axe's name computation reads
    try {
      const name = window.axe.commons.text.accessibleTextVirtual(window.axe.utils.getNodeFromTree(element)).trim();
      return {
        id: element.id || `${element.tagName.toLowerCase()} ${element.closest('[data-file]')?.dataset.file ?? ''} ${name}`,
        name,
        visible: shows(hiddenInput ? element.closest('label') : element),
      };
    } finally {
      window.axe.teardown();
    }
  });
}

// Tabs from the top of the page until the focus comes back round: every stop, in order (a
// player's own controls, inside it, count as one stop).
async function tabStops(page) {
  await page.evaluate(() => document.activeElement?.blur());
  const stops = [];
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const stop = await focused(page);
    if (stop === null || stop.id === stops[0]?.id) break;
    if (stop.id !== stops.at(-1)?.id) stops.push(stop);
  }
  return stops;
}

// The metrics panel (ui/metrics-panel.js), opened, for the next axe run.
async function openMetrics(page) {
  await page.locator('#metrics summary').click();
  await page.locator('#metrics-totals').waitFor();
}

function assertReachable(t, stops, ids, label) {
  t.diagnostic(`${label}: ${stops.map(({ id, name }) => `${id} “${name}”`).join(' → ')}`);
  for (const id of ids) assert.ok(stops.some((stop) => stop.id === id), `${label}: Tab never reaches #${id}`);
  for (const stop of stops) {
    assert.ok(stop.name, `${label}: #${stop.id} has no accessible name`);
    assert.ok(stop.visible, `${label}: #${stop.id} shows no focus indicator`);
  }
}

test('the sender page: no serious axe violation before and after a pick, and the keyboard reaches every control', { timeout: 90_000 }, async (t) => {
  const file = await randomFile(fixture.dir, 'a11y.bin', 1 << 20);
  const sender = await launchBrowser();
  try {
    await withStates(t, { sender }, async () => {
      await sender.page.goto(fixture.server.url);
      await axeCheck(t, sender.page, 'sender, nothing picked');
      assertReachable(t, await tabStops(sender.page), ['file-input', 'folder-input', 'relay-only'], 'sender, nothing picked');

      await shareFile(sender.page, fixture.server.url, file.path);
      await sender.page.locator('#copy:enabled').waitFor();
      await axeCheck(t, sender.page, 'sender, link shown');
      const ids = ['share-link', 'copy', 'stop-sharing', 'relay-only'];
      if (await sender.page.locator('#share').isVisible()) ids.push('share');
      assertReachable(t, await tabStops(sender.page), ids, 'sender, link shown');
      await openMetrics(sender.page);
      await axeCheck(t, sender.page, 'sender, metrics open');
      await sender.page.emulateMedia({ colorScheme: 'dark' });
      await axeCheck(t, sender.page, 'sender, metrics open, dark');
      await sender.page.emulateMedia({ colorScheme: 'light' });
      assertReachable(t, await tabStops(sender.page), ['export-metrics'], 'sender, metrics open');
    });
  } finally {
    await sender.close();
  }
});

test('the receiver page: no serious axe violation during and after a transfer, with its media and file lists', { timeout: 150_000 }, async (t) => {
  // Two short videos and a file: the media list (two to choose from) and, once done, the files.
  const video = shortClip(fixture.dir, 'a11y-1.mp4');
  const other = join(fixture.dir, 'a11y-2.mp4');
  copyFileSync(video, other);
  const data = await randomFile(fixture.dir, 'a11y-data.bin', 6 << 20);
  // A slow sender: the transfer runs long enough to be looked at.
  const sender = await launchBrowser({ testHooks: { seedBytesPerSecond: 1_000_000 } });
  const receiver = await launchBrowser();
  try {
    await withStates(t, { sender, receiver }, async () => {
      await sender.page.goto(fixture.server.url);
      await sender.page.setInputFiles('#file-input', [video, other, data.path]);
      await sender.page.waitForFunction(() => /\/s\/[0-9a-f]{16}#/.test(document.querySelector('#share-link')?.href || ''));
      const link = await sender.page.locator('#share-link').getAttribute('href');

      await receiver.page.goto(link);
      await waitForState(receiver.page, (s) => s.phase === 'transferring' && s.media.filter((m) => m.kind === 'video').length === 2 && s.bytes < s.total);
      await receiver.page.locator('#media').waitFor();
      await axeCheck(t, receiver.page, 'receiver, transferring');
      await axeCheck(t, sender.page, 'sender, a receiver transferring');

      await waitForState(receiver.page, (s) => s.phase === 'done');
      await receiver.page.locator('#files').waitFor();
      await axeCheck(t, receiver.page, 'receiver, done');
      assertReachable(t, await tabStops(receiver.page), ['player', 'fullscreen', 'forget', 'relay-only'], 'receiver, done');
      await openMetrics(receiver.page);
      await axeCheck(t, receiver.page, 'receiver, metrics open');
      await receiver.page.emulateMedia({ colorScheme: 'dark' });
      await axeCheck(t, receiver.page, 'receiver, metrics open, dark');
    });
  } finally {
    await sender.close();
    await receiver.close();
  }
});

test('the error pages and the unsupported page: no serious axe violation', { timeout: 60_000 }, async (t) => {
  const browser = await launchBrowser();
  await browser.context.addInitScript(() => {
    if (location.search === '?lack=webrtc') delete window.RTCPeerConnection;
  });
  try {
    const pages = [
      ['a malformed link', `${fixture.server.url}/s/xxx#bad`, '#error'],
      ['a share that does not exist', `${fixture.server.url}/s/0123456789abcdef#${randomLinkSecret()}`, '#error'],
      ['a browser without WebRTC', `${fixture.server.url}/?lack=webrtc`, '#unsupported'],
    ];
    for (const [label, url, message] of pages) {
      await browser.page.goto(url);
      await browser.page.locator(message).waitFor({ timeout: 30_000 });
      await axeCheck(t, browser.page, label);
    }
  } finally {
    await browser.close();
  }
});
