import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

/** What the mirror does for one file instead of serving it normally. */
export type MirrorFault =
  | { readonly kind: 'serverError'; readonly status?: number }
  | { readonly kind: 'interrupt'; readonly afterBytes: number }
  | { readonly kind: 'slow'; readonly chunkBytes: number; readonly delayMs: number };

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
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const dir = m ? this.models.get(`${m[1]}/${m[2]}`) : undefined;
    if (!m || !dir) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Repository not found');
    const file = decodeURIComponent(m[4]!);
    const full = path.resolve(dir, file);
    if (!full.startsWith(path.resolve(dir) + path.sep) || !fs.existsSync(full) || !fs.statSync(full).isFile()) {
      return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
    }
    const whole = fs.readFileSync(full);
    const fault = this.faults.get(`${m[1]}/${m[2]}/${file}`);
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
      });
    } else res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length), etag });
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
