/**
 * The informer against a real kube-apiserver: its cache follows the server through a broken
 * watch (connections torn down) and through 410 Gone (a resourceVersion the server no longer
 * has), relisting so that objects created and deleted meanwhile are seen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Informer } from '../../src/controller/runtime/informer.js';
import type { GVR, KubeClient, KubeObject } from '../../src/controller/runtime/kube.js';
import { deleteNamespace, ensureNamespace, uniqueNamespace, SKIP, testClient, waitFor } from './controller-helpers.js';

const NS = uniqueNamespace('etaops-informer-test');
const CM: GVR = { group: '', version: 'v1', plural: 'configmaps' };
const cm = (name: string, v = '1') => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { test: 'informer' } }, data: { v } });

describe('informer on a real API server', { skip: SKIP }, () => {
  let c: KubeClient;
  let watcher: KubeClient;
  let inf: Informer<KubeObject & { data?: Record<string, string> }>;
  const abort = new AbortController();
  let running: Promise<void>;
  const events: string[] = [];

  before(async () => {
    c = testClient();
    await ensureNamespace(c, NS);
    await c.create(CM, NS, cm('before'));
    watcher = testClient();
    inf = new Informer(watcher, CM, { namespace: NS, labelSelector: 'test=informer' });
    inf.on((t, o) => events.push(`${t}:${o.metadata.name}`));
    running = inf.run(abort.signal);
    await inf.waitForSync();
  });
  after(async () => {
    abort.abort();
    await running;
    watcher.close();
    await deleteNamespace(c, NS);
    c.close();
  });

  const seen = (name: string, v?: string) => waitFor(`${name} in the cache`, async () => {
    const o = inf.get(NS, name);
    return o && (v === undefined || o.data?.v === v) ? o : undefined;
  });
  const gone = (name: string) => waitFor(`${name} gone from the cache`, async () => (inf.get(NS, name) ? undefined : true));

  test('initial list fills the cache; watch events update it', async () => {
    assert.ok(inf.get(NS, 'before'));
    assert.ok(events.includes('add:before'));
    await c.create(CM, NS, cm('live'));
    await seen('live');
    await c.mergePatch(CM, NS, 'live', { data: { v: '2' } });
    await seen('live', '2');
    await c.delete(CM, NS, 'live');
    await gone('live');
    assert.ok(events.includes('delete:live'));
  });

  test('a broken watch (connections destroyed) is resumed without losing events', async () => {
    const watches = inf.stats.watches;
    watcher.close(); // tears down the watch socket mid-stream
    await c.create(CM, NS, cm('after-break'));
    await seen('after-break');
    assert.ok(inf.stats.watches > watches, 'a new watch was started');
  });

  // The server answers an old resourceVersion with 410 Gone once etcd has compacted it (then we
  // relist), or, before compaction, by replaying from it. Either way the cache must converge.
  test('resuming from a very old resourceVersion (410 Gone → relist, or replay) converges on adds and deletes', async () => {
    const gones = inf.stats.gone;
    const lists = inf.stats.lists;
    const watches = inf.stats.watches;
    // Break the watch, and pretend we were away for long: resume from a version the server has
    // long dropped. Changes made meanwhile can only be learnt by relisting.
    watcher.close();
    (inf as unknown as { lastRV: string }).lastRV = '1';
    await c.delete(CM, NS, 'before');
    await c.create(CM, NS, cm('while-away'));
    await seen('while-away');
    await gone('before');
    assert.ok(inf.stats.watches > watches, 'rewatched');
    if (inf.stats.gone > gones) assert.ok(inf.stats.lists > lists, '410 Gone led to a relist');
    assert.deepEqual(inf.list(NS).map((o) => o.metadata.name).sort(), ['after-break', 'while-away']);
  });
});
