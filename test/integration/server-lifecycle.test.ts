/**
 * `etaops serve` as a process: ready only once the model is loaded and warmed, SIGHUP reloads,
 * SIGTERM drains (a request in flight when the signal arrives is still answered, new
 * connections are refused) and the process exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_ORDER } from '../../src/server/order-input.js';
import { SAMPLE_MISSING, trainedModelDir } from '../unit/server-fixtures.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const modelDirPromise = trainedModelDir();

async function waitForLine(get: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = pattern.exec(get());
    if (m) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${get()}`);
}

test('etaops serve: SIGHUP reloads; SIGTERM answers the request in flight, refuses new ones, exits 0', { skip: modelDirPromise === undefined ? SAMPLE_MISSING : false, timeout: 60_000 }, async () => {
  const modelDir = await (modelDirPromise as Promise<string>);
  const child = spawn(process.execPath, [cli, 'serve', '--model-dir', modelDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = (await waitForLine(() => out, /ready on (http:\/\/\S+)/, 30_000))[1];
    // "ready on" is printed after the warm-up prediction: readiness is already true.
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);

    child.kill('SIGHUP');
    await waitForLine(() => err, /serving delivery-eta version local[\s\S]*serving delivery-eta version local/, 20_000);

    // A request whose body is still arriving when SIGTERM lands.
    const body = JSON.stringify({ ...EXAMPLE_ORDER, request_id: 'in-flight' });
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 40));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(40)), 300);
      }, 100);
    });
    const answer = await inFlight;
    assert.equal(answer.status, 200, answer.text);
    assert.equal(JSON.parse(answer.text).request_id, 'in-flight');
    await waitForLine(() => err, /draining/, 5000);
    await assert.rejects(fetch(`${url}/v2/health/live`), 'new connections are refused while stopping');
    assert.equal(await exited, 0, err);
    assert.match(err, /stopped/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('etaops serve refuses bad flags and missing models with a message, not a stack', async () => {
  const run = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve) => {
    const c = spawn(process.execPath, [cli, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('exit', (code) => resolve({ code, err }));
  });
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.err, /exactly one of --model-dir, --model-uri, --model/);
  const two = await run(['--model-dir', '/x', '--model-uri', 'file:///y']);
  assert.equal(two.code, 2);
  const missing = await run(['--model-dir', '/nonexistent/model', '--port', '0']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /model\.(onnx|json) not found/);
  assert.doesNotMatch(missing.err, /\n\s+at /, 'no stack trace');
  const ref = await run(['--model', 'eta', '--registry-dir', '/tmp/none-such-registry-x']);
  assert.equal(ref.code, 1);
  assert.match(ref.err, /NAME@production/);
  const noRegistry = await run(['--model', 'eta@production']);
  assert.equal(noRegistry.code, 1);
  assert.match(noRegistry.err, /needs a registry/);
  const port = await run(['--model-dir', '/x', '--port', '70000']);
  assert.equal(port.code, 2);
  assert.match(port.err, /--port/);
});
