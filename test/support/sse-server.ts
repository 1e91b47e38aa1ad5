/**
 * The HTTP skeleton of the fake model servers (openai-server.ts, anthropic-server.ts): a server on a
 * free loopback port, each request's JSON body read, an answer streamed piece by piece as the client
 * reads it, and a close that also cuts the connections still open.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SseServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Stops listening and cuts open connections; calling it again returns the same promise. */
  close(): Promise<void>;
}

/** A request as the fake servers route it. */
export interface JsonRequest {
  method: string;
  path: string;
  /** The parsed JSON body; undefined when the body is not JSON. */
  body: Record<string, unknown> | undefined;
}

/**
 * Starts a server that answers every request with `handle`. When `handle` throws, `fail` answers with
 * the error's text (a 500 in the API's error shape), or the connection is cut if the answer had begun.
 */
export async function startSseServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  fail: (res: ServerResponse, message: string) => void,
): Promise<SseServer> {
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) fail(res, String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export async function readJsonRequest(req: IncomingMessage): Promise<JsonRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { method: req.method ?? '', path, body };
}

/** Begins a `200 text/event-stream` answer. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
}

/** Writes one piece and yields to the event loop, so the client reads pieces as they come. */
export async function send(res: ServerResponse, piece: string | Uint8Array): Promise<void> {
  res.write(piece);
  await new Promise((resolve) => setImmediate(resolve));
}
