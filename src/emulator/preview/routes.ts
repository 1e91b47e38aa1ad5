/**
 * The live preview page: `GET /` (and `/_emulator/preview…`) serve a page that lists the cards and
 * messages and renders each card the way the Feishu client does, updating live.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Controller } from '../controller.js';

/** True when `path` is the preview's; the request has then been answered. */
export function handlePreview(_controller: Controller, _req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path !== '/' && path !== '/_emulator/preview' && !path.startsWith('/_emulator/preview/')) return false;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end('<!doctype html><title>Feishu emulator</title><p>The live preview is being built.</p>');
  return true;
}
