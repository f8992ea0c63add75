/**
 * The manager: shared informers, controllers, leader election and the health/metrics endpoint.
 * start(): serve /healthz /readyz /metrics → start informers (standbys keep warm caches for a
 * fast hand-over) → when leading (or without leader election) wait for the caches to sync and
 * run the controllers' workers. stop() (SIGTERM): stop taking work, let passes in flight
 * finish, release the Lease, close the server.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller } from './controller.js';
import { Informer, type InformerOptions } from './informer.js';
import { KubeClient, type GVR, type KubeObject } from './kube.js';
import { LeaderElector } from './leader.js';
import { ControllerMetrics } from './metrics.js';

export interface ManagerOptions {
  client: KubeClient;
  /** Watch only this namespace (default: all namespaces). */
  namespace?: string;
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationSeconds?: number; renewDeadlineMs?: number; retryPeriodMs?: number };
  /** Port of /healthz /readyz /metrics on 127.0.0.1 (0 = any free port; undefined = no server). */
  port?: number;
  host?: string;
  metrics?: ControllerMetrics;
  log?: (msg: string) => void;
}

export type StopReason = 'signal' | 'lost-leadership';

export class Manager {
  readonly metrics: ControllerMetrics;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller[] = [];
  private readonly abort = new AbortController();
  private server: http.Server | undefined;
  private elector: LeaderElector | undefined;
  private running: Promise<unknown>[] = [];
  private stopReason: StopReason = 'signal';
  private controllersStarted = false;

  constructor(private readonly o: ManagerOptions) {
    this.metrics = o.metrics ?? new ControllerMetrics();
    // Every informer, watch and the elector listen on the one shutdown signal.
    setMaxListeners(0, this.abort.signal);
    o.client.onRequest = (verb, code, resource) => this.metrics.apiRequests.inc({ verb, resource, code: String(code) });
  }

  get client(): KubeClient {
    return this.o.client;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The shared informer of a resource (one list+watch however many controllers use it). */
  informer<T extends KubeObject>(r: GVR, opts: Omit<InformerOptions, 'namespace' | 'log'> = {}): Informer<T> {
    const key = `${r.group}/${r.version}/${r.plural}?${opts.labelSelector ?? ''}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(this.o.client, r, { ...opts, namespace: this.o.namespace, log: this.o.log });
      this.informers.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }

  add(c: Controller): void {
    this.controllers.push(c);
  }

  get synced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced);
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  /** Address of the health/metrics server once started. */
  address(): AddressInfo | undefined {
    return this.server?.address() as AddressInfo | undefined;
  }

  private async serve(): Promise<void> {
    if (this.o.port === undefined) return;
    this.server = http.createServer((req, res) => {
      const send = (code: number, body: string, type = 'text/plain') => {
        res.writeHead(code, { 'Content-Type': type });
        res.end(body);
      };
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') return send(200, 'ok\n');
      if (path === '/readyz') return this.synced ? send(200, 'ok\n') : send(503, 'informers not synced\n');
      if (path === '/metrics') {
        for (const c of this.controllers) {
          this.metrics.queueDepth.set({ kind: c.kind }, c.queue.length);
          this.metrics.queueInFlight.set({ kind: c.kind }, c.queue.inFlight);
        }
        this.metrics.leader.set(this.isLeader ? 1 : 0);
        this.metrics.registry.metrics().then((m) => send(200, m, this.metrics.registry.contentType), (e: Error) => send(500, e.message));
        return;
      }
      send(404, 'not found\n');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.host ?? '127.0.0.1', () => resolve());
    });
  }

  private startControllers(): void {
    if (this.controllersStarted) return;
    this.controllersStarted = true;
    const go = async () => {
      await Promise.all([...this.informers.values()].map((i) => i.waitForSync(this.abort.signal)));
      if (this.abort.signal.aborted) return;
      this.o.log?.('caches synced; starting workers');
      await Promise.all(this.controllers.map((c) => c.run(this.metrics)));
    };
    this.running.push(go());
  }

  /** Starts everything; resolves once serving (workers run in the background until stop()). */
  async start(): Promise<void> {
    await this.serve();
    for (const inf of this.informers.values()) this.running.push(inf.run(this.abort.signal));
    const le = this.o.leaderElection;
    if (!le) {
      this.startControllers();
      return;
    }
    this.elector = new LeaderElector({
      client: this.o.client,
      ...le,
      log: this.o.log,
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        this.startControllers();
      },
      onStoppedLeading: () => {
        this.metrics.leader.set(0);
        this.stopReason = 'lost-leadership';
        void this.stop();
      },
    });
    this.running.push(this.elector.run(this.abort.signal));
  }

  /** Resolves when the manager has stopped (by stop() or lost leadership), with the reason. */
  private stopped: Promise<StopReason> | undefined;
  private resolveStopped: ((r: StopReason) => void) | undefined;
  done(): Promise<StopReason> {
    this.stopped ??= new Promise((r) => (this.resolveStopped = r));
    return this.stopped;
  }

  private stopping: Promise<void> | undefined;
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.o.log?.('stopping: finishing reconciles in flight');
      await Promise.all(this.controllers.map((c) => c.stop()));
      this.abort.abort();
      await Promise.allSettled(this.running); // the elector releases the Lease on abort
      await new Promise<void>((r) => {
        if (!this.server) return r();
        this.server.close(() => r());
        this.server.closeAllConnections();
      });
      this.o.client.close();
      void this.done();
      this.resolveStopped?.(this.stopReason);
    })();
    return this.stopping;
  }
}
