// Share links: `${origin}/s/<shareId>`. The fragment (#...) stays free for a later encryption key.
import { SHARE_PATH_PREFIX } from './config.js';

export function shareUrl(shareId) {
  return `${location.origin}${SHARE_PATH_PREFIX}${shareId}`;
}

// The share id a page path points at (not yet validated), or null when the path is no share link.
export function shareIdFromPath(pathname) {
  if (!pathname.startsWith(SHARE_PATH_PREFIX)) return null;
  return pathname.slice(SHARE_PATH_PREFIX.length).replace(/\/$/, '');
}
