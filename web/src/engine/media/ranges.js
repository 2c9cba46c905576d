// HTTP byte ranges (RFC 9110, section 14) of one file of a share, for the streaming URL the
// service worker answers (sw.js, stream-server.js). One range is served as 206 Partial Content;
// several that touch or overlap are joined into one; several apart, an absent or a malformed
// header are answered with the whole file (200), which a server may always do; a range that starts
// at or past the end is 416. An empty file has no satisfiable range.

const UNIT = 'bytes=';
const SPEC = /^(\d*)-(\d*)$/;

/**
 * The answer to `Range: header` for a file of `size` bytes: {status: 200|206|416, start, end}
 * with the bytes [start, end) to send (none for 416).
 */
export function parseRange(header, size) {
  const whole = { status: 200, start: 0, end: size };
  if (typeof header !== 'string' || !header.trim().toLowerCase().startsWith(UNIT)) return whole;
  const ranges = [];
  for (const part of header.trim().slice(UNIT.length).split(',')) {
    const match = SPEC.exec(part.trim());
    if (!match || (match[1] === '' && match[2] === '')) return whole;
    let start;
    let end; // exclusive
    if (match[1] === '') {
      // The last N bytes.
      const suffix = Number(match[2]);
      if (suffix === 0) continue;
      start = Math.max(0, size - suffix);
      end = size;
    } else {
      start = Number(match[1]);
      end = match[2] === '' ? size : Math.min(Number(match[2]) + 1, size);
      if (match[2] !== '' && Number(match[2]) < start) return whole; // last before first: invalid
    }
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return whole;
    if (start < size) ranges.push({ start, end });
  }
  if (ranges.length === 0) return { status: 416, start: 0, end: 0 };
  ranges.sort((a, b) => a.start - b.start);
  const joined = ranges.reduce((one, next) => (one && next.start <= one.end ? { start: one.start, end: Math.max(one.end, next.end) } : null));
  if (!joined) return whole;
  return { status: 206, ...joined };
}

// The response headers of parseRange's answer for a file of `size` bytes and MIME type `type`.
export function rangeHeaders({ status, start, end }, size, type) {
  const headers = { 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
  if (status === 416) return { ...headers, 'Content-Range': `bytes */${size}` };
  headers['Content-Type'] = type || 'application/octet-stream';
  headers['Content-Length'] = String(end - start);
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
  return headers;
}
