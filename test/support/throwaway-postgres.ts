/**
 * A throwaway Postgres cluster of a test's own, for outage tests: the shared test Postgres
 * serves other test files at the same time and is never stopped. Same binaries as the shared
 * one (found through ETAOPS_TEST_PG_CTL, run as the postgres user when we are root), trust auth,
 * a free loopback port, a temp folder: init, start, stop, remove.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

/** The runuser prefix and the binaries folder, read from ETAOPS_TEST_PG_CTL. */
function pgTools(pgCtl: string): { runAs: string[]; bin: string } {
  const words = pgCtl.split(' ');
  const at = words.findIndex((w) => w.endsWith('/pg_ctl'));
  return { runAs: words.slice(0, at), bin: path.dirname(words[at]) };
}


export class ThrowawayPostgres {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'etaops-pg-throwaway-'));
  readonly data = path.join(this.dir, 'data');
  port = 0;
  private readonly tools: { runAs: string[]; bin: string };

  /** pgCtl: the value of ETAOPS_TEST_PG_CTL; password: what url() puts in (trust auth ignores it). */
  constructor(pgCtl: string, private readonly password: string) {
    this.tools = pgTools(pgCtl);
  }

  private run(tool: string, args: string[]): void {
    const [cmd, ...pre] = [...this.tools.runAs, path.join(this.tools.bin, tool)];
    execFileSync(cmd, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  }

  async init(): Promise<void> {
    if (userInfo().uid === 0) {
      const pgUser = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
      const pgGroup = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
      chownSync(this.dir, Number(pgUser), Number(pgGroup));
    }
    this.port = await freePort();
    this.run('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
    const conf = `\nlisten_addresses = '127.0.0.1'\nport = ${this.port}\nunix_socket_directories = '${this.dir}'\nfsync = off\n`;
    appendFileSync(path.join(this.data, 'postgresql.conf'), conf);
    this.start();
  }

  start(): void {
    this.run('pg_ctl', ['-D', this.data, '-w', '-t', '60', '-l', path.join(this.dir, 'postgres.log'), 'start']);
  }

  stop(): void {
    this.run('pg_ctl', ['-D', this.data, '-w', '-t', '60', 'stop', '-m', 'fast']);
  }

  url(db: string, password = this.password): string {
    return `postgres://postgres:${password}@127.0.0.1:${this.port}/${db}`;
  }

  remove(): void {
    try { this.stop(); } catch { /* already stopped */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
