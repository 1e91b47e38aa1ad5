/**
 * How Feishu protects what it pushes to an app (docs/design/issue-12-event-protocols.md §1.3, §1.4): with an
 * Encrypt Key the body is `{"encrypt": base64(iv ‖ AES-256-CBC(sha256(key), iv, PKCS#7(json)))}`, and each push
 * is signed: `X-Lark-Signature = sha256_hex(timestamp + nonce + encryptKey + body)`.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** `json` encrypted as Feishu does for an app whose Encrypt Key is `key`. */
export function encryptEvent(key: string, json: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', createHash('sha256').update(key).digest(), iv);
  return Buffer.concat([iv, cipher.update(json, 'utf8'), cipher.final()]).toString('base64');
}

/** The inverse of `encryptEvent` (for tests and for bodies the emulator receives encrypted). */
export function decryptEvent(key: string, encrypted: string): string {
  const data = Buffer.from(encrypted, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', createHash('sha256').update(key).digest(), data.subarray(0, 16));
  return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString('utf8');
}

/** The headers that sign one push of `body` (the exact bytes sent). */
export function signatureHeaders(key: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(8).toString('hex');
  const signature = createHash('sha256').update(timestamp + nonce + key + body).digest('hex');
  return { 'X-Lark-Request-Timestamp': timestamp, 'X-Lark-Request-Nonce': nonce, 'X-Lark-Signature': signature };
}
