/**
 * The prediction server's life: listen, load and warm the model (ready only then), reload on
 * request or when the registry's Production version changes, and stop gracefully (stop
 * accepting, answer what is in flight, flush the prediction log, close the model).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestListener } from './app.js';
import { PredictionService, type ServiceOptions } from './service.js';
import { modelKey, type ModelSource } from './model-source.js';
import type { ModelIdentity } from './serving-model.js';

export interface StartServerOptions extends Partial<ServiceOptions> {
  source: ModelSource;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9696; 0 = any free port. */
  port?: number;
  /** Poll the source for a new model this often (sources with currentKey only); 0 = never. */
  pollIntervalMs?: number;
  /** One line of operational log (default: stderr). */
  log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly service: PredictionService;
  readonly http: Server;
  /** Loads the source's model again and swaps it in without dropping requests. */
  reload(): Promise<ModelIdentity>;
  /** Graceful stop; resolves when in-flight requests are answered and the log is flushed. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const service = new PredictionService({ ...opts, log });
  const http = createServer({ keepAliveTimeout: 65_000 }, createRequestListener(service));
  // A client that stalls mid-request must not hold a connection forever.
  http.requestTimeout = 30_000;
  http.headersTimeout = 20_000;

  let loadedKey: string | undefined;
  let reloading: Promise<ModelIdentity> | undefined;
  const reload = (): Promise<ModelIdentity> => {
    reloading ??= (async () => {
      try {
        let loaded;
        try {
          loaded = await opts.source.load();
        } catch (err) {
          // Name the artifact: the loader's own message names only its temporary download folder.
          throw new Error(`cannot load the model from ${opts.source.description}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
        }
        try {
          const id = await service.installModel(loaded);
          loadedKey = modelKey(id);
          log(`etaops serve: serving ${id.name} version ${id.version} (sha256 ${id.sha256.slice(0, 12)}) from ${id.source}${loaded.predictor.engine ? `; scored by ${loaded.predictor.engine}` : ''}`);
          return id;
        } catch (err) {
          throw new Error(`model from ${opts.source.description} failed its warm-up prediction: ${(err as Error).message}`, { cause: err });
        }
      } finally {
        reloading = undefined;
      }
    })();
    return reloading;
  };
  service.reloadHandler = reload;

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 9696, opts.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  try {
    await reload();
  } catch (err) {
    await new Promise((r) => http.close(r));
    await opts.source.dispose?.();
    throw err;
  }

  const poller = startPolling(opts, () => loadedKey, reload, log);
  let closing: Promise<void> | undefined;
  const close = (timeoutMs = 25_000): Promise<void> => {
    closing ??= (async () => {
      if (poller) clearInterval(poller);
      service.draining = true;
      await stopHttp(http, timeoutMs);
      await service.shutdown();
      await opts.source.dispose?.();
    })();
    return closing;
  };
  return { url, port: address.port, service, http, reload, close };
}

function startPolling(opts: StartServerOptions, loadedKey: () => string | undefined, reload: () => Promise<ModelIdentity>, log: (line: string) => void): NodeJS.Timeout | undefined {
  const interval = opts.pollIntervalMs ?? 0;
  const currentKey = opts.source.currentKey?.bind(opts.source);
  if (!currentKey || interval <= 0) return undefined;
  let busy = false;
  let lastError = '';
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    currentKey()
      .then(async (key) => {
        lastError = '';
        if (key !== loadedKey()) await reload();
      })
      .catch((err: unknown) => {
        // Say it once per distinct failure: a registry outage should not flood the log.
        const msg = (err as Error)?.message ?? String(err);
        if (msg !== lastError) log(`etaops serve: checking for a new model failed (still serving the current one): ${msg}`);
        lastError = msg;
      })
      .finally(() => { busy = false; });
  }, interval);
  timer.unref();
  return timer;
}

/** Stops accepting, lets in-flight requests finish (up to timeoutMs), then closes what is left. */
function stopHttp(http: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => http.closeAllConnections(), timeoutMs);
    force.unref();
    // Keep-alive connections with no request in flight would hold close() open; those whose
    // request finishes during the drain become idle later, hence the repeat.
    const idle = setInterval(() => http.closeIdleConnections(), 50);
    http.close(() => {
      clearTimeout(force);
      clearInterval(idle);
      resolve();
    });
    http.closeIdleConnections();
  });
}
