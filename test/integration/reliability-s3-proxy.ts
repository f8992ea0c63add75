/**
 * A fault-injecting HTTP proxy for S3 tests, on 127.0.0.1 in front of the real S3 server.
 * Requests pass through unchanged (headers included, so SigV4 signatures made for the proxy's
 * host:port still verify upstream) unless a rule matches, in which case the proxy answers an
 * S3-style error, waits, resets the connection, or damages the response body.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Answer this status with an S3 XML error body; the request never reaches the server. */
  | { kind: 'status'; status: number; code: string }
  /** Wait this long before forwarding (a slow server); the answer is intact. */
  | { kind: 'delay'; ms: number }
  /** Forward, then send the headers and the body in small pieces over `ms` (a slow body). */
  | { kind: 'trickle'; ms: number }
  /** Close the client's connection (RST) as soon as the request arrives: no answer at all. */
  | { kind: 'reset-request' }
  /** Forward, send the headers and half of the body, then reset the connection. */
  | { kind: 'reset-mid-body' }
  /** Forward, send the headers (full Content-Length) and half of the body, then close cleanly. */
  | { kind: 'truncate' }
  /** Forward, then claim and send only half of the body: a complete-looking, shorter object. */
  | { kind: 'short-body' }
  /** Forward, flip one byte in the middle of the body (same length). */
  | { kind: 'corrupt' };

export interface FaultRule {
  method?: string;
  /** Tested against the request path with its query (`/bucket/key?partNumber=2&...`). */
  path?: RegExp;
  fault: Fault;
  /** How many matching requests get the fault (default 1; Infinity = until cleared). */
  times?: number;
}

export interface SeenRequest {
  method: string;
  path: string;
  fault: Fault['kind'] | undefined;
}

export class FaultProxy {
  readonly seen: SeenRequest[] = [];
  private rules: (FaultRule & { left: number })[] = [];
  private server: Server | undefined;
  url = '';

  constructor(private readonly upstream: string) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
    this.seen.length = 0;
  }

  /** Requests seen whose method and path match. */
  count(method: string, path: RegExp): number {
    return this.seen.filter((s) => s.method === method && path.test(s.path)).length;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }

  private take(req: IncomingMessage): Fault | undefined {
    const rule = this.rules.find((r) => r.left > 0 && (!r.method || r.method === req.method) && (!r.path || r.path.test(req.url ?? '')));
    if (!rule) return undefined;
    rule.left--;
    return rule.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const fault = this.take(req);
    this.seen.push({ method: req.method ?? '', path: req.url ?? '', fault: fault?.kind });
    if (fault?.kind === 'reset-request') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'status') {
      req.resume();
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>injected by the test proxy</Message><RequestId>fault</RequestId></Error>`;
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    let upstream: { status: number; headers: IncomingMessage['headers']; body: Buffer };
    try {
      upstream = await this.forward(req);
    } catch {
      req.socket.destroy();
      return;
    }
    this.answer(res, upstream, fault);
  }

  /** Sends the request on, buffering the answer (objects in these tests are small). */
  private forward(req: IncomingMessage): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const out = httpRequest(`${this.upstream}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => resolve({ status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(chunks) }));
        up.on('error', reject);
      });
      out.on('error', reject);
      req.pipe(out);
    });
  }

  private answer(res: ServerResponse, up: { status: number; headers: IncomingMessage['headers']; body: Buffer }, fault: Fault | undefined): void {
    const headers = { ...up.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    let body = up.body;
    const damaging = fault && up.status < 300 && body.length > 1;
    if (damaging && fault.kind === 'short-body') {
      body = body.subarray(0, body.length >> 1);
    } else if (damaging && fault.kind === 'corrupt') {
      body = Buffer.from(body);
      body[body.length >> 1] ^= 0xff;
    }
    headers['content-length'] = String(body.length);
    if (headers.etag && damaging && (fault.kind === 'short-body' || fault.kind === 'corrupt')) delete headers.etag;
    res.writeHead(up.status, headers);
    if (damaging && (fault.kind === 'reset-mid-body' || fault.kind === 'truncate')) {
      res.write(body.subarray(0, body.length >> 1), () => {
        // Let the half reach the client before the connection goes.
        setTimeout(() => (fault.kind === 'reset-mid-body' ? res.socket?.resetAndDestroy() : res.socket?.end()), 20);
      });
      return;
    }
    if (fault?.kind === 'trickle' && body.length > 0) {
      const pieces = 10;
      const size = Math.ceil(body.length / pieces);
      let i = 0;
      const timer = setInterval(() => {
        const piece = body.subarray(i * size, (i + 1) * size);
        i++;
        if (i >= pieces || piece.length === 0) {
          clearInterval(timer);
          res.end(piece);
        } else {
          res.write(piece);
        }
      }, fault.ms / pieces);
      return;
    }
    res.end(body);
  }
}
