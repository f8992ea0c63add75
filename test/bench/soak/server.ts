/**
 * The soak bench's server process: the etaops prediction server on MODEL_DIR (as
 * test/bench/serve/targets.js starts it), plus one hook for leak checks: on SIGUSR2 it runs a
 * full garbage collection and prints `heap-after-gc <bytes> rss <bytes>` on stdout. Heap used
 * sampled at random moments mostly measures garbage not yet collected; after a full GC it is
 * what the server really holds.
 *
 *   node server.js MODEL_DIR      prints `listening <url>`, exits on SIGTERM
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startServer } from '../../../src/server/server.js';
import { modelDirSource } from '../../../src/server/model-source.js';

/** `gc()` without --expose-gc on the command line. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function main(): Promise<void> {
  const modelDir = process.argv[2];
  if (!modelDir) {
    process.stderr.write('usage: server.js MODEL_DIR\n');
    process.exit(2);
  }
  const gc = exposeGc();
  const server = await startServer({ source: modelDirSource(modelDir), port: 0, log: () => undefined });
  process.on('SIGUSR2', () => {
    gc();
    // A second pass after a turn of the loop collects what the first one's finalizers freed.
    setImmediate(() => {
      gc();
      const m = process.memoryUsage();
      process.stdout.write(`heap-after-gc ${m.heapUsed} rss ${m.rss}\n`);
    });
  });
  process.once('SIGTERM', () => { void server.close().then(() => process.exit(0)); });
  process.stdout.write(`listening ${server.url}\n`);
}

void main();
