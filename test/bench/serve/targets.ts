/**
 * The servers the serving benchmark compares, each run in its own process so the load tool
 * does not share their event loop:
 *   node targets.js bare            a bare node:http server: reads and JSON-parses the same body,
 *                                   answers a constant (the ceiling for any Node server)
 *   node targets.js etaops DIR [N]  the etaops prediction server on the model directory DIR
 *                                   (N: --batch-workers; default what etaops serve picks)
 * Each prints `listening <url>` on stdout once it accepts requests, and exits on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServer } from '../../../src/server/server.js';
import { modelDirSource } from '../../../src/server/model-source.js';

async function bare(): Promise<() => Promise<void>> {
  const answer = JSON.stringify({ prediction: 1800, model_version: 'constant', request_id: 'constant' });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(answer) });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
  return () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
}

async function etaops(modelDir: string, batchWorkers?: number): Promise<() => Promise<void>> {
  // The load tool is one client IP: the per-IP limit (20,000 req/s sustained by default) would
  // cap the measurement itself and count its own 429s as errors. Everything else is as served.
  const rateLimit = { ratePerSecond: 0, burst: 1 };
  const server = await startServer({ source: modelDirSource(modelDir), port: 0, batchWorkers, rateLimit, log: () => undefined });
  process.stdout.write(`listening ${server.url}\n`);
  return () => server.close();
}

async function main(): Promise<void> {
  const [kind, arg, workers] = process.argv.slice(2);
  const stop = kind === 'bare' ? await bare() : kind === 'etaops' && arg ? await etaops(arg, workers === undefined ? undefined : Number(workers)) : undefined;
  if (!stop) {
    process.stderr.write('usage: targets.js bare | etaops MODEL_DIR [BATCH_WORKERS]\n');
    process.exit(2);
  }
  process.once('SIGTERM', () => { void stop().then(() => process.exit(0)); });
}

void main();
