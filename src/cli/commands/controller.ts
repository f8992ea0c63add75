/** `etaops controller`: runs the Kubernetes operator (manager + reconcilers) until SIGTERM. */
import os from 'node:os';
import { intFlag, parseFlags } from '../args.js';
import type { Command } from '../command.js';
import { configFromEnv } from '../../controller/config.js';
import { KubeClient } from '../../controller/runtime/kube.js';
import { loadKubeAuth } from '../../controller/runtime/kubeconfig.js';
import { buildOperator } from '../../controller/setup.js';
import { openRegistryLink } from '../../controller/registry-sync.js';

const usage = `Usage: etaops controller [flags]

Runs the etaops operator: watches TrainingRun, ModelVersion and DriftCheck objects and
reconciles them (Jobs, ModelVersions, predictor Deployments). Stops gracefully on SIGTERM.

Flags:
  --kubeconfig <path>       kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)
  --namespace <ns>          watch only this namespace (default: all)
  --no-leader-elect         run without a leader Lease (only one replica!)
  --lease-namespace <ns>    namespace of the leader Lease (default: $POD_NAMESPACE or default)
  --lease-name <name>       default etaops-controller
  --identity <id>           this replica's identity (default: hostname_pid)
  --port <n>                /healthz /readyz /metrics port (default 8080; 0 = any)
  --bind <addr>             address to listen on (default 127.0.0.1; 0.0.0.0 in a pod)
  --workers <n>             concurrent reconciles per kind (default 4)

Environment: ETAOPS_IMAGE (Job/predictor image), ETAOPS_ARTIFACT_ROOT (s3://bucket/prefix),
ETAOPS_ARTIFACT_SECRET (Secret with S3 credentials), ETAOPS_JOB_COMMAND (default etaops),
ETAOPS_JOB_SERVICE_ACCOUNT (default etaops-job), ETAOPS_JOB_NODE_SELECTOR (k=v,...),
ETAOPS_JOB_TOLERATE (taint keys; both also place predictor pods), ETAOPS_PREDICTION_LOG_SECRET
(Secret with key DATABASE_URL: predictors log predictions there, the data of DriftChecks over
current.window), ETAOPS_DATABASE_URL (the model registry: version numbers and stage history are
recorded there; never printed).
`;

const command: Command = {
  name: 'controller',
  summary: 'run the Kubernetes operator (TrainingRun, ModelVersion, DriftCheck)',
  usage,
  async run(argv) {
    const { values } = parseFlags('controller', argv, {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'no-leader-elect': { type: 'boolean' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string' },
      identity: { type: 'string' },
      port: { type: 'string' },
      bind: { type: 'string' },
      workers: { type: 'string' },
    });
    const auth = loadKubeAuth(values.kubeconfig);
    const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
    const identity = values.identity ?? `${os.hostname()}_${process.pid}`;
    const dbUrl = process.env.ETAOPS_DATABASE_URL;
    const registry = dbUrl ? await openRegistryLink(dbUrl, log) : undefined;
    const mgr = buildOperator({
      registry,
      client: new KubeClient(auth),
      config: configFromEnv(),
      namespace: values.namespace,
      port: intFlag('controller', values, 'port', 8080, 0, 65535),
      host: values.bind ?? '127.0.0.1',
      workers: intFlag('controller', values, 'workers', 4, 1, 64),
      leaderElection: values['no-leader-elect'] ? undefined : {
        namespace: values['lease-namespace'] ?? process.env.POD_NAMESPACE ?? auth.namespace ?? 'default',
        name: values['lease-name'] ?? 'etaops-controller',
        identity,
      },
      log,
    });
    const stop = (sig: string) => {
      log(`${sig}: shutting down`);
      void mgr.stop();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    await mgr.start();
    const addr = mgr.address();
    log(`etaops controller ${identity} started${addr ? `; health and metrics on http://${addr.address}:${addr.port}` : ''}`);
    const reason = await mgr.done();
    await registry?.close();
    log(`stopped (${reason})`);
    return reason === 'signal' ? 0 : 1;
  },
};
export default command;
