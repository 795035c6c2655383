import { defineConfig } from 'vite';

// The console is served by mbox-apiserver's console listener (same origin as the API calls). In
// development, `npm run dev` proxies the same paths to a running console listener (MBOX_CONSOLE_URL).
const backend = process.env.MBOX_CONSOLE_URL ?? 'http://127.0.0.1:18490';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 400 },
  server: {
    proxy: Object.fromEntries(['/console', '/api', '/apis', '/version'].map((p) => [p, { target: backend, ws: true, changeOrigin: false }])),
  },
});
