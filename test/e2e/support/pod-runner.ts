/**
 * A test-side "kubelet" for the local control plane of hack/cluster.sh: it makes the Node
 * `local-runner` (which kwok leaves alone) really run the pods bound to it, as local child
 * processes, so the e2e proves real work: the trainer trains, the predictor answers HTTP.
 *
 * What it does, and the kubelet behaviour each part stands in for:
 * - Heartbeat: the node's Ready condition (status subresource) and its Lease in kube-node-lease,
 *   renewed every few seconds, so the node lifecycle controller lifts the not-ready taints and
 *   the scheduler places pods there. On stop it just stops beating, as a stopped kubelet does.
 * - Pods: list + watch of pods with spec.nodeName=local-runner (optionally one namespace). Each
 *   pod's single container runs `command + args` as a child process in a private temporary
 *   working folder. Only commands named in `commands` run (e.g. etaops → node dist/.../main.js):
 *   this is not a container runtime, and arbitrary commands from the API must not run here.
 * - Env: value, $(VAR) expansion, secretKeyRef / configMapKeyRef (read from the API; a missing
 *   non-optional key leaves the container waiting with CreateContainerConfigError, retried),
 *   fieldRef for the pod's name, namespace and IPs, envFrom. Nothing from the runner's own
 *   environment leaks in except PATH; HOME and TMPDIR point into the pod's folder.
 * - Ports: every containerPort (and numeric probe port) gets a free loopback port; `--port N`
 *   arguments naming a container port are rewritten to it, and `--host/--bind 0.0.0.0` to
 *   127.0.0.1 (servers here listen on loopback only). `urlOf(pod)` tells tests where to connect.
 * - Result contract: terminationMessagePath (default /dev/termination-log) is mapped to a file
 *   in the pod's folder wherever it appears in env values or args; after exit its first 4096
 *   bytes become containerStatuses[].state.terminated.message, or with FallbackToLogsOnError and
 *   a non-zero exit and an empty file, the log's tail (80 lines / 2048 bytes, like the kubelet).
 * - Readiness: HTTP GET probes against the mapped port set the Ready / ContainersReady
 *   conditions (periods capped at `maxProbePeriodSeconds` to keep tests quick). Liveness and
 *   startup probes are not run.
 * - Status: phase, conditions, containerStatuses, podIP/hostIP 127.0.0.1 through the status
 *   subresource. restartPolicy Never ends in Succeeded/Failed; Always/OnFailure restart with a
 *   capped backoff (CrashLoopBackOff while waiting).
 * - Deletion: SIGTERM, SIGKILL after the grace period, then the final delete (grace 0, uid
 *   precondition) that the API server waits for from a kubelet. stop() kills every child and a
 *   process 'exit' hook SIGKILLs any left, so no process outlives the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { V1Container, V1EnvVar, V1Pod, V1PodCondition, V1ContainerStatus, V1Probe } from '@kubernetes/client-node';
import { GVRS, isNotFound, type GVR, type KubeClient, type KubeObject } from '../../../src/controller/runtime/kube.js';
import { freePort } from '../../support/free-port.js';

export { freePort };

export const LOCAL_RUNNER_NODE = 'local-runner';
const LEASES: GVR = GVRS.leases;
const NODES: GVR = { group: '', version: 'v1', plural: 'nodes' };
const CONFIGMAPS: GVR = { group: '', version: 'v1', plural: 'configmaps' };
const LOOPBACK = '127.0.0.1';
const MESSAGE_MAX_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;
const LOG_TAIL_BYTES = 64 * 1024;

type Pod = V1Pod & KubeObject;

export interface PodRunnerOptions {
  client: KubeClient;
  /** Node to serve (default local-runner). */
  nodeName?: string;
  /** Only pods of this namespace (default: every pod bound to the node). */
  namespace?: string;
  /** Container command[0] → the local argv prefix that replaces it, e.g. {etaops: [node, main.js]}. */
  commands: Record<string, string[]>;
  /** Seconds between heartbeats (default 5). */
  heartbeatSeconds?: number;
  /** Upper bound on probe periods (default 1 s). */
  maxProbePeriodSeconds?: number;
  /** Runner events and, when `containerLogs` is set, each container output line. */
  log?: (line: string) => void;
  containerLogs?: boolean;
  /** Every chunk a container writes (stdout and stderr), with its pod's name. */
  onOutput?: (pod: string, text: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => new Date().toISOString();
/** Lease times are MicroTime: RFC 3339 with microseconds. */
const microNow = () => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');


/** Kubernetes' $(VAR) expansion in command, args and env values ($$ escapes a $). */
export function expandVars(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (name === undefined ? '$' : env[name] ?? m));
}

