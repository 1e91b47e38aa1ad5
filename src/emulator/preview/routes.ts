/**
 * The live preview page: `GET /` (and `/_emulator/preview`) serve a page that lists the cards and
 * messages and renders each card the way the Feishu client does, updating live through
 * `/_emulator/events`. Its static files are served from `./assets/` next to this module (in `src/`
 * under tsx, in `dist/` after the build copies them), by name from a fixed list only.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Controller } from '../controller.js';

export const PREVIEW_PATH = '/_emulator/preview';
const ASSET_PREFIX = `${PREVIEW_PATH}/assets/`;
const ASSET_DIR = new URL('./assets/', import.meta.url);

const CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
} as const;

/** Every file the page may load, with its content type. Nothing else under `assets/` is served. */
export const PREVIEW_ASSETS: ReadonlyMap<string, string> = new Map([
  ['app.js', CONTENT_TYPES.js],
  ['card-actions.js', CONTENT_TYPES.js],
  ['card-components.js', CONTENT_TYPES.js],
  ['card-containers.js', CONTENT_TYPES.js],
  ['card-paint.js', CONTENT_TYPES.js],
  ['card-parts.js', CONTENT_TYPES.js],
  ['card-text.js', CONTENT_TYPES.js],
  ['card-view.js', CONTENT_TYPES.js],
  ['card.js', CONTENT_TYPES.js],
  ['chat-list.js', CONTENT_TYPES.js],
  ['composer.js', CONTENT_TYPES.js],
  ['conversation.js', CONTENT_TYPES.js],
  ['dom.js', CONTENT_TYPES.js],
  ['emulator-api.js', CONTENT_TYPES.js],
  ['format.js', CONTENT_TYPES.js],
  ['live.js', CONTENT_TYPES.js],
  ['log-view.js', CONTENT_TYPES.js],
  ['markdown.js', CONTENT_TYPES.js],
  ['md-blocks.js', CONTENT_TYPES.js],
  ['md-inline-index.js', CONTENT_TYPES.js],
  ['md-inline-links.js', CONTENT_TYPES.js],
  ['md-inline-tags.js', CONTENT_TYPES.js],
  ['md-inline.js', CONTENT_TYPES.js],
  ['md-table.js', CONTENT_TYPES.js],
  ['safe-values.js', CONTENT_TYPES.js],
  ['sidebar.js', CONTENT_TYPES.js],
  ['stage.js', CONTENT_TYPES.js],
  ['store.js', CONTENT_TYPES.js],
  ['toast.js', CONTENT_TYPES.js],
  ['typewriter.js', CONTENT_TYPES.js],
  ['preview.css', CONTENT_TYPES.css],
  ['favicon.svg', CONTENT_TYPES.svg],
]);

const PAGE_FILE = 'index.html';

/**
 * The page only ever talks to the emulator. Card text is rendered with DOM APIs, never as markup;
 * this policy is the second line of defence should that ever fail.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

/** True when `path` is the preview's; the request has then been answered. */
export function handlePreview(_controller: Controller, _req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path === '/' || path === PREVIEW_PATH || path === `${PREVIEW_PATH}/`) {
    serveFile(res, PAGE_FILE, CONTENT_TYPES.html);
    return true;
  }
  if (!path.startsWith(`${PREVIEW_PATH}/`)) return false;
  const name = path.startsWith(ASSET_PREFIX) ? path.slice(ASSET_PREFIX.length) : '';
  const type = PREVIEW_ASSETS.get(name);
  if (type === undefined) send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  else serveFile(res, name, type);
  return true;
}

function serveFile(res: ServerResponse, name: string, type: string): void {
  readFile(new URL(name, ASSET_DIR)).then(
    (body) => send(res, 200, type, body),
    () => send(res, 500, 'text/plain; charset=utf-8', `preview asset ${name} is missing; was the package built with its assets?\n`),
  );
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
