import { defineConfig } from 'vite';

// In production nginx serves dist/ (index.html for /s/*) and proxies /janus to Janus.
// `npm run dev` does the same: Vite falls back to index.html for /s/<id>, and forwards the
// Janus WebSocket to JANUS_WS_URL (default: Janus's own WebSocket port on this machine).
export default defineConfig({
  server: {
    proxy: {
      '/janus': { target: process.env.JANUS_WS_URL ?? 'ws://127.0.0.1:8188', ws: true },
    },
  },
  build: {
    outDir: 'dist',
    rollupOptions: {
      // The service worker must sit at the root (/sw.js) to control every page of the app.
      input: { main: 'index.html', sw: 'src/sw.js' },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
});
