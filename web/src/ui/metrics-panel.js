// The metrics panel both pages show, folded by default: a live chart of the page's download and
// upload speed (uPlot), the share's figures (offload, copies), the playback figures while
// something plays, one table row per peer, and "Export metrics", which saves the snapshot as
// JSON. It draws engine.metrics() (docs/metrics.md) and nothing else, once per sample while open;
// folded, it draws nothing (the engine's recorder samples on regardless).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './metrics-panel.css';
import { METRICS_SAMPLE_MS } from '../engine/config.js';
import { saveFile } from '../engine/store/save.js';
import {
  describePath, formatBitRate, formatBytes, formatMs, formatShare, formatSpeed,
} from './format.js';

const CHART_HEIGHT = 160;
const DOWN_COLOUR = '#2563eb';
const UP_COLOUR = '#16a34a';

// Why the swarm disconnected a peer for good (Swarm BAN_*); any other reason: it broke the protocol.
const BAN_TEXT = {
  'bad-pieces': 'sent damaged pieces',
  requests: 'asked for too much',
};
const ROLE_TEXT = { owner: 'sender' };

// Mounts the panel at the end of `parent`; metrics: () => the engine's snapshot.
export function mountMetricsPanel(parent, metrics) {
  parent.append(document.getElementById('metrics-panel').content.cloneNode(true));
  const view = {
    details: document.getElementById('metrics'),
    chart: document.getElementById('metrics-chart'),
    totals: document.getElementById('metrics-totals'),
    playback: document.getElementById('metrics-playback'),
    peers: document.querySelector('#metrics-peers tbody'),
    table: document.querySelector('#metrics .metrics-table'),
    noPeers: document.getElementById('metrics-no-peers'),
    exportButton: document.getElementById('export-metrics'),
  };
  let plot = null;
  let timer = null;
  const draw = () => {
    const snapshot = metrics();
    plot ??= newPlot(view.chart);
    drawChart(plot, snapshot.series);
    renderTotals(view.totals, snapshot);
    renderPlayback(view.playback, snapshot.playback);
    renderPeers(view, snapshot.peers);
  };
  view.details.addEventListener('toggle', () => {
    clearInterval(timer);
    timer = null;
    if (!view.details.open) return;
    draw();
    timer = setInterval(draw, METRICS_SAMPLE_MS);
  });
  // The chart takes the panel's width, as the page's changes.
  new ResizeObserver(() => {
    if (plot && view.chart.clientWidth > 0) plot.setSize({ width: view.chart.clientWidth, height: CHART_HEIGHT });
  }).observe(view.chart);
  view.exportButton.addEventListener('click', () => exportMetrics(metrics()));
}

// Saves the snapshot as swarmdrop-metrics-<share id>-<time>.json, pretty-printed.
function exportMetrics(snapshot) {
  const time = snapshot.at.replaceAll(':', '');
  const name = `swarmdrop-metrics-${snapshot.shareId ?? 'share'}-${time}.json`;
  saveFile(new Blob([`${JSON.stringify(snapshot, null, 2)}\n`], { type: 'application/json' }), name);
}

function newPlot(element) {
  // Axis and grid in the page's text colour, which follows its light or dark scheme.
  const text = getComputedStyle(element).color;
  const grid = { stroke: 'rgba(128, 128, 128, 0.25)' };
  const axis = { stroke: text, grid, ticks: grid };
  const value = (format) => (_, v) => (v === null ? '–' : format(v));
  return new uPlot({
    width: element.clientWidth,
    height: CHART_HEIGHT,
    scales: { x: { time: false } },
    // The legend names the lines; their latest figures are in the list below the chart.
    legend: { live: false },
    axes: [
      { ...axis, values: (_, ticks) => ticks.map((tick) => `${tick} s`) },
      { ...axis, size: 80, values: (_, ticks) => ticks.map(formatSpeed) },
    ],
    series: [
      { label: 'Time', value: value((seconds) => `${Math.round(seconds)} s`) },
      { label: 'Download', stroke: DOWN_COLOUR, width: 2, value: value(formatSpeed) },
      { label: 'Upload', stroke: UP_COLOUR, width: 2, value: value(formatSpeed) },
    ],
  }, [[], [], []], element);
}

function drawChart(plot, series) {
  plot.setData([
    series.map((sample) => sample.t / 1000),
    series.map((sample) => sample.down),
    series.map((sample) => sample.up),
  ]);
}

// A <dl> of [term, description] pairs, rebuilt.
function renderList(list, entries) {
  list.replaceChildren(...entries.flatMap(([term, description]) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = description;
    return [dt, dd];
  }));
}

function renderTotals(list, { page, totals }) {
  const offload = totals.offload === null ? '–' : formatShare(totals.offload);
  const entries = [
    ['Download', formatSpeed(totals.downBytesPerSecond)],
    ['Upload', formatSpeed(totals.upBytesPerSecond)],
  ];
  if (page === 'receiver') {
    entries.push(
      ['Received', `${formatBytes(totals.received)}: ${formatBytes(totals.fromOrigin)} from the sender, `
        + `${formatBytes(totals.fromPeers)} from other receivers`],
      ['Offload', `${offload} of it from other receivers`],
    );
  } else {
    // Below 0 while this page sent more than the receivers report holding (reports lag; some left).
    entries.push(['Offload', totals.offload < 0 ? `${offload}: you sent more than the receivers report holding`
      : `${offload} of what the receivers hold came from each other, not from you`]);
  }
  entries.push(
    ['Sent', formatBytes(totals.sent)],
    ['Complete copies', String(totals.copies)],
    ['Damaged pieces', String(totals.badPieces)],
  );
  renderList(list, entries);
}

function renderPlayback(list, playback) {
  list.hidden = playback === null;
  if (list.hidden) return;
  const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
  renderList(list, [
    ['Playing', playback.path],
    ['Time to first frame', playback.timeToFirstFrameMs === null ? '–' : seconds(playback.timeToFirstFrameMs)],
    ['Stalls', `${playback.stalls} (${seconds(playback.stalledMs)})`],
    ['Buffered ahead', `${playback.bufferAheadSeconds.toFixed(1)} s`],
    ['Media bitrate', playback.mediaBitsPerSecond === null ? '–' : formatBitRate(playback.mediaBitsPerSecond)],
    ['Download rate', formatBitRate(playback.downloadBitsPerSecond)],
  ]);
}

// One row per peer, rebuilt: its first cell names it (the first 4 characters of its id).
function renderPeers(view, peers) {
  view.table.hidden = peers.length === 0;
  view.noPeers.hidden = peers.length > 0;
  view.peers.replaceChildren(...peers.map((peer) => {
    const row = document.createElement('tr');
    row.dataset.peer = peer.peer;
    row.dataset.path = peer.path ?? '';
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = ROLE_TEXT[peer.role] ? `${peer.peer.slice(0, 4)} (${ROLE_TEXT[peer.role]})` : peer.peer.slice(0, 4);
    row.append(name);
    for (const text of [
      describePath(peer.path),
      formatMs(peer.rttMs),
      formatBytes(peer.sent),
      formatBytes(peer.received),
      formatSpeed(peer.downBytesPerSecond),
      formatSpeed(peer.upBytesPerSecond),
      peer.banned ? BAN_TEXT[peer.ban] ?? 'broke the protocol' : 'no',
    ]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}
