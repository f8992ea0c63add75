/**
 * A thin REST client for any Kubernetes resource, over node:http(s) with the credentials of a
 * kubeconfig (see kubeconfig.ts). @kubernetes/client-node is used for its types only: at runtime
 * it loads undici 8, which needs Node >= 22.19 (etaops supports Node 20), and its watch aborts
 * after 30 s without data. One generic client also gives full control over watch errors and
 * lets the manager count API requests per verb (metrics, bench).
 */
import http from 'node:http';
import https from 'node:https';
import { bearerToken, type KubeAuth } from './kubeconfig.js';

/** Which resource: group ('' = core), version, plural. */
export interface GVR {
  group: string;
  version: string;
  plural: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
    deletionTimestamp?: string;
    creationTimestamp?: string;
    finalizers?: string[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface KubeList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** An API error with the server's Status reason and message. */
export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeError && e.code === 409 && e.reason !== 'AlreadyExists';
export const isAlreadyExists = (e: unknown): boolean => e instanceof KubeError && e.code === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => e instanceof KubeError && e.code === 410;

export const GVRS = {
  jobs: { group: 'batch', version: 'v1', plural: 'jobs' },
  pods: { group: '', version: 'v1', plural: 'pods' },
  services: { group: '', version: 'v1', plural: 'services' },
  secrets: { group: '', version: 'v1', plural: 'secrets' },
  events: { group: '', version: 'v1', plural: 'events' },
  namespaces: { group: '', version: 'v1', plural: 'namespaces' },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments' },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' },
  crds: { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' },
} satisfies Record<string, GVR>;

export function resourcePath(r: GVR, namespace?: string, name?: string, sub?: string): string {
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (sub) p += `/${sub}`;
  return p;
}

/** An API path's resource parts: plural, object name and subresource (absent for collections). */
function pathParts(path: string): { plural?: string; name?: string; sub?: string } {
  const segs = path.split('?')[0].split('/').filter(Boolean);
  // /api/<version>/... or /apis/<group>/<version>/...
  const rest = segs[0] === 'api' ? segs.slice(2) : segs[0] === 'apis' ? segs.slice(3) : segs;
  // namespaces/<ns>/<plural>/... is a namespaced resource (namespaces/<ns>/status|finalize is the namespace's own).
  const inNs = rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize';
  const [plural, name, sub] = inNs ? rest.slice(2) : rest;
  return { plural, name, sub };
}

/**
 * The resource an API path addresses, as a metrics label: the plural, plus the subresource
 * (`trainingruns/status`). Namespaces and names are left out so the label stays bounded.
 */
export function resourceOfPath(path: string): string {
  const { plural, sub } = pathParts(path);
  if (!plural) return 'unknown';
  return sub ? `${plural}/${sub}` : plural;
}

/**
 * The request's verb as the API server counts it (apiserver_request_total): LIST for a GET of
 * a collection, WATCH for a watch, else the HTTP method. RBAC's verbs are these in lower case
 * (POST = create, PUT = update), which lets a test compare what the controller did with what
 * its Role grants.
 */
export function verbOf(method: string, path: string, watch: boolean): string {
  if (method !== 'GET') return method;
  if (watch) return 'WATCH';
  return pathParts(path).name === undefined ? 'LIST' : 'GET';
}

type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeClient {
  /** Called once per API request (verb, HTTP status code: 0 = no response, resource as resourceOfPath names it). */
  onRequest: (verb: string, code: number, resource: string) => void = () => {};
  private agent: http.Agent | undefined;

  constructor(readonly auth: KubeAuth) {}

  private async prepare(method: string, path: string, query?: Query): Promise<{ url: URL; opts: https.RequestOptions }> {
    const url = new URL(this.auth.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    if (!this.agent) {
      const a = this.auth;
      this.agent = url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 32, ca: a.ca, cert: a.cert, key: a.key, rejectUnauthorized: !a.insecureSkipTLSVerify })
        : new http.Agent({ keepAlive: true, maxSockets: 32 });
    }
    const headers: Record<string, string> = {};
    const token = bearerToken(this.auth);
    if (token) headers.Authorization = `Bearer ${token}`;
    return { url, opts: { method, headers, agent: this.agent } };
  }

  private send(url: URL, opts: https.RequestOptions, body: string | undefined, signal?: AbortSignal): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, { ...opts, signal }, resolve);
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** Any API call; JSON in and out; non-2xx becomes a KubeError with the server's message. */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const { url, opts } = await this.prepare(method, path, o.query);
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string>), Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = o.contentType ?? 'application/json';
      // Explicit length: a chunked DELETE body left the kept-alive connection unusable (400 on the next request).
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    opts.headers = headers;
    const verb = verbOf(method, path, Boolean(o.query?.watch));
    const resource = resourceOfPath(path);
    let res: http.IncomingMessage;
    try {
      res = await this.send(url, opts, body, o.signal);
    } catch (e) {
      this.onRequest(verb, 0, resource);
      throw e;
    }
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const code = res.statusCode ?? 0;
    this.onRequest(verb, code, resource);
    if (code < 200 || code >= 300) throw toKubeError(code, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  list<T>(r: GVR, namespace?: string, query?: Query): Promise<KubeList<T>> {
    return this.request('GET', resourcePath(r, namespace), { query });
  }
  get<T>(r: GVR, namespace: string | undefined, name: string): Promise<T> {
    return this.request('GET', resourcePath(r, namespace, name));
  }
  /** Undefined when the object does not exist. */
  async getOrUndefined<T>(r: GVR, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.get<T>(r, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
  create<T>(r: GVR, namespace: string | undefined, obj: unknown): Promise<T> {
    return this.request('POST', resourcePath(r, namespace), { body: obj });
  }
  /** PUT with the object's resourceVersion: fails with 409 Conflict when someone wrote first. */
  replace<T>(r: GVR, namespace: string | undefined, name: string, obj: unknown): Promise<T> {
    return this.request('PUT', resourcePath(r, namespace, name), { body: obj });
  }
  replaceStatus<T>(r: GVR, namespace: string | undefined, name: string, obj: unknown): Promise<T> {
    return this.request('PUT', resourcePath(r, namespace, name, 'status'), { body: obj });
  }
  mergePatch<T>(r: GVR, namespace: string | undefined, name: string, patch: unknown, sub?: string): Promise<T> {
    return this.request('PATCH', resourcePath(r, namespace, name, sub), { body: patch, contentType: 'application/merge-patch+json' });
  }
  async delete(r: GVR, namespace: string | undefined, name: string, propagationPolicy = 'Background'): Promise<void> {
    try {
      await this.request('DELETE', resourcePath(r, namespace, name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /**
   * One watch request: calls onEvent per event until the server closes the stream (resolves)
   * or it breaks (rejects). An ERROR event (e.g. 410 Gone: resourceVersion too old) rejects
   * with the KubeError it carries.
   */
  async watch<T>(r: GVR, namespace: string | undefined, query: Query, onEvent: (e: WatchEvent<T>) => void, signal?: AbortSignal): Promise<void> {
    const { url, opts } = await this.prepare('GET', resourcePath(r, namespace), { ...query, watch: true });
    opts.headers = { ...opts.headers, Accept: 'application/json' };
    let res: http.IncomingMessage;
    try {
      res = await this.send(url, opts, undefined, signal);
    } catch (e) {
      this.onRequest('WATCH', 0, r.plural);
      throw e;
    }
    this.onRequest('WATCH', res.statusCode ?? 0, r.plural);
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw toKubeError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
    }
    let buf = '';
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as WatchEvent<T>;
        if (ev.type === 'ERROR') {
          const st = ev.object as unknown as { code?: number; reason?: string; message?: string };
          res.destroy();
          throw new KubeError(st.code ?? 500, st.reason ?? 'Unknown', st.message ?? 'watch error');
        }
        onEvent(ev);
      }
    }
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

function toKubeError(code: number, text: string): KubeError {
  try {
    const st = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeError(code, st.reason ?? String(code), st.message ?? text);
  } catch {
    return new KubeError(code, String(code), text.slice(0, 500) || `HTTP ${code}`);
  }
}

/** `namespace/name` (or `name` for cluster objects): the key of caches and queues. */
export function keyOf(o: { metadata: { namespace?: string; name?: string } }): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : String(o.metadata.name);
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
