/**
 * The frames of the official SDK's long connection (`pbbp2.Frame`, protobuf; docs/design/issue-12-event-protocols.md
 * §2.3): a hand-written codec for the few field types it uses (varint, length-delimited), so the emulator needs
 * no protobuf dependency. Fields 1-4 are always written, even when 0: the SDK's decoder requires them.
 */

export interface Frame {
  seqId: number;
  logId: number;
  service: number;
  /** 0: control (ping, pong), 1: data (events and their acks). */
  method: number;
  headers: Record<string, string>;
  payload: Buffer;
}

export function encodeFrame(frame: Frame): Buffer {
  const parts: Buffer[] = [varintField(1, frame.seqId), varintField(2, frame.logId), varintField(3, frame.service), varintField(4, frame.method)];
  for (const [key, value] of Object.entries(frame.headers)) {
    parts.push(bytesField(5, Buffer.concat([bytesField(1, Buffer.from(key)), bytesField(2, Buffer.from(value))])));
  }
  if (frame.payload.length > 0) parts.push(bytesField(8, frame.payload));
  return Buffer.concat(parts);
}

/** Decodes a frame; throws on a malformed one. Unknown fields are skipped. */
export function decodeFrame(data: Buffer): Frame {
  const frame: Frame = { seqId: 0, logId: 0, service: 0, method: 0, headers: {}, payload: Buffer.alloc(0) };
  for (const { field, value } of fields(data)) {
    if (field === 1 && typeof value === 'number') frame.seqId = value;
    else if (field === 2 && typeof value === 'number') frame.logId = value;
    else if (field === 3 && typeof value === 'number') frame.service = value;
    else if (field === 4 && typeof value === 'number') frame.method = value;
    else if (field === 5 && Buffer.isBuffer(value)) {
      let key = '';
      let text = '';
      for (const header of fields(value)) {
        if (header.field === 1 && Buffer.isBuffer(header.value)) key = header.value.toString('utf8');
        if (header.field === 2 && Buffer.isBuffer(header.value)) text = header.value.toString('utf8');
      }
      frame.headers[key] = text;
    } else if (field === 8 && Buffer.isBuffer(value)) frame.payload = value;
  }
  return frame;
}

function* fields(data: Buffer): Generator<{ field: number; value: number | Buffer }> {
  let at = 0;
  while (at < data.length) {
    const [tag, afterTag] = readVarint(data, at);
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    if (wireType === 0) {
      const [value, next] = readVarint(data, afterTag);
      at = next;
      yield { field, value };
    } else if (wireType === 2) {
      const [length, start] = readVarint(data, afterTag);
      if (start + length > data.length) throw new RangeError('a length-delimited field runs past the frame');
      at = start + length;
      yield { field, value: data.subarray(start, at) };
    } else if (wireType === 1) at = afterTag + 8;
    else if (wireType === 5) at = afterTag + 4;
    else throw new RangeError(`unsupported wire type ${wireType}`);
  }
}

function readVarint(data: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < data.length && i < at + 10; i++) {
    const byte = data[i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new RangeError('a varint runs past the frame');
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = Math.max(0, Math.floor(value));
  do {
    const low = rest % 128;
    rest = Math.floor(rest / 128);
    bytes.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  return Buffer.from(bytes);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([varint(field * 8), varint(value)]);
}

function bytesField(field: number, value: Buffer): Buffer {
  return Buffer.concat([varint(field * 8 + 2), varint(value.length), value]);
}
