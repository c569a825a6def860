import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by core at /admin (packages/core/src/http/routes/admin-static-routes.ts): assets are
// referenced absolutely under /admin/ so deep links (/admin/plugins/…) load them too.
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8077', ws: true },
      '/internal': 'http://127.0.0.1:8077',
      '/_p': 'http://127.0.0.1:8077',
    },
  },
});
