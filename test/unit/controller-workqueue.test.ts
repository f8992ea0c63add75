import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue, backoffDelay } from '../../src/controller/runtime/workqueue.js';

test('an item added many times while waiting is handed out once', async () => {
  const q = new WorkQueue<string>();
  q.add('a'); q.add('b'); q.add('a'); q.add('a');
  assert.equal(q.length, 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.length, 0);
});

test('an item re-added while in flight is not given to a second worker, but processed once more after done()', async () => {
  const q = new WorkQueue<string>();
  q.add('a');
  const first = await q.get();
  assert.equal(first, 'a');
  q.add('a'); q.add('a');
  assert.equal(q.length, 0, 'not queued while in flight');
  let second: string | undefined;
  const waiting = q.get().then((k) => { second = k; });
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined, 'a second worker must not get it concurrently');
  q.done('a');
  await waiting;
  assert.equal(second, 'a', 'processed once more afterwards');
  q.done('a');
  assert.equal(q.length, 0, 'and only once');
});

test('a waiting worker gets an item added later', async () => {
  const q = new WorkQueue<number>();
  const p = q.get();
  q.add(7);
  assert.equal(await p, 7);
});

test('backoff grows exponentially per item and is capped', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 5, 1000)), [5, 10, 20, 40, 80]);
  assert.equal(backoffDelay(30, 5, 1000), 1000);
  assert.equal(backoffDelay(10_000, 5, 1000), 1000, 'no overflow for huge counts');
  const q = new WorkQueue<string>({ baseDelayMs: 10, maxDelayMs: 50 });
  const delays = [1, 2, 3, 4, 5].map(() => q.nextBackoff('x'));
  assert.deepEqual(delays, [10, 20, 40, 50, 50]);
  assert.equal(q.nextBackoff('y'), 10, 'per item');
  assert.equal(q.numRequeues('x'), 5);
  q.forget('x');
  assert.equal(q.numRequeues('x'), 0);
  assert.equal(q.nextBackoff('x'), 10, 'forget resets the backoff');
  q.shutdown();
});

test('addAfter delivers later, keeps the earliest time and dedups with add', async () => {
  const q = new WorkQueue<string>();
  q.addAfter('a', 60_000);
  q.addAfter('a', 20);
  q.addAfter('a', 30_000);
  assert.equal(q.length, 0);
  assert.equal(q.delayed, 1);
  assert.equal(await q.get(), 'a', 'the 20 ms add wins over the later ones');
  q.done('a');
  q.shutdown();
  assert.equal(q.delayed, 0, 'shutdown clears timers (no dangling process handles)');
});

test('addRateLimited requeues after the backoff', async () => {
  const q = new WorkQueue<string>({ baseDelayMs: 1, maxDelayMs: 10 });
  assert.equal(q.addRateLimited('k'), 1);
  assert.equal(await q.get(), 'k');
  q.done('k');
  q.shutdown();
});

test('shutdown releases waiting workers and drain waits for items in flight', async () => {
  const q = new WorkQueue<string>();
  q.add('busy');
  const item = await q.get();
  const idle = q.get();
  q.add('pending-but-in-flight'); // handed to the idle worker at once
  assert.equal(await idle, 'pending-but-in-flight');
  const idle2 = q.get();
  q.shutdown();
  assert.equal(await idle2, undefined, 'a waiting worker is released');
  assert.equal(await q.get(), undefined);
  q.add('late');
  assert.equal(q.length, 0, 'no adds after shutdown');
  let drained = false;
  const d = q.drain().then(() => { drained = true; });
  q.done('pending-but-in-flight');
  await new Promise((r) => setImmediate(r));
  assert.equal(drained, false, 'still processing busy');
  q.done(item!);
  await d;
  assert.equal(drained, true);
});
