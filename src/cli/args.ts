import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's flags; unknown flags and stray positionals become usage errors. */
export function parseFlags<T extends OptionSpec>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(`etaops ${command}: ${(err as Error).message}`, `see 'etaops ${command} --help'`);
  }
}

/** A flag that must be present. */
export function required(command: string, values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`etaops ${command}: --${name} is required`, `see 'etaops ${command} --help'`);
  return v;
}

/** An integer flag with bounds, e.g. --rows. */
export function intFlag(command: string, values: Record<string, unknown>, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !/^-?\d+$/.test(v) || n < min || n > max) {
    throw new UsageError(`etaops ${command}: --${name} must be a whole number from ${min} to ${max}, got '${String(v)}'`);
  }
  return n;
}
