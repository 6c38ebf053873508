import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

/** What the mirror does for one file instead of serving it normally. */
export type MirrorFault =
  | { readonly kind: 'serverError'; readonly status?: number }
  | { readonly kind: 'interrupt'; readonly afterBytes: number }
  | { readonly kind: 'slow'; readonly chunkBytes: number; readonly delayMs: number }
  /** Serves the file with one byte changed, while announcing the SHA-256 and size of the real one. */
  | { readonly kind: 'corrupt' }
  /** Announces a smaller size than the file has (X-Linked-Size) and sends the whole file. */
  | { readonly kind: 'oversize' };

/**
 * A local HTTP server on 127.0.0.1 that imitates the Hugging Face Hub's file URLs
 * (`/{owner}/{name}/resolve/{revision}/{file}`) for model folders on disk, with injectable faults.
 */
export class HubMirror {
  /** Every request path served, in order. */
  readonly requests: string[] = [];
  /** Faults by `owner/name/file` (e.g. `test/tiny-bert/onnx/model.onnx`). */
  readonly faults = new Map<string, MirrorFault>();
  /** Range requests answered with 206, in order: request path and first byte. */
  readonly ranges: { readonly path: string; readonly start: number }[] = [];
  /** When false, Range headers are ignored (the whole file is sent with 200), like a server without range support. */
  rangeSupport = true;
  /**
   * When true, files under `onnx/` (LFS files on the Hub) answer with a 302 to `/cdn/…` that carries
   * `X-Linked-Etag` (their SHA-256) and `X-Linked-Size`, as the Hub does; the CDN URL serves the bytes. When false,
   * the same two headers come on the file's own response.
   */
  lfsRedirects = false;

  private port = 0;

  private constructor(
    private readonly server: http.Server,
    private readonly models: ReadonlyMap<string, string>,
  ) {}

  /** Starts a mirror serving `models` (Hub id → folder). */
  static async start(models: Record<string, string>): Promise<HubMirror> {
    const server = http.createServer();
    const mirror = new HubMirror(server, new Map(Object.entries(models)));
    server.on('request', (req, res) => mirror.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    mirror.port = (server.address() as AddressInfo).port;
    return mirror;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://mirror');
    this.requests.push(url.pathname);
    const cdn = url.pathname.startsWith('/cdn/');
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(cdn ? url.pathname.slice('/cdn'.length) : url.pathname);
    const dir = m ? this.models.get(`${m[1]}/${m[2]}`) : undefined;
    if (!m || !dir) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Repository not found');
    const file = decodeURIComponent(m[4]!);
    const full = path.resolve(dir, file);
    if (!full.startsWith(path.resolve(dir) + path.sep) || !fs.existsSync(full) || !fs.statSync(full).isFile()) {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
    }
    const real = fs.readFileSync(full);
    const fault = this.faults.get(`${m[1]}/${m[2]}/${file}`);
    const lfs = file.startsWith('onnx/');
    const linked: Record<string, string> = lfs
      ? { 'x-linked-etag': `"${createHash('sha256').update(real).digest('hex')}"`, 'x-linked-size': String(fault?.kind === 'oversize' ? real.length - 1 : real.length) }
      : {};
    if (lfs && this.lfsRedirects && !cdn) {
      return void res.writeHead(302, { location: `/cdn${url.pathname}`, ...linked }).end();
    }
    const whole = fault?.kind === 'corrupt' ? Buffer.from(real).fill(real[real.length >> 1]! ^ 0xff, real.length >> 1, (real.length >> 1) + 1) : real;
    const announce = this.lfsRedirects ? {} : linked;
    if (fault?.kind === 'serverError') {
      return void res.writeHead(fault.status ?? 500, { 'content-type': 'text/plain' }).end('Internal Error');
    }
    // Strong ETag from size and modification time; Range `bytes=N-` honoured (If-Range must match it), as the Hub does.
    const stat = fs.statSync(full);
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    let body = whole;
    if (range && this.rangeSupport && (ifRange === undefined || ifRange === etag)) {
      const start = Number(range[1]);
      if (start >= whole.length) {
        return void res.writeHead(416, { 'content-range': `bytes */${whole.length}` }).end();
      }
      this.ranges.push({ path: url.pathname, start });
      body = whole.subarray(start);
      res.writeHead(206, {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length),
        'content-range': `bytes ${start}-${whole.length - 1}/${whole.length}`,
        etag,
        ...announce,
      });
    } else res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length), etag, ...announce });
    if (fault?.kind === 'interrupt') {
      res.write(body.subarray(0, fault.afterBytes), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (fault?.kind === 'slow') {
      let offset = 0;
      const next = (): void => {
        if (res.destroyed) return;
        if (offset >= body.length) return void res.end();
        res.write(body.subarray(offset, offset + fault.chunkBytes));
        offset += fault.chunkBytes;
        setTimeout(next, fault.delayMs);
      };
      next();
      return;
    }
    res.end(body);
  }
}
