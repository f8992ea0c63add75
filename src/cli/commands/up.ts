/**
 * `etaops up`: embedded mode, what `make demo` runs. Trains (or reuses), registers, promotes,
 * serves, checks drift and prints how to try it; serves until Ctrl-C.
 */
import type { Command } from '../command.js';
import { intFlag, parseFlags, type OptionSpec } from '../args.js';
import { UserError } from '../errors.js';
import { summaryLines, up } from '../../embedded/up.js';
import { serviceFlagOptions, serviceOptionsFrom } from './serve.js';

const usage = `Usage: etaops up [--data URI] [--rows N] [--dir DIR] [--port N] [--host HOST] [--fresh]

Runs the whole lifecycle on this machine, with no cluster and no services:
generate (or read) data, train, register and promote the model in an embedded registry
(PGlite) with file:// artifacts, serve it, run a drift check of shifted data against the
training profile (HTML report), print a summary with a ready-to-run curl, and serve until
Ctrl-C. A second run reuses the Production model it finds in DIR.

Flags:
  --data URI     train on this DoorDash CSV (path, file://, s3://, https://) instead of generated data
  --rows N       orders to generate (default 20000)
  --dir DIR      working folder (default .etaops)
  --port N       listen port (default 9696; 0 = any free port)
  --host HOST    listen address (default 127.0.0.1)
  --fresh        wipe DIR first and train again
  --body-limit, --max-batch, --rate-limit, --rate-burst, --batch-workers: as for 'etaops serve'
`;

const flags = {
  ...serviceFlagOptions,
  data: { type: 'string' },
  rows: { type: 'string' },
  dir: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  fresh: { type: 'boolean' },
} as const satisfies OptionSpec;

const command: Command = {
  name: 'up',
  summary: 'embedded mode: train, register, serve on :9696 and check drift on this machine',
  usage,
  async run(argv) {
    const { values } = parseFlags('up', argv, flags);
    const rows = intFlag('up', values, 'rows', 20_000, 100, 50_000_000);
    const port = intFlag('up', values, 'port', 9696, 0, 65535);
    const service = serviceOptionsFrom('up', values);
    let result;
    try {
      result = await up({
        dir: values.dir ?? '.etaops', data: values.data, rows, port, host: values.host ?? '127.0.0.1', fresh: values.fresh === true, service,
      });
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`etaops up: ${(err as Error)?.message ?? String(err)}`, 'ETAOPS_DEBUG=1 shows where; --fresh starts over');
    }
    process.stdout.write(summaryLines(result).join('\n') + '\n');
    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(1);
        stopping = true;
        process.stderr.write(`etaops up: ${signal}: stopping (draining requests, flushing the prediction log)\n`);
        result.stop().then(() => resolve(0), (err: unknown) => {
          process.stderr.write(`etaops up: error while stopping: ${(err as Error)?.message ?? String(err)}\n`);
          resolve(1);
        });
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};

export default command;
