// The Chromium the browser suite drives: Debian's package (LBRX_CHROMIUM names another binary),
// never one Playwright downloads, and its flags (examples/browser/screenshot.mjs uses the same).
export const CHROMIUM = process.env.LBRX_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
