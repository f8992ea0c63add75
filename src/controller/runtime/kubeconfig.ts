/**
 * Loads how to reach the API server: a kubeconfig file (current context; certificate and key as
 * files or inline data, bearer token or token file) or, inside a pod, the ServiceAccount.
 * Written here instead of using @kubernetes/client-node's KubeConfig at runtime because
 * client-node 2.x loads undici 8, which needs Node >= 22.19, and etaops supports Node 20.
 * (No exec/auth-provider plugins: use a token or client certificate.)
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

export interface KubeAuth {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  /** Re-read on use (projected ServiceAccount tokens rotate). */
  tokenFile?: string;
  insecureSkipTLSVerify?: boolean;
  /** Namespace of the current context (or the pod's). */
  namespace?: string;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Named<T> { name: string; [k: string]: unknown; cluster?: T; user?: T; context?: T }

function fileOrData(base: string, file: unknown, data: unknown): Buffer | undefined {
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  if (typeof file === 'string' && file) return readFileSync(path.resolve(base, file));
  return undefined;
}

export function loadKubeConfigFile(file: string, context?: string): KubeAuth {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const base = path.dirname(file);
  const ctxName = context ?? (doc['current-context'] as string | undefined);
  const contexts = (doc.contexts ?? []) as Named<Record<string, string>>[];
  const ctx = contexts.find((c) => c.name === ctxName)?.context ?? contexts[0]?.context;
  if (!ctx) throw new Error(`${file}: no context${ctxName ? ` named ${ctxName}` : ''}`);
  const cluster = ((doc.clusters ?? []) as Named<Record<string, unknown>>[]).find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster || typeof cluster.server !== 'string') throw new Error(`${file}: cluster ${ctx.cluster} has no server`);
  const user = ((doc.users ?? []) as Named<Record<string, unknown>>[]).find((u) => u.name === ctx.user)?.user ?? {};
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ca: fileOrData(base, cluster['certificate-authority'], cluster['certificate-authority-data']),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    cert: fileOrData(base, user['client-certificate'], user['client-certificate-data']),
    key: fileOrData(base, user['client-key'], user['client-key-data']),
    token: typeof user.token === 'string' ? user.token : undefined,
    tokenFile: typeof user.tokenFile === 'string' ? path.resolve(base, user.tokenFile) : undefined,
    namespace: ctx.namespace,
  };
}

export function inClusterAuth(): KubeAuth {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not in a cluster (KUBERNETES_SERVICE_HOST unset) and no kubeconfig found');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(`${SA_DIR}/ca.crt`),
    tokenFile: `${SA_DIR}/token`,
    namespace: existsSync(`${SA_DIR}/namespace`) ? readFileSync(`${SA_DIR}/namespace`, 'utf8').trim() : undefined,
  };
}

/** --kubeconfig, else $KUBECONFIG (first file), else ~/.kube/config, else in-cluster. */
export function loadKubeAuth(file?: string): KubeAuth {
  const candidates = [file, ...(process.env.KUBECONFIG ?? '').split(path.delimiter), path.join(os.homedir(), '.kube', 'config')];
  for (const f of candidates) if (f && existsSync(f)) return loadKubeConfigFile(f);
  if (file) throw new Error(`kubeconfig ${file} not found`);
  return inClusterAuth();
}

/** The bearer token to send now, if any. */
export function bearerToken(a: KubeAuth): string | undefined {
  if (a.tokenFile) return readFileSync(a.tokenFile, 'utf8').trim();
  return a.token;
}
