/** Where the open platform lives: Feishu (China), Lark (international), or any base URL such as the emulator. */
export type Domain = 'feishu' | 'lark' | (string & {});

const KNOWN: Record<string, string> = {
  feishu: 'https://open.feishu.cn',
  lark: 'https://open.larksuite.com',
};

/**
 * The base URL API paths are appended to. Refused: credentials (`user:password@`, which fetch would
 * reject on every call), and a query or fragment (the API path would land inside it).
 */
export function resolveDomain(domain: Domain = 'feishu'): string {
  const known = KNOWN[domain];
  if (known) return known;
  let url: URL;
  try {
    url = new URL(domain);
  } catch {
    throw new TypeError(`options.domain must be 'feishu', 'lark' or an http(s) base URL; received ${show(domain)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`options.domain must be an http(s) URL; received ${show(domain)}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(
      `options.domain must not carry credentials (user:password@); received ${show(domain)}. A proxy that needs them belongs in options.fetch`,
    );
  }
  if (url.href.includes('?') || url.href.includes('#')) {
    throw new TypeError(`options.domain must be a base URL without a query or fragment; received ${show(domain)}`);
  }
  return url.href.replace(/\/+$/, '');
}

/** The domain as given, with everything from the scheme to the last `@` hidden: it may hold a password. */
function show(domain: unknown): string {
  if (typeof domain !== 'string') return String(domain);
  return JSON.stringify(domain.replace(/^([a-z][a-z\d+.-]*:[/\\]*)?.*@/is, '$1[redacted]@'));
}
