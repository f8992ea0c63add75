/**
 * List + watch with a local cache keyed by namespace/name (client-go's reflector + store):
 * - list (paginated), replace the cache (emitting add/update/delete for the differences), then
 *   watch from the list's resourceVersion with bookmarks, remembering the latest version seen;
 * - a watch the server ends normally (its timeout) is resumed from the last version;
 * - a watch that breaks (connection error, API server restart) is resumed after a jittered
 *   exponential backoff; 410 Gone (version too old, compacted) forces a fresh list;
 * - client-node's own informer stops on errors, which is why this exists.
 */
import { keyOf, isGone, type GVR, type KubeClient, type KubeList, type KubeObject } from './kube.js';
import { jitter, sleep } from './leader.js';

export type EventType = 'add' | 'update' | 'delete';
export type Handler<T> = (type: EventType, obj: T, old?: T) => void;

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  /** Page size of lists. */
  pageSize?: number;
  /** Server-side watch timeout range (s); randomised so replicas do not rewatch in step. */
  watchTimeoutSeconds?: number;
  log?: (msg: string) => void;
}

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: Handler<T>[] = [];
  private lastRV = '';
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, watchErrors: 0, gone: 0 };

  constructor(
    private readonly client: KubeClient,
    readonly resource: GVR,
    private readonly o: InformerOptions = {},
  ) {}

  on(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace ? all.filter((o) => o.metadata.namespace === namespace) : all;
  }

  get resourceVersion(): string {
    return this.lastRV;
  }

  private emit(type: EventType, obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (e) {
        this.o.log?.(`informer ${this.resource.plural}: handler failed: ${(e as Error).message}`);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page: KubeList<T> = await this.client.list<T>(this.resource, this.o.namespace, {
        labelSelector: this.o.labelSelector, limit: this.o.pageSize ?? 500, continue: cont,
      });
      this.stats.lists++;
      items.push(...page.items);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont && !signal.aborted);
    const seen = new Set<string>();
    for (const obj of items) {
      const k = keyOf(obj);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, obj);
      if (!old) this.emit('add', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('update', obj, old);
    }
    for (const [k, old] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.emit('delete', old);
      }
    }
    this.lastRV = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private apply(type: string, obj: T): void {
    if (obj.metadata?.resourceVersion) this.lastRV = obj.metadata.resourceVersion;
    if (type === 'BOOKMARK') return;
    const k = keyOf(obj);
    const old = this.cache.get(k);
    if (type === 'DELETED') {
      this.cache.delete(k);
      this.emit('delete', obj);
    } else {
      this.cache.set(k, obj);
      this.emit(old ? 'update' : 'add', obj, old);
    }
  }

  /** Runs until the signal aborts; never gives up on errors. */
  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal);
          needList = false;
        }
        const timeout = Math.round(jitter(this.o.watchTimeoutSeconds ?? 240, 0.5));
        this.stats.watches++;
        await this.client.watch<T>(this.resource, this.o.namespace, {
          resourceVersion: this.lastRV, allowWatchBookmarks: true, timeoutSeconds: timeout, labelSelector: this.o.labelSelector,
        }, (ev) => {
          failures = 0;
          this.apply(ev.type, ev.object);
        }, signal);
        failures = 0;
      } catch (e) {
        if (signal.aborted) break;
        if (isGone(e)) {
          this.stats.gone++;
          this.o.log?.(`informer ${this.resource.plural}: resourceVersion ${this.lastRV} expired (410 Gone): relisting`);
          needList = true;
          continue;
        }
        this.stats.watchErrors++;
        failures++;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(failures - 1, 7));
        this.o.log?.(`informer ${this.resource.plural}: ${(e as Error).message}; retrying in ~${delay} ms`);
        await sleep(jitter(delay, 0.5), signal);
        // After repeated failures the watch cache may have moved on: list again.
        if (failures >= 3) needList = true;
      }
    }
  }
}
