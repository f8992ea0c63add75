/**
 * Running the server as a process: open the model source (and the registry behind it), start,
 * and stop on SIGTERM / SIGINT with a graceful drain; SIGHUP reloads the model.
 * Shared by `etaops serve` and `etaops up`.
 */
import path from 'node:path';
import { PredictionLogWriter, Registry } from '../registry/index.js';
import { modelDirSource, modelUriSource, parsePinnedVersion, registrySource, type ModelSource } from './model-source.js';
import { startServer, type RunningServer, type StartServerOptions } from './server.js';
import type { FeedbackStore, PredictionLogSink } from './service.js';
import type { ModelIdentity } from './serving-model.js';

export class ServeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeSetupError';
  }
}

export interface ServeTargetOptions {
  modelDir?: string;
  modelUri?: string;
  /** NAME@production */
  model?: string;
  /** postgres://... (secret: never printed) */
  registryUrl?: string;
  registryDir?: string;
  /** Log predictions to the registry database when there is one (default true). */
  logPredictions?: boolean;
  /** An already open registry (embedded mode shares its PGlite); not closed by close(). */
  registry?: Registry;
  /** For --model-uri: the registry version it is, `model@N` (default $ETAOPS_MODEL_VERSION, set by the controller). */
  modelVersion?: string;
}

export interface ServeTarget {
  source: ModelSource;
  serviceParts: { predictionLog?: PredictionLogSink; feedbackStore?: FeedbackStore };
  registry: Registry | undefined;
  close(): Promise<void>;
}

/** Parses `NAME@production` (the stage is case-insensitive). */
export function parseModelRef(ref: string): string {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)@production$/i.exec(ref);
  if (!m) throw new ServeSetupError(`--model must look like NAME@production, got '${ref}'`);
  return m[1];
}

export async function openServeTarget(opts: ServeTargetOptions): Promise<ServeTarget> {
  // Check what needs no I/O first: a typo should not wait for a database.
  const modelName = opts.model === undefined ? undefined : parseModelRef(opts.model);
  if (modelName && !opts.registry && !opts.registryDir && !opts.registryUrl) {
    throw new ServeSetupError('--model NAME@production needs a registry: --registry-url, --registry-dir or ETAOPS_DATABASE_URL');
  }
  let registry = opts.registry;
  let ownsRegistry = false;
  if (!registry && (opts.registryDir || opts.registryUrl)) {
    const url = opts.registryDir ? path.resolve(opts.registryDir) : (opts.registryUrl as string);
    try {
      registry = await Registry.open(url);
    } catch (err) {
      // The URL may hold a password: name only the kind of registry.
      const what = opts.registryDir ? `the registry in ${path.resolve(opts.registryDir)}` : 'the registry database (ETAOPS_DATABASE_URL / --registry-url)';
      throw new ServeSetupError(`cannot open ${what}: ${(err as Error).message}`);
    }
    ownsRegistry = true;
  }
  let source: ModelSource;
  if (modelName && registry) {
    source = registrySource(registry, modelName);
  } else if (opts.modelUri) {
    source = modelUriSource(opts.modelUri, parsePinnedVersion(opts.modelVersion ?? process.env.ETAOPS_MODEL_VERSION));
  } else if (opts.modelDir) {
    source = modelDirSource(opts.modelDir);
  } else {
    throw new ServeSetupError('no model given: --model-dir, --model-uri or --model NAME@production');
  }
  let predictionLog: PredictionLogWriter | undefined;
  if (registry && opts.logPredictions !== false) {
    let lastError = '';
    predictionLog = new PredictionLogWriter(registry.db, {
      onError: (err) => {
        const msg = (err as Error)?.message ?? String(err);
        if (msg !== lastError) process.stderr.write(`etaops serve: prediction log write failed (predictions continue; rows are retried, then dropped and counted): ${msg}\n`);
        lastError = msg;
      },
    });
  }
  const reg = registry;
  return {
    source,
    registry,
    serviceParts: { predictionLog, feedbackStore: reg },
    async close() {
      if (predictionLog) await predictionLog.close().catch(() => undefined);
      if (reg && ownsRegistry) await reg.close().catch(() => undefined);
    },
  };
}

export interface RunHooks {
  onListening?(url: string, model: ModelIdentity, server: RunningServer): void;
  /** After the server has drained (close databases here). */
  onStopped?(): Promise<void>;
  log?: (line: string) => void;
}

/** Starts the server and resolves with the exit code once a signal has stopped it. */
export async function runUntilSignalled(opts: StartServerOptions, hooks: RunHooks = {}): Promise<number> {
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const server = await startServer({ ...opts, log });
  hooks.onListening?.(server.url, server.service.identity as ModelIdentity, server);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onHup = () => {
      server.reload().catch((err: unknown) => log(`etaops serve: reload failed, still serving the previous model: ${(err as Error)?.message ?? String(err)}`));
    };
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        log(`etaops serve: ${signal} again, exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      log(`etaops serve: ${signal}: draining in-flight requests and flushing the prediction log`);
      server.close()
        .then(() => hooks.onStopped?.())
        .then(() => {
          process.off('SIGHUP', onHup);
          log('etaops serve: stopped');
          resolve(0);
        }, (err: unknown) => {
          log(`etaops serve: error while stopping: ${(err as Error)?.message ?? String(err)}`);
          resolve(1);
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    process.on('SIGHUP', onHup);
  });
}
