/**
 * How the emulator serves the preview page over HTTP: which paths, content types, strict security
 * headers, only the listed asset files, no way out of the assets folder, and nothing taken away
 * from the JSON control routes or the open-platform API.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { CONTENT_SECURITY_POLICY, PREVIEW_ASSETS } from '../../src/emulator/preview/routes.js';
import { useEmulator } from '../support/emulator-http.js';

const ASSET_DIR = new URL('../../src/emulator/preview/assets/', import.meta.url);

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with the path sent exactly as given (fetch would normalize `..` and `%2e` away). */
function rawGet(emulator: Emulator, path: string, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: emulator.port, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function expectSecurityHeaders(answer: RawAnswer): void {
  expect(answer.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(answer.headers['x-frame-options']).toBe('DENY');
  expect(answer.headers['referrer-policy']).toBe('no-referrer');
}

describe('preview routes', () => {
  let emulator: Emulator;
  useEmulator((started) => ({ emulator } = started));

  it.each(['/', '/_emulator/preview', '/_emulator/preview/'])('GET %s serves the page with strict security headers', async (path) => {
    const answer = await rawGet(emulator, path);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expectSecurityHeaders(answer);
    expect(answer.body).toMatch(/^<!doctype html>/);
    expect(answer.body).toContain('<script type="module" src="/_emulator/preview/assets/app.js"></script>');
    // Nothing inline for the CSP to have to allow.
    expect(answer.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(answer.body).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
  });

  it('the policy allows only the page itself: no inline script or style, no eval, no framing, no plugins', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
    expect(Object.fromEntries(directives)).toMatchObject({
      'default-src': "'self'",
      'script-src': "'self'",
      'style-src': "'self'",
      'img-src': "'self' data:",
      'connect-src': "'self'",
      'base-uri': "'none'",
      'frame-ancestors': "'none'",
      'object-src': "'none'",
    });
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-|\*|http:|https:/);
  });

  it('serves every listed asset with its content type, and the list matches the folder', async () => {
    const onDisk = readdirSync(ASSET_DIR).filter((name) => name !== 'index.html').sort();
    expect([...PREVIEW_ASSETS.keys()].sort()).toEqual(onDisk);
    for (const [name, type] of PREVIEW_ASSETS) {
      const answer = await rawGet(emulator, `/_emulator/preview/assets/${name}`);
      expect(answer.status, name).toBe(200);
      expect(answer.headers['content-type'], name).toBe(type);
      expectSecurityHeaders(answer);
      expect(answer.body.length, name).toBeGreaterThan(0);
    }
    expect(PREVIEW_ASSETS.get('app.js')).toBe('text/javascript; charset=utf-8');
    expect(PREVIEW_ASSETS.get('preview.css')).toBe('text/css; charset=utf-8');
  });

  it('builds the DOM without HTML parsing: no innerHTML, outerHTML, insertAdjacentHTML, document.write or eval in the page code', () => {
    for (const name of PREVIEW_ASSETS.keys()) {
      if (!name.endsWith('.js')) continue;
      const source = readFileText(name);
      expect(source, name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*['"]on|\.on[a-z]+\s*=/);
    }
  });

  it.each([
    '/_emulator/preview/assets/../routes.ts',
    '/_emulator/preview/assets/..%2Froutes.ts',
    '/_emulator/preview/assets/%2e%2e/routes.ts',
    '/_emulator/preview/assets/%2e%2e%2froutes.ts',
    '/_emulator/preview/assets/../../server.ts',
    '/_emulator/preview/assets/../../../../package.json',
    '/_emulator/preview/assets/..\\routes.ts',
    '/_emulator/preview/assets//etc/passwd',
    '/_emulator/preview/assets/%2Fetc%2Fpasswd',
    '/_emulator/preview/assets/app.js%00.css',
  ])('GET %s reads no file outside the list', async (path) => {
    const answer = await rawGet(emulator, path);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toMatch(/import|export|"name"|root:/);
  });

  it.each([
    '/_emulator/preview/assets/app.js/',
    '/_emulator/preview/assets/APP.JS',
    '/_emulator/preview/assets/index.html',
    '/_emulator/preview/assets/.keep',
    '/_emulator/preview/assets/',
    '/_emulator/preview/assets',
    '/_emulator/preview/app.js',
    '/_emulator/preview/anything',
  ])('GET %s is a 404 from the preview, with its headers', async (path) => {
    const answer = await rawGet(emulator, path);
    expect(answer.status).toBe(404);
    expect(answer.body).toBe('not found\n');
    expectSecurityHeaders(answer);
  });

  it('leaves the JSON control routes, the event stream and the open-platform API alone', async () => {
    const cards = await rawGet(emulator, '/_emulator/cards');
    expect(cards.status).toBe(200);
    expect(JSON.parse(cards.body)).toEqual({ cards: [] });
    const unknown = await rawGet(emulator, '/_emulator/previewx');
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toEqual({ error: 'no such control route' });
    const api = await rawGet(emulator, '/open-apis/cardkit/v1/nothing');
    expect(api.status).toBe(404);
    expect(JSON.parse(api.body)).toMatchObject({ code: 99991201 });
    // Only GET is the page's; anything else on `/` is an unknown open-platform route.
    const post = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: emulator.port, method: 'POST', path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(post).toBe(404);
  });
});

function readFileText(name: string): string {
  return readFileSync(new URL(name, ASSET_DIR), 'utf8');
}
