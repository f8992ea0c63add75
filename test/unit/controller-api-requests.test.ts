/**
 * The controller counts its Kubernetes API requests by verb, resource and code (the operator
 * benchmark divides them by objects). A plain local HTTP server stands in for the API server
 * here: only the client's accounting is under test, not Kubernetes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { KubeClient, KubeError, resourceOfPath, verbOf } from '../../src/controller/runtime/kube.js';
import { Manager } from '../../src/controller/runtime/manager.js';
import { ControllerMetrics } from '../../src/controller/runtime/metrics.js';

test('resourceOfPath names the plural and subresource, never a namespace or name', () => {
  const cases: Array<[string, string]> = [
    ['/api/v1/namespaces/ns1/pods', 'pods'],
    ['/api/v1/namespaces/ns1/pods/p-1', 'pods'],
    ['/api/v1/namespaces/ns1/pods/p-1/status', 'pods/status'],
    ['/apis/etaops.io/v1alpha1/namespaces/ns1/trainingruns/run-7/status', 'trainingruns/status'],
    ['/apis/batch/v1/jobs', 'jobs'],
    ['/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/etaops-controller', 'leases'],
    ['/api/v1/namespaces', 'namespaces'],
    ['/api/v1/namespaces/ns1', 'namespaces'],
    ['/api/v1/namespaces/ns1/status', 'namespaces/status'],
    ['/apis/apiextensions.k8s.io/v1/customresourcedefinitions/trainingruns.etaops.io', 'customresourcedefinitions'],
    ['/api/v1/namespaces/ns1/pods?watch=true&labelSelector=a%3Db', 'pods'],
    ['/api/v1', 'unknown'],
  ];
  for (const [path, want] of cases) assert.equal(resourceOfPath(path), want, path);
});

test('verbOf tells a LIST (collection) from a GET (one object), as the API server and RBAC do', () => {
  const cases: Array<[string, string, boolean, string]> = [
    ['GET', '/api/v1/namespaces/ns1/pods', false, 'LIST'],
    ['GET', '/api/v1/namespaces/ns1/pods', true, 'WATCH'],
    ['GET', '/api/v1/namespaces/ns1/pods/p-1', false, 'GET'],
    ['GET', '/apis/etaops.io/v1alpha1/namespaces/ns1/trainingruns/run-7/status', false, 'GET'],
    ['GET', '/apis/batch/v1/jobs?labelSelector=a%3Db', false, 'LIST'],
    ['GET', '/api/v1/namespaces', false, 'LIST'],
    ['GET', '/api/v1/namespaces/ns1', false, 'GET'],
    ['GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.etaops.io', false, 'GET'],
    ['PUT', '/apis/coordination.k8s.io/v1/namespaces/n/leases/l', false, 'PUT'],
    ['POST', '/apis/batch/v1/namespaces/ns1/jobs', false, 'POST'],
  ];
  for (const [method, path, watch, want] of cases) assert.equal(verbOf(method, path, watch), want, `${method} ${path}`);
});

describe('KubeClient request accounting', () => {
  let server: http.Server;
  let base: string;
  before(async () => {
    // Answers like an API server would for the few paths used below.
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      req.resume();
      if (url.includes('watch=true')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'p', namespace: 'ns1', resourceVersion: '2' } } })}\n`);
      } else if (url.startsWith('/api/v1/namespaces/ns1/pods/missing')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 404, reason: 'NotFound', message: 'pods "missing" not found' }));
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ metadata: { name: 'x' } }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('each request reports its verb, HTTP code and resource; failures too', async () => {
    const c = new KubeClient({ server: base });
    const seen: Array<[string, number, string]> = [];
    c.onRequest = (verb, code, resource) => seen.push([verb, code, resource]);
    const tr = { group: 'etaops.io', version: 'v1alpha1', plural: 'trainingruns' };
    await c.replaceStatus(tr, 'ns1', 'run-1', { metadata: { name: 'run-1' } });
    await assert.rejects(c.get({ group: '', version: 'v1', plural: 'pods' }, 'ns1', 'missing'), (e: unknown) => e instanceof KubeError && e.code === 404);
    const events: string[] = [];
    await c.watch({ group: '', version: 'v1', plural: 'pods' }, 'ns1', {}, (e) => events.push(e.type));
    c.close();
    // Nothing listens on a closed server's port: no response, code 0.
    const dead = new KubeClient({ server: 'http://127.0.0.1:1' });
    dead.onRequest = (verb, code, resource) => seen.push([verb, code, resource]);
    await assert.rejects(dead.list({ group: 'batch', version: 'v1', plural: 'jobs' }, 'ns1'));
    dead.close();
    assert.deepEqual(events, ['ADDED']);
    assert.deepEqual(seen, [['PUT', 200, 'trainingruns/status'], ['GET', 404, 'pods'], ['WATCH', 200, 'pods'], ['LIST', 0, 'jobs']]);
  });

  test('the manager exports the counts as etaops_controller_api_requests_total', async () => {
    const c = new KubeClient({ server: base });
    const metrics = new ControllerMetrics(false);
    new Manager({ client: c, metrics });
    const jobs = { group: 'batch', version: 'v1', plural: 'jobs' };
    await c.create(jobs, 'ns1', { metadata: { name: 'j' } });
    await c.create(jobs, 'ns1', { metadata: { name: 'k' } });
    await assert.rejects(c.get({ group: '', version: 'v1', plural: 'pods' }, 'ns1', 'missing'));
    c.close();
    const text = await metrics.registry.metrics();
    assert.match(text, /^etaops_controller_api_requests_total\{verb="POST",resource="jobs",code="200"\} 2$/m);
    assert.match(text, /^etaops_controller_api_requests_total\{verb="GET",resource="pods",code="404"\} 1$/m);
  });
});
