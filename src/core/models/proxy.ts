import { fetch as undiciFetch, ProxyAgent } from 'undici';

/** An HTTP(S) proxy for model downloads, and the hosts that bypass it. */
export interface ProxySettings {
  /** e.g. `http://proxy.example.com:3128` (credentials may be in the URL). */
  readonly url: string;
  /** Host names (or `.domain` suffixes, or `*`) reached directly. */
  readonly noProxy: readonly string[];
}

/** The proxy named by HTTPS_PROXY / HTTP_PROXY (and NO_PROXY), as curl and npm read them. */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv = process.env): ProxySettings | undefined {
  const url = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy;
  if (!url) return undefined;
  return { url, noProxy: splitList(env.NO_PROXY ?? env.no_proxy ?? '') };
}

export function splitList(value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s !== '');
}

/** Whether `host` is reached directly under `noProxy` (exact names, `.suffix` or `suffix` domains, `*`). */
export function bypassesProxy(host: string, noProxy: readonly string[]): boolean {
  const h = host.toLowerCase();
  return noProxy.some((entry) => {
    const e = entry.toLowerCase().replace(/:\d+$/, '');
    if (e === '*') return true;
    const domain = e.startsWith('.') ? e.slice(1) : e;
    return h === domain || h.endsWith(`.${domain}`);
  });
}

/**
 * A fetch that goes through `proxy` (CONNECT tunnels for https), except for hosts in its no-proxy list. Node's
 * built-in fetch ignores proxy settings, so downloads behind a company proxy need this.
 */
export function proxiedFetch(proxy: ProxySettings): typeof fetch {
  const agent = new ProxyAgent(proxy.url);
  return ((input: string | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    if (bypassesProxy(url.hostname, proxy.noProxy)) return fetch(input, init);
    return undiciFetch(url, { ...(init as object), dispatcher: agent });
  }) as unknown as typeof fetch;
}
