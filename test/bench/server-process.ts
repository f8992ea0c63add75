/** Server processes for the load benchmarks (bench-serve, bench-soak): started, waited for, stopped. */
import { spawn, type ChildProcess } from 'node:child_process';

/** Starts a server process and resolves with its URL once its output matches `urlPattern` (default `listening <url>`). */
export async function startServerProcess(name: string, command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; urlPattern?: RegExp } = {}): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
  const urlPattern = opts.urlPattern ?? /listening (http\S+)/;
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 120 s:\n${seen}`)), 120_000);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = urlPattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited (${code}) before listening:\n${seen}`)); });
  });
  return { url, child };
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
export async function stopServerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(force);
}