/** Loopback instead of all interfaces, local ports instead of container ports, the message file instead of its path. */
export function rewriteArgs(args: string[], ports: Map<number, number>, messagePath: string, messageFile: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const flag = /^(--port|--host|--bind)(?:=(.*))?$/.exec(a);
    if (!flag) {
      out.push(a === messagePath ? messageFile : a);
      continue;
    }
    const inline = flag[2] !== undefined;
    const value = inline ? flag[2] : args[i + 1];
    if (!inline) i++;
    let mapped = value;
    if (flag[1] === '--port' && ports.has(Number(value))) mapped = String(ports.get(Number(value)));
    if (flag[1] !== '--port' && (value === '0.0.0.0' || value === '::')) mapped = LOOPBACK;
    out.push(...(inline ? [`${flag[1]}=${mapped}`] : [flag[1], mapped]));
  }
  return out;
}

/** A condition list with `type` set to `status`, keeping lastTransitionTime when unchanged. */
function withCondition(list: V1PodCondition[], type: string, status: 'True' | 'False', reason?: string): V1PodCondition[] {
  const old = list.find((c) => c.type === type);
  const time = old && old.status === status ? old.lastTransitionTime : (now() as unknown as Date);
  const next: V1PodCondition = { type, status, lastTransitionTime: time, ...(reason ? { reason } : {}) };
  return [...list.filter((c) => c.type !== type), next];
}

// --------------------------------------------------------------------------- node heartbeat

class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly node: string,
    private readonly everyMs: number,
    private readonly log: (line: string) => void,
  ) {}

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.beating = this.beat().catch((e: unknown) => this.log(`heartbeat failed: ${(e as Error).message}`));
    }, this.everyMs);
  }

  /**
   * Stops beating. Like a stopped kubelet, it does not report NotReady itself: the node lifecycle
   * controller does once the Lease expires; that way a runner of another test process serving
   * the same node (for its own namespace) is not disturbed.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
  }

  private async beat(): Promise<void> {
    await this.setReady();
    await this.renewLease();
  }

  /** Since when this runner has reported Ready (lastTransitionTime must not move on every beat). */
  private readySince: string | undefined;

  private async setReady(): Promise<void> {
    const t = now();
    this.readySince ??= t;
    const message = 'the e2e pod runner (test/e2e/support/pod-runner.ts) runs pods of this node as local processes';
    const cond = (type: string, status: string, why: string) => ({ type, status, reason: why, message: type === 'Ready' ? message : why, lastHeartbeatTime: t, lastTransitionTime: this.readySince });
    // A merge patch replaces the conditions list: each beat writes all of them.
    await this.client.mergePatch(NODES, undefined, this.node, {
      status: {
        conditions: [
          cond('Ready', 'True', 'KubeletReady'),
          cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
          cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
          cond('PIDPressure', 'False', 'KubeletHasSufficientPID'),
        ],
      },
    }, 'status');
  }

  private async renewLease(): Promise<void> {
    const spec = { holderIdentity: this.node, leaseDurationSeconds: 40, renewTime: microNow() };
    try {
      await this.client.mergePatch(LEASES, 'kube-node-lease', this.node, { spec });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.client.create(LEASES, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.node }, spec });
    }
  }
}

// --------------------------------------------------------------------------- one pod

