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

export function describeFile(name, size) {
  return `${name} · ${formatBytes(size)}`;
}
