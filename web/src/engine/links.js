// Share links: `${origin}/s/<shareId>#<link secret>`. The fragment carries the keys
// (docs/protocol.md part 3) and never reaches a server.
import { SHARE_PATH_PREFIX } from './config.js';

export function shareUrl(shareId, linkSecret) {
  return `${location.origin}${SHARE_PATH_PREFIX}${shareId}#${linkSecret}`;
}

// The share id a page path points at (not yet validated), or null when the path is no share link.
export function shareIdFromPath(pathname) {
  if (!pathname.startsWith(SHARE_PATH_PREFIX)) return null;
  return pathname.slice(SHARE_PATH_PREFIX.length).replace(/\/$/, '');
}

// The link secret of a page's fragment ('' when there is none).
export function linkSecretFromHash(hash) {
  return hash.replace(/^#/, '');
}
