import * as http from 'node:http';
import * as net from 'node:net';

/**
 * A minimal HTTP proxy on 127.0.0.1 for tests: forwards absolute-form requests and opens CONNECT tunnels, and
 * records what passed through it.
 */
export class ProxyServer {
  /** Absolute URLs of forwarded requests and `CONNECT host:port` lines of tunnels, in order. */
  readonly seen: string[] = [];
  private port = 0;

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<ProxyServer> {
    const server = http.createServer();
    const proxy = new ProxyServer(server);
    server.on('request', (req, res) => {
      proxy.seen.push(req.url ?? '');
      const target = new URL(req.url ?? '');
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      proxy.seen.push(`CONNECT ${req.url ?? ''}`);
      const [host, port] = (req.url ?? '').split(':');
      const upstream = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy.port = (server.address() as net.AddressInfo).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether any request or tunnel for `path` on the mirror at `origin` went through the proxy. */
  passed(origin: string, path: string): boolean {
    const host = new URL(origin).host;
    return this.seen.some((s) => s === `${origin}${path}` || s === `CONNECT ${host}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
