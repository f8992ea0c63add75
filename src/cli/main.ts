#!/usr/bin/env node
/**
 * `etaops` entry point. Commands are loaded lazily so `--help` and small commands start fast
 * and a command's heavy dependencies (onnxruntime, the Kubernetes client) load only when used.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';
import { UserError } from './errors.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

/** The command table. Each entry points at src/cli/commands/<name>.ts. */
export const COMMANDS: Record<string, CommandEntry> = {
  // 'name': { summary: '...', load: async () => (await import('./commands/name.js')).default },
  validate: { summary: 'check a data set and print its defect report', load: async () => (await import('./commands/validate.js')).default },
  'gen-data': { summary: 'generate a calibrated DoorDash-like data set (CSV, optional drift scenario)', load: async () => (await import('./commands/gen-data.js')).default },
  serve: { summary: 'serve predictions over HTTP (/predict, Open Inference Protocol v2, /metrics)', load: async () => (await import('./commands/serve.js')).default },
  up: { summary: 'embedded mode: train, register, serve on :9696 and check drift on this machine', load: async () => (await import('./commands/up.js')).default },
  train: { summary: 'train the delivery-time model into a model directory', load: async () => (await import('./commands/train.js')).default },
  predict: { summary: 'add predicted delivery seconds to a CSV file', load: async () => (await import('./commands/predict.js')).default },
  evaluate: { summary: 'score a model directory on labelled data (overall and by market)', load: async () => (await import('./commands/evaluate.js')).default },
  controller: { summary: 'run the Kubernetes operator (TrainingRun, ModelVersion, DriftCheck)', load: async () => (await import('./commands/controller.js')).default },
  drift: { summary: 'check current data (or logged predictions) for drift against a reference', load: async () => (await import('./commands/drift.js')).default },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(0, ...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    'etaops: delivery-time prediction and its model lifecycle',
    '',
    'Usage: etaops <command> [flags]   (etaops <command> --help for its flags)',
    '',
    'Commands:',
    ...lines,
    '',
    'Environment: ETAOPS_DEBUG=1 prints stack traces of unexpected errors.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`etaops: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage.trimEnd() + '\n');
    return 0;
  }
  return command.run(rest);
}

function report(err: unknown): number {
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`error: ${e?.message ?? String(err)}\n`);
  if (process.env.ETAOPS_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('hint: set ETAOPS_DEBUG=1 for a stack trace and report it as a bug\n');
  return 1;
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

// Run only when executed as the bin (directly or through a symlink), not when imported by tests.
if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => { process.exitCode = report(err); },
  );
}
