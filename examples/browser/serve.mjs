#!/usr/bin/env node
// A static file server for the example: serves the repository root (the page imports /dist/ and
// /node_modules/wgsl_reflect/) on 127.0.0.1, a secure context where browsers expose WebGPU.
//   npm run build && node examples/browser/serve.mjs [port]   then open the printed URL.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PAGE = '/examples/browser/index.html';
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.wgsl': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
  '.gguf': 'application/octet-stream',
};

/** Starts the server; resolves to { url, close }. Port 0 picks a free one. */
export function serve(port = 8000, host = '127.0.0.1') {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(ROOT, path === sep || path === '/' ? PAGE : path);
    const info = file.startsWith(ROOT) ? await stat(file).catch(() => null) : null;
    if (req.method !== 'GET' || !info?.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': info.size, 'Cache-Control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject).listen(port, host, () => {
      const { port: p } = server.address();
      resolve({ url: `http://${host}:${p}${PAGE}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { url } = await serve(Number(process.argv[2] ?? 8000));
  console.log(`lbrx example: ${url}  (run \`npm run build\` first; Ctrl-C to stop)`);
}
