/**
 * `etaops serve`: the prediction server as a foreground process. SIGTERM / SIGINT stop it
 * gracefully (drain, flush the prediction log, exit 0); SIGHUP reloads the model.
 */
import type { Command } from '../command.js';
import { intFlag, parseFlags, type OptionSpec } from '../args.js';
import { UsageError, UserError } from '../errors.js';
import { ServeSetupError, openServeTarget, runUntilSignalled } from '../../server/run.js';
import { DEFAULT_SERVICE_OPTIONS, defaultBatchWorkers, type ServiceOptions } from '../../server/service.js';

/** Flags of the HTTP service itself, shared with `etaops up`. */
export const serviceFlagOptions = {
  'body-limit': { type: 'string' },
  'max-batch': { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'batch-workers': { type: 'string' },
} as const satisfies OptionSpec;

const serveFlagOptions = {
  ...serviceFlagOptions,
  'model-dir': { type: 'string' },
  'model-uri': { type: 'string' },
  model: { type: 'string' },
  'registry-url': { type: 'string' },
  'registry-dir': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'poll-interval': { type: 'string' },
  'no-log': { type: 'boolean' },
} as const satisfies OptionSpec;

/** Service options from --body-limit, --max-batch, --rate-limit, --rate-burst, --batch-workers. */
export function serviceOptionsFrom(command: string, values: Record<string, unknown>): Partial<ServiceOptions> {
  const bodyLimitBytes = intFlag(command, values, 'body-limit', DEFAULT_SERVICE_OPTIONS.bodyLimitBytes, 1024, 512 * 1024 * 1024);
  const maxBatchRows = intFlag(command, values, 'max-batch', DEFAULT_SERVICE_OPTIONS.maxBatchRows, 1, 1_000_000);
  const ratePerSecond = intFlag(command, values, 'rate-limit', DEFAULT_SERVICE_OPTIONS.rateLimit.ratePerSecond, 0, 10_000_000);
  const burst = intFlag(command, values, 'rate-burst', Math.max(1, ratePerSecond * 2), 1, 100_000_000);
  const batchWorkers = intFlag(command, values, 'batch-workers', defaultBatchWorkers(), 0, 64);
  return { bodyLimitBytes, maxBatchRows, rateLimit: { ratePerSecond, burst }, batchWorkers, adminToken: process.env.ETAOPS_ADMIN_TOKEN || undefined };
}

const usage = `Usage: etaops serve (--model-dir DIR | --model-uri URI | --model NAME@production) [flags]

Serves predictions over HTTP: POST /predict (the seed's contract), the Open Inference
Protocol v2 under /v2, POST /feedback, GET /metrics, POST /admin/reload.

Model (exactly one):
  --model-dir DIR          a local model directory (model.onnx + model.json)
  --model-uri URI          a model directory at s3://bucket/prefix or file:///path (sha256-checked)
  --model NAME@production  the registry's Production version; polled, new versions are swapped in

Registry (for --model, and to log predictions and store feedback):
  --registry-url URL       postgres://... (default: $ETAOPS_DATABASE_URL; never printed)
  --registry-dir DIR       an embedded registry (PGlite) in DIR

Flags:
  --host HOST              listen address (default 127.0.0.1; 0.0.0.0 in a container)
  --port N                 listen port (default 9696; 0 = any free port)
  --poll-interval S        seconds between registry checks for a new Production version (default 30; 0 = off)
  --body-limit BYTES       largest request body (default 1048576)
  --max-batch N            most orders in one request (default 10000)
  --rate-limit N           requests per second per client IP (default 20000; 0 = off)
  --rate-burst N           burst per client IP (default 2 x rate)
  --batch-workers N        threads that score requests of 32 KiB and more off the event loop
                           (default: one per core, at most 4; 0 = none)
  --no-log                 do not log predictions to the registry database

Environment: ETAOPS_DATABASE_URL, ETAOPS_ADMIN_TOKEN (guards /admin/*; without it only loopback
clients may reload), AWS_* / ETAOPS_S3_ENDPOINT for s3:// artifacts, ETAOPS_MODEL_VERSION=NAME@N
(the registry version a --model-uri artifact is, reported in /metrics instead of 'local').
`;

const command: Command = {
  name: 'serve',
  summary: 'serve predictions over HTTP (/predict, Open Inference Protocol v2, /metrics)',
  usage,
  async run(argv) {
    const { values } = parseFlags('serve', argv, serveFlagOptions);
    const chosen = (['model-dir', 'model-uri', 'model'] as const).filter((k) => values[k] !== undefined);
    if (chosen.length !== 1) {
      throw new UsageError(`etaops serve: give exactly one of --model-dir, --model-uri, --model NAME@production${chosen.length ? ` (got ${chosen.map((c) => `--${c}`).join(' and ')})` : ''}`, "see 'etaops serve --help'");
    }
    const port = intFlag('serve', values, 'port', 9696, 0, 65535);
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
    const options = serviceOptionsFrom('serve', values);
    const pollSeconds = intFlag('serve', values, 'poll-interval', 30, 0, 86_400);
    try {
      const target = await openServeTarget({
        modelDir: values['model-dir'] as string | undefined,
        modelUri: values['model-uri'] as string | undefined,
        model: values.model as string | undefined,
        registryUrl: (values['registry-url'] as string | undefined) ?? (process.env.ETAOPS_DATABASE_URL || undefined),
        registryDir: values['registry-dir'] as string | undefined,
        logPredictions: values['no-log'] !== true,
      });
      try {
        return await runUntilSignalled({ ...options, ...target.serviceParts, source: target.source, host, port, pollIntervalMs: pollSeconds * 1000 }, {
          onListening: (url, id) => process.stdout.write(`etaops serve: ${id.name} version ${id.version} ready on ${url}\n`),
          onStopped: () => target.close(),
        });
      } catch (err) {
        await target.close();
        throw err;
      }
    } catch (err) {
      if (err instanceof UserError) throw err;
      // Setup and load failures are the user's to fix (wrong path, no Production version...).
      throw new UserError(`etaops serve: ${(err as Error)?.message ?? String(err)}`, err instanceof ServeSetupError ? "see 'etaops serve --help'" : undefined);
    }
  },
};

export default command;
