// globalSetup of the chromium project: an HTTP server on 127.0.0.1 (another origin than the
// page's, so CORS headers are needed, as for weights on a CDN) serving fixtures.ts's files.
// `chunked/<path>` sends the same bytes without Content-Length, in small pieces.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { fixtureFiles } from './fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the fixture server, ending in '/'. */
    fixtureBase: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const files = fixtureFiles();
  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    const chunked = path.startsWith('chunked/');
    const body = files[chunked ? path.slice('chunked/'.length) : path];
    if (req.method !== 'GET' || !body) {
      res.writeHead(req.method === 'GET' ? 404 : 405, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    if (!chunked) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.byteLength }).end(body);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    for (let at = 0; at < body.byteLength; at += 37) res.write(body.subarray(at, at + 37));
    res.end();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  project.provide('fixtureBase', `http://127.0.0.1:${port}/`);
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
