/**
 * The server side of a WebSocket (RFC 6455), as much as the official SDK's long connection needs: the
 * handshake (no extensions, no subprotocol), unmasked binary frames out, masked frames in (binary,
 * continuation, ping, pong, close). The emulator carries no `ws` dependency.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** The largest message taken from a client; a bigger one closes the connection (1009). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class ServerSocket extends EventEmitter<{ message: [Buffer]; close: [] }> {
  #buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #closed = false;

  constructor(readonly socket: Duplex) {
    super();
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('close', () => this.#end());
    // A client that half-closes (FIN without a close frame) is gone: the server side must not keep it as live.
    socket.on('end', () => this.#end());
    socket.on('error', () => this.#end());
  }

  get open(): boolean {
    return !this.#closed;
  }

  send(data: Buffer): void {
    if (this.#closed) return;
    this.socket.write(frameOf(0x2, data));
  }

  close(code = 1000): void {
    if (this.#closed) return;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code);
    this.socket.write(frameOf(0x8, body));
    this.socket.end();
    this.#end();
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    this.emit('close');
  }

  #receive(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const frame = readFrame(this.#buffer);
      if (!frame) return;
      this.#buffer = this.#buffer.subarray(frame.size);
      if (frame.length > MAX_MESSAGE_BYTES) {
        this.close(1009);
        return;
      }
      if (frame.opcode === 0x8) {
        this.close();
        return;
      }
      if (frame.opcode === 0x9) this.socket.write(frameOf(0xa, frame.payload));
      else if (frame.opcode === 0x2 || frame.opcode === 0x1 || frame.opcode === 0x0) {
        this.#fragments.push(frame.payload);
        if (frame.fin) {
          const message = Buffer.concat(this.#fragments);
          this.#fragments = [];
          this.emit('message', message);
        }
      }
    }
  }
}

/** Answers a WebSocket upgrade request; returns the socket, or undefined (answered 400) when it is not one. */
export function acceptUpgrade(req: IncomingMessage, socket: Duplex): ServerSocket | undefined {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || String(req.headers.upgrade).toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return undefined;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  return new ServerSocket(socket);
}

function frameOf(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const head = length < 126 ? Buffer.from([0x80 | opcode, length]) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (length >= 126) {
    head[0] = 0x80 | opcode;
    if (length < 65_536) {
      head[1] = 126;
      head.writeUInt16BE(length, 2);
    } else {
      head[1] = 127;
      head.writeBigUInt64BE(BigInt(length), 2);
    }
  }
  return Buffer.concat([head, payload]);
}

/** One complete frame at the start of `data` (unmasked), or undefined when more bytes are needed. */
function readFrame(data: Buffer): { fin: boolean; opcode: number; payload: Buffer; length: number; size: number } | undefined {
  if (data.length < 2) return undefined;
  const fin = (data[0]! & 0x80) !== 0;
  const opcode = data[0]! & 0x0f;
  const masked = (data[1]! & 0x80) !== 0;
  let length = data[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    at = 10;
  }
  if (length > MAX_MESSAGE_BYTES) return { fin, opcode, payload: Buffer.alloc(0), length, size: data.length };
  const mask = masked ? data.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (data.length < at + length) return undefined;
  const payload = Buffer.from(data.subarray(at, at + length));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
  return { fin, opcode, payload, length, size: at + length };
}
