// Human-readable sizes, speeds and durations, shared by both views.
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond) {
  return `${formatBytes(bytesPerSecond)}/s`;
}

// '' while the time left is unknown.
export function formatTimeLeft(seconds) {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole} s left`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s left`;
  return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min left`;
}

export function formatPercent(bytes, total) {
  return `${total > 0 ? Math.floor((bytes * 100) / total) : 100}%`;
}

// A ratio (0.25) as a whole percentage, rounded ('25 %'); what floors would show 0.9999 as 99 %.
export function formatShare(ratio) {
  return `${Math.round(ratio * 100) || 0} %`;
}

export function describeFile(name, size) {
  return `${name} · ${formatBytes(size)}`;
}

// Bits per second (media bitrates are spoken in bits): '4.2 Mbit/s'.
export function formatBitRate(bitsPerSecond) {
  return formatBytes(bitsPerSecond).replace(/B$/, 'bit/s');
}

// A measured time in milliseconds; '–' while unmeasured (null).
export function formatMs(ms) {
  return ms === null ? '–' : `${Math.round(ms)} ms`;
}

// How a link's bytes go (PeerLink's path), in words; '' while no link was made (null).
const PATH_TEXT = {
  lan: 'local network',
  direct: 'direct',
  turn: 'via a TURN server',
  relay: 'via the server’s relay',
};

export function describePath(path) {
  return PATH_TEXT[path] ?? '';
}