/** Raised while preparing a container; the pod waits (or fails) with this reason. */
class ContainerConfigError extends Error {
  constructor(readonly reason: string, message: string, readonly permanent = false) {
    super(message);
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

class LocalPod {
  readonly uid: string;
  /** containerPort → local port. */
  readonly ports = new Map<number, number>();
  private child: ChildProcess | undefined;
  private exited: Promise<Exit> = Promise.resolve({ code: 0, signal: null });
  private workDir = '';
  private logFile: WriteStream | undefined;
  private logTail = '';
  private ready = false;
  private conditions: V1PodCondition[] = [];
  private containerStatus: V1ContainerStatus;
  private phase = 'Pending';
  private startTime: string | undefined;
  private restarts = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private statusWrite: Promise<void> = Promise.resolve();

  constructor(
    private pod: Pod,
    private readonly runner: PodRunner,
  ) {
    this.uid = pod.metadata.uid!;
    const c = this.container;
    this.containerStatus = { name: c.name, image: c.image ?? '', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } };
    this.conditions = (pod.status?.conditions ?? []).filter((x) => x.type === 'PodScheduled');
  }

  get key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  private get container(): V1Container {
    return this.pod.spec!.containers[0];
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** Prepares the folder, ports and env, then starts the process (retrying config errors). */
  async start(): Promise<void> {
    this.workDir = await mkdtemp(path.join(tmpdir(), `pod-${this.pod.metadata.name}-`));
    this.logFile = createWriteStream(path.join(this.workDir, 'container.log'));
    if (this.pod.spec!.containers.length !== 1 || this.pod.spec!.initContainers?.length) {
      return this.finish({ code: 128, signal: null }, 'the e2e pod runner runs pods with exactly one container and no init containers', 'Unsupported');
    }
    for (const p of this.container.ports ?? []) this.ports.set(p.containerPort, await freePort());
    for (const probe of [this.container.readinessProbe]) {
      const port = probe?.httpGet?.port;
      if (typeof port === 'number' && !this.ports.has(port)) this.ports.set(port, await freePort());
    }
    this.startTime = now();
    await this.launch();
  }

  private async launch(): Promise<void> {
    if (this.stopping) return;
    let argv: string[];
    let env: Record<string, string>;
    try {
      ({ argv, env } = await this.prepare());
      if (this.stopping) return; // deleted while we read its Secrets
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      if (e.permanent) return this.finish({ code: 128, signal: null }, e.message, e.reason);
      // Like the kubelet: report and try again (the Secret may appear later).
      this.containerStatus.state = { waiting: { reason: e.reason, message: e.message } };
      this.writeStatus();
      this.retryTimer = setTimeout(() => void this.launch().catch((err: unknown) => this.runner.log(`${this.key}: ${(err as Error).message}`)), 2000);
      return;
    }
    const child = spawn(argv[0], argv.slice(1), { cwd: this.workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.runner.track(child);
    child.stdout!.on('data', (d: Buffer) => this.output(d));
    child.stderr!.on('data', (d: Buffer) => this.output(d));
    this.exited = new Promise<Exit>((resolve) => {
      child.once('error', (err) => {
        this.output(Buffer.from(`cannot start ${argv[0]}: ${err.message}\n`));
        resolve({ code: 128, signal: null });
      });
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const startedAt = now();
    this.phase = 'Running';
    this.ready = !this.container.readinessProbe;
    this.containerStatus = { ...this.containerStatus, containerID: `local://${child.pid ?? 0}`, started: true, ready: this.ready, state: { running: { startedAt: startedAt as unknown as Date } } };
    this.runner.log(`${this.key}: started pid ${child.pid}: ${argv.slice(1).join(' ')}`);
    this.writeStatus();
    this.scheduleProbe(this.container.readinessProbe, true);
    void this.exited.then((exit) => this.onExit(exit, startedAt));
  }

  /** The process's argv and environment, or a ContainerConfigError saying why not. */
  private async prepare(): Promise<{ argv: string[]; env: Record<string, string> }> {
    const c = this.container;
    const messagePath = c.terminationMessagePath ?? '/dev/termination-log';
    const messageFile = path.join(this.workDir, 'termination-log');
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.workDir, TMPDIR: this.workDir, HOSTNAME: this.pod.metadata.name! };
    for (const from of c.envFrom ?? []) {
      const data = from.secretRef
        ? await this.secretData(from.secretRef.name!, from.secretRef.optional)
        : from.configMapRef ? await this.configMapData(from.configMapRef.name!, from.configMapRef.optional) : {};
      for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
    }
    for (const e of c.env ?? []) {
      const v = await this.envValue(e, env);
      if (v !== undefined) env[e.name] = v === messagePath ? messageFile : v;
    }
    const command = c.command ?? [];
    const prefix = this.runner.commands[command[0] ?? ''];
    if (!prefix) {
      throw new ContainerConfigError('UnknownCommand', `the e2e pod runner only runs ${Object.keys(this.runner.commands).join(', ')}; this container's command is ${JSON.stringify(command)}`, true);
    }
    const rest = [...command.slice(1), ...(c.args ?? [])].map((a) => expandVars(a, env));
    return { argv: [...prefix, ...rewriteArgs(rest, this.ports, messagePath, messageFile)], env };
  }

  private async envValue(e: V1EnvVar, env: Record<string, string>): Promise<string | undefined> {
    if (e.value !== undefined) return expandVars(e.value, env);
    const from = e.valueFrom;
    if (from?.secretKeyRef) return this.keyOf(await this.secretData(from.secretKeyRef.name!, from.secretKeyRef.optional), from.secretKeyRef.key, `Secret ${from.secretKeyRef.name}`, from.secretKeyRef.optional);
    if (from?.configMapKeyRef) return this.keyOf(await this.configMapData(from.configMapKeyRef.name!, from.configMapKeyRef.optional), from.configMapKeyRef.key, `ConfigMap ${from.configMapKeyRef.name}`, from.configMapKeyRef.optional);
    if (from?.fieldRef) {
      const fields: Record<string, string | undefined> = {
        'metadata.name': this.pod.metadata.name, 'metadata.namespace': this.pod.metadata.namespace, 'metadata.uid': this.uid,
        'spec.nodeName': this.pod.spec?.nodeName, 'spec.serviceAccountName': this.pod.spec?.serviceAccountName, 'status.podIP': LOOPBACK, 'status.hostIP': LOOPBACK,
      };
      return fields[from.fieldRef.fieldPath];
    }
    return undefined;
  }

  private keyOf(data: Record<string, string>, key: string, what: string, optional?: boolean): string | undefined {
    if (key in data) return data[key];
    if (optional) return undefined;
    throw new ContainerConfigError('CreateContainerConfigError', `couldn't find key ${key} in ${what}`);
  }

  private async secretData(name: string, optional?: boolean): Promise<Record<string, string>> {
    const s = await this.runner.client.getOrUndefined<{ data?: Record<string, string> }>(GVRS.secrets, this.pod.metadata.namespace, name);
    if (!s && !optional) throw new ContainerConfigError('CreateContainerConfigError', `secret "${name}" not found`);
    return Object.fromEntries(Object.entries(s?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

  private async configMapData(name: string, optional?: boolean): Promise<Record<string, string>> {
    const m = await this.runner.client.getOrUndefined<{ data?: Record<string, string> }>(CONFIGMAPS, this.pod.metadata.namespace, name);
    if (!m && !optional) throw new ContainerConfigError('CreateContainerConfigError', `configmap "${name}" not found`);
    return m?.data ?? {};
  }

  private output(d: Buffer): void {
    this.logFile?.write(d);
    this.logTail = (this.logTail + d.toString('utf8')).slice(-LOG_TAIL_BYTES);
    this.runner.output(this.pod.metadata.name!, d);
    if (this.runner.containerLogs) for (const line of d.toString('utf8').trimEnd().split('\n')) this.runner.log(`${this.pod.metadata.name}| ${line}`);
  }

  // ------------------------------------------------------------------------- probes

  private scheduleProbe(probe: V1Probe | undefined, first: boolean): void {
    if (!probe?.httpGet || this.stopping) return;
    const periodS = Math.min(probe.periodSeconds ?? 10, this.runner.maxProbePeriodSeconds);
    const delayMs = first ? (probe.initialDelaySeconds ?? 0) * 1000 : periodS * 1000;
    this.probeTimer = setTimeout(() => void this.probeOnce(probe), delayMs);
  }

  private failures = 0;

  private async probeOnce(probe: V1Probe): Promise<void> {
    if (this.stopping || this.pid === undefined) return;
    const get = probe.httpGet!;
    const named = this.container.ports?.find((p) => p.name === get.port)?.containerPort;
    const local = this.ports.get(typeof get.port === 'number' ? get.port : named ?? Number(get.port));
    let ok: boolean;
    try {
      const r = await fetch(`http://${LOOPBACK}:${local}${get.path ?? '/'}`, { signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000) });
      ok = r.status >= 200 && r.status < 400;
      await r.arrayBuffer();
    } catch {
      ok = false;
    }
    this.failures = ok ? 0 : this.failures + 1;
    const ready = ok ? true : this.ready && this.failures < (probe.failureThreshold ?? 3);
    if (ready !== this.ready) {
      this.ready = ready;
      this.containerStatus = { ...this.containerStatus, ready };
      this.runner.log(`${this.key}: ${ready ? 'ready' : 'not ready'}`);
      this.writeStatus();
    }
    this.scheduleProbe(probe, false);
  }

  // ------------------------------------------------------------------------- exit, restart, stop

  private async onExit(exit: Exit, startedAt: string): Promise<void> {
    clearTimeout(this.probeTimer);
    this.ready = false;
    const code = exit.code ?? 128 + (exit.signal === 'SIGKILL' ? 9 : 15);
    this.runner.log(`${this.key}: exited ${exit.code ?? exit.signal}`);
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    const restart = !this.stopping && (policy === 'Always' || (policy === 'OnFailure' && code !== 0));
    const terminated = await this.terminatedState(code, startedAt);
    if (!restart) return this.finish({ code, signal: exit.signal }, undefined, undefined, terminated);
    this.restarts++;
    const backoffS = Math.min(2 ** (this.restarts - 1), 20);
    this.containerStatus = { ...this.containerStatus, ready: false, restartCount: this.restarts, lastState: { terminated }, state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoffS}s restarting failed container` } } };
    this.writeStatus();
    this.retryTimer = setTimeout(() => void this.launch().catch((e: unknown) => this.runner.log(`${this.key}: ${(e as Error).message}`)), backoffS * 1000);
  }

  private async terminatedState(code: number, startedAt: string): Promise<NonNullable<V1ContainerStatus['state']>['terminated']> {
    let message: string;
    try {
      message = (await readFile(path.join(this.workDir, 'termination-log'))).subarray(0, MESSAGE_MAX_BYTES).toString('utf8');
    } catch {
      message = '';
    }
    if (!message && code !== 0 && this.container.terminationMessagePolicy === 'FallbackToLogsOnError') {
      message = this.logTail.trimEnd().split('\n').slice(-FALLBACK_LOG_LINES).join('\n');
      message = message.slice(-FALLBACK_LOG_BYTES);
    }
    return {
      exitCode: code, reason: code === 0 ? 'Completed' : 'Error', containerID: this.containerStatus.containerID,
      startedAt: startedAt as unknown as Date, finishedAt: now() as unknown as Date, ...(message ? { message } : {}),
    };
  }

  /** Terminal state: Succeeded on exit 0, else Failed. */
  private finish(exit: Exit, message?: string, reason?: string, terminated?: NonNullable<V1ContainerStatus['state']>['terminated']): void {
    const code = exit.code ?? 137;
    this.phase = code === 0 ? 'Succeeded' : 'Failed';
    this.containerStatus = {
      ...this.containerStatus, ready: false, started: false,
      state: { terminated: terminated ?? { exitCode: code, reason: reason ?? 'Error', message, finishedAt: now() as unknown as Date } },
    };
    this.writeStatus('PodCompleted');
  }

  /** Kills the process: SIGTERM, SIGKILL after `graceSeconds`; resolves when it is gone. */
  async stop(graceSeconds: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.probeTimer);
    clearTimeout(this.retryTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), Math.max(0, graceSeconds) * 1000);
      await this.exited;
      clearTimeout(killer);
    }
    await this.statusWrite;
  }

  async cleanup(): Promise<void> {
    await new Promise<void>((r) => (this.logFile ? this.logFile.end(r) : r()));
    if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
  }

  observe(pod: Pod): void {
    this.pod = pod;
  }

  // ------------------------------------------------------------------------- status

  /** Queues a status write of the current state (writes are serialised per pod). */
  private writeStatus(notReadyReason?: string): void {
    const readyStatus = this.ready ? 'True' : 'False';
    this.conditions = withCondition(this.conditions, 'PodScheduled', 'True');
    this.conditions = withCondition(this.conditions, 'Initialized', 'True');
    this.conditions = withCondition(this.conditions, 'ContainersReady', readyStatus, this.ready ? undefined : notReadyReason ?? 'ContainersNotReady');
    this.conditions = withCondition(this.conditions, 'Ready', readyStatus, this.ready ? undefined : notReadyReason ?? 'ContainersNotReady');
    const status = {
      phase: this.phase, hostIP: LOOPBACK, hostIPs: [{ ip: LOOPBACK }], podIP: LOOPBACK, podIPs: [{ ip: LOOPBACK }],
      startTime: this.startTime, conditions: this.conditions, containerStatuses: [this.containerStatus],
    };
    const { namespace, name } = this.pod.metadata;
    this.statusWrite = this.statusWrite
      .then(() => this.runner.client.mergePatch(GVRS.pods, namespace, name!, { status }, 'status'))
      .then(() => undefined, (e: unknown) => {
        if (!isNotFound(e)) this.runner.log(`${this.key}: status update failed: ${(e as Error).message}`);
      });
  }
}

// --------------------------------------------------------------------------- the runner

export class PodRunner {
  readonly client: KubeClient;
  readonly commands: Record<string, string[]>;
  readonly maxProbePeriodSeconds: number;
  readonly containerLogs: boolean;
  private readonly node: string;
  private readonly heartbeat: NodeHeartbeat;
  private readonly pods = new Map<string, LocalPod>();
  /** Pods being (or already) finalised, by uid: later events (e.g. a Job's finalizer going) change nothing. */
  private readonly finalising = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private readonly abort = new AbortController();
  private watching: Promise<void> = Promise.resolve();
  private readonly work = new Set<Promise<unknown>>();
  private readonly killAll = () => {
    for (const c of this.children) c.kill('SIGKILL');
  };

  constructor(private readonly o: PodRunnerOptions) {
    this.client = o.client;
    this.commands = o.commands;
    this.node = o.nodeName ?? LOCAL_RUNNER_NODE;
    this.maxProbePeriodSeconds = o.maxProbePeriodSeconds ?? 1;
    this.containerLogs = o.containerLogs ?? false;
    this.heartbeat = new NodeHeartbeat(o.client, this.node, (o.heartbeatSeconds ?? 5) * 1000, (l) => this.log(l));
  }

  log(line: string): void {
    this.o.log?.(`pod-runner: ${line}`);
  }

  output(pod: string, d: Buffer): void {
    this.o.onOutput?.(pod, d.toString('utf8'));
  }

  /** PID of the process running a pod's container, while it runs. */
  pidOf(pod: { metadata?: { uid?: string } }): number | undefined {
    return this.pods.get(pod.metadata?.uid ?? '')?.pid;
  }

  /** Heartbeats the node and starts running its pods. */
  async start(): Promise<void> {
    process.once('exit', this.killAll);
    await this.heartbeat.start();
    this.watching = this.watchLoop();
  }

  /** Stops every process (SIGTERM, SIGKILL after `graceSeconds`), the watch and the heartbeat. */
  async stop(graceSeconds = 5): Promise<void> {
    this.abort.abort();
    await this.watching;
    await Promise.allSettled([...this.work]);
    await Promise.all([...this.pods.values()].map(async (p) => {
      await p.stop(graceSeconds);
      await p.cleanup();
    }));
    this.pods.clear();
    await this.heartbeat.stop();
    this.killAll();
    process.removeListener('exit', this.killAll);
  }

  /** http://127.0.0.1:<local port> of a pod's container port (default: its first). */
  urlOf(pod: { metadata?: { uid?: string } }, containerPort?: number): string | undefined {
    const p = this.pods.get(pod.metadata?.uid ?? '');
    const port = containerPort === undefined ? p?.ports.values().next().value : p?.ports.get(containerPort);
    return port === undefined ? undefined : `http://${LOOPBACK}:${port}`;
  }

  /** PIDs of the processes currently running (for tests that check nothing is left). */
  get pids(): number[] {
    return [...this.pods.values()].map((p) => p.pid).filter((x): x is number => x !== undefined);
  }

  /** Every PID the runner has started, running or not. */
  readonly startedPids: number[] = [];

  track(child: ChildProcess): void {
    if (child.pid !== undefined) this.startedPids.push(child.pid);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  /** List, then watch from the list's version; a broken watch lists again (no event is lost for long). */
  private async watchLoop(): Promise<void> {
    const query = { fieldSelector: `spec.nodeName=${this.node}` };
    while (!this.abort.signal.aborted) {
      try {
        const list = await this.client.list<Pod>(GVRS.pods, this.o.namespace, query);
        const seen = new Set<string>();
        for (const pod of list.items) {
          seen.add(pod.metadata.uid!);
          this.handle('MODIFIED', pod);
        }
        for (const [uid, p] of this.pods) if (!seen.has(uid)) this.handle('DELETED', { metadata: { uid, name: p.key } } as Pod);
        await this.client.watch<Pod>(GVRS.pods, this.o.namespace, { ...query, resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (ev) => {
            if (ev.type !== 'BOOKMARK') this.handle(ev.type, ev.object);
          }, this.abort.signal);
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.log(`watch ended: ${(e as Error).message}; listing again`);
        await sleep(500);
      }
    }
  }

  /** Tracks the promise of one piece of work, so stop() can wait for it. */
  private spawnWork(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) => this.log(`error: ${(e as Error).message}`)).finally(() => this.work.delete(tracked));
    this.work.add(tracked);
  }

  private handle(type: string, pod: Pod): void {
    if (this.abort.signal.aborted) return;
    const uid = pod.metadata.uid!;
    const running = this.pods.get(uid);
    if (type === 'DELETED') {
      // Gone from the API (force-deleted): kill at once.
      if (running) this.spawnWork(this.retire(running, 0, undefined));
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      if (this.finalising.has(uid)) return;
      this.finalising.add(uid);
      const grace = (pod.metadata.deletionGracePeriodSeconds as number | undefined) ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.spawnWork(this.retire(running, grace, pod));
      return;
    }
    if (running) {
      running.observe(pod);
      return;
    }
    // New to us: run it unless it already ran (terminal) or another runner started it.
    const phase = pod.status?.phase ?? 'Pending';
    if (phase !== 'Pending') return;
    const p = new LocalPod(pod, this);
    this.pods.set(uid, p);
    this.spawnWork(p.start());
  }

  /** Stops a pod's process, then (when it still exists in the API) confirms its deletion. */
  private async retire(p: LocalPod | undefined, graceSeconds: number, pod: Pod | undefined): Promise<void> {
    if (p) {
      await p.stop(graceSeconds);
      this.pods.delete(p.uid);
      await p.cleanup();
    }
    if (pod) {
      // What a kubelet does once the containers are gone: delete for good (uid-guarded).
      await this.client.request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } },
      }).catch((e: unknown) => {
        // Gone already, or replaced by a pod of the same name (uid precondition): nothing to do.
        if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      });
    }
  }
}
