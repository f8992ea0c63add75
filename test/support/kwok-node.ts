/**
 * A fake node of its own with its own kwok process (the operator bench, the controller crash test).
 *
 * The controller reads a run's result from the pod's termination message, which a real kubelet
 * copies from /dev/termination-log. kwok's default pod-complete stage (hack/kwok/stages.yaml)
 * marks Job pods Succeeded without a message, and the shared cluster's kwok must not change
 * under other people's tests. So the bench adds a node of its own, `etaops-bench-<id>`
 * (tainted, so only pods that tolerate it land there), managed by a second kwok that runs the
 * same default stages except that pod-complete also writes the result a trainer would:
 *   {"artifact":{"uri":"<root>/<namespace>/<run>","sha256":...},"metrics":{...}}
 * where <namespace>/<run> is the pod's ETAOPS_TRAINING_RUN env (set by the controller's Job).
 * The bench writes a real, valid model directory at each of those paths beforehand, so the
 * controller's validation (exists, sha256, ONNX inputs vs feature spec) passes for real.
 * A drift Job's pod (its container is named `drift`) gets `driftResult` instead, when given:
 * what `etaops drift --json` would write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { GVR, KubeClient, KubeObject } from '../../src/controller/runtime/kube.js';
import { freePort } from './free-port.js';

export const BENCH_NODE_LABEL = 'etaops.io/bench-node';
const KWOK_ANNOTATION = 'etaops.io/bench-kwok';
const NODES: GVR = { group: '', version: 'v1', plural: 'nodes' };

export interface BenchResult {
  /** file:// root; the artifact of run ns/name is <root>/ns/name. */
  artifactRoot: string;
  sha256: string;
  metrics: Record<string, number>;
  /** The termination message of drift Job pods (default: the training result, which a DriftCheck refuses). */
  driftResult?: Record<string, unknown>;
}

/** hack/kwok/stages.yaml with pod-complete writing a result message (see the file comment). */
export function benchStages(defaultStages: string, r: BenchResult): string {
  const docs = parseAllDocuments(defaultStages).map((d) => d.toJS() as { metadata: { name: string }; spec: { next: { statusTemplate: string } } });
  const complete = docs.find((d) => d.metadata.name === 'pod-complete');
  if (!complete) throw new Error('hack/kwok/stages.yaml has no pod-complete stage');
  const tpl = complete.spec.next.statusTemplate;
  const loopHead = '{{ $origin := index $root.status.containerStatuses $index }}';
  const reasonLine = '      reason: Completed\n';
  if (!tpl.includes(loopHead) || !tpl.includes(reasonLine)) throw new Error('pod-complete template changed: update test/support/kwok-node.ts');
  const json = JSON.stringify({ artifact: { uri: `${r.artifactRoot}/%s`, sha256: r.sha256 }, metrics: r.metrics, dataFingerprint: 'etaops-bench' });
  // A Go interpreted string literal has JSON's escapes.
  const trained = `printf ${JSON.stringify(json)} $run`;
  const message = r.driftResult ? `if eq $item.name "drift" }}{{ ${JSON.stringify(JSON.stringify(r.driftResult))} | Quote }}{{ else }}{{ ${trained} | Quote }}{{ end` : `${trained} | Quote`;
  complete.spec.next.statusTemplate = tpl
    .replace(loopHead, `${loopHead}\n{{ $run := "" }}{{ range $item.env }}{{ if eq .name "ETAOPS_TRAINING_RUN" }}{{ $run = .value }}{{ end }}{{ end }}`)
    .replace(reasonLine, `${reasonLine}      message: {{ ${message} }}\n`);
  return docs.map((d) => stringify(d, { blockQuote: 'literal', lineWidth: 0 })).join('---\n');
}


export interface BenchNode {
  name: string;
  /** Job pods need these to land on the bench node. */
  nodeSelector: Record<string, string>;
  tolerate: string;
  stop(): Promise<void>;
}

/** Creates the node, starts kwok for it and waits until the node is Ready. */
export async function startBenchNode(c: KubeClient, o: { id: string; kwokBin: string; kubeconfig: string; hackStages: string; result: BenchResult; workDir: string; log: (m: string) => void }): Promise<BenchNode> {
  const name = `etaops-bench-${o.id}`;
  const stagesFile = path.join(o.workDir, 'kwok-stages.yaml');
  writeFileSync(stagesFile, benchStages(readFileSync(o.hackStages, 'utf8'), o.result));
  await c.create(NODES, undefined, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_ANNOTATION]: o.id, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok', [BENCH_NODE_LABEL]: o.id },
    },
    spec: { taints: [{ key: BENCH_NODE_LABEL, value: o.id, effect: 'NoSchedule' }] },
  });
  const logFile = createWriteStream(path.join(o.workDir, 'kwok.log'));
  const kwok: ChildProcess = spawn(o.kwokBin, [
    '--kubeconfig', o.kubeconfig, '--config', stagesFile,
    '--manage-all-nodes=false', '--manage-nodes-with-annotation-selector', `${KWOK_ANNOTATION}=${o.id}`,
    '--node-lease-duration-seconds', '40', '--cidr', '10.245.0.0/16', '--node-ip', '10.240.0.3',
    '--server-address', `127.0.0.1:${await freePort()}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  kwok.stdout!.pipe(logFile);
  kwok.stderr!.pipe(logFile);
  let exited = false;
  kwok.once('exit', (code) => {
    exited = true;
    o.log(`kwok for ${name} exited (${code}); log: ${path.join(o.workDir, 'kwok.log')}`);
  });
  const stop = async () => {
    if (!exited) {
      kwok.kill('SIGTERM');
      await new Promise((r) => kwok.once('exit', r));
    }
    await c.delete(NODES, undefined, name).catch((e: Error) => o.log(`could not delete node ${name}: ${e.message}`));
  };
  try {
    const end = Date.now() + 90_000;
    for (;;) {
      const node = await c.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(NODES, undefined, name);
      if (node.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) break;
      if (exited) throw new Error(`kwok exited before ${name} became Ready (log: ${path.join(o.workDir, 'kwok.log')})`);
      if (Date.now() > end) throw new Error(`${name} not Ready after 90 s (kwok log: ${path.join(o.workDir, 'kwok.log')})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { name, nodeSelector: { [BENCH_NODE_LABEL]: o.id }, tolerate: BENCH_NODE_LABEL, stop };
}
