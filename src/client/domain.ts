/** Where the open platform lives: Feishu (China), Lark (international), or any base URL such as the emulator. */
export type Domain = 'feishu' | 'lark' | (string & {});

const KNOWN: Record<string, string> = {
  feishu: 'https://open.feishu.cn',
  lark: 'https://open.larksuite.com',
};

export function resolveDomain(domain: Domain = 'feishu'): string {
  const known = KNOWN[domain];
  if (known) return known;
  let url: URL;
  try {
    url = new URL(domain);
  } catch {
    throw new TypeError(`options.domain must be 'feishu', 'lark' or an http(s) base URL; received ${JSON.stringify(domain)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`options.domain must be an http(s) URL; received ${JSON.stringify(domain)}`);
  }
  return url.href.replace(/\/+$/, '');
}
