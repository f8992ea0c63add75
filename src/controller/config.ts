/** Controller settings, from the environment of the `etaops controller` process. */

export interface ControllerConfig {
  /** Default image of Job and predictor pods (ETAOPS_IMAGE). */
  image?: string;
  /** The command of that image that is the etaops CLI (ETAOPS_JOB_COMMAND, default "etaops"). */
  command: string[];
  /** Default root of model directories (ETAOPS_ARTIFACT_ROOT), e.g. s3://models/etaops. */
  artifactRoot?: string;
  /** Default Secret with S3 credentials (ETAOPS_ARTIFACT_SECRET). */
  artifactSecret?: string;
  /** ServiceAccount of Job pods (ETAOPS_JOB_SERVICE_ACCOUNT, default etaops-job). */
  jobServiceAccount: string;
  /** Extra nodeSelector for Job and predictor pods (ETAOPS_JOB_NODE_SELECTOR="k=v,k2=v2"). */
  jobNodeSelector?: Record<string, string>;
  /** Tolerations keys for Job and predictor pods (ETAOPS_JOB_TOLERATE="key1,key2": tolerate any effect). */
  jobTolerate?: string[];
  /**
   * Secret (key DATABASE_URL) of the database predictors log their predictions to
   * (ETAOPS_PREDICTION_LOG_SECRET): what DriftChecks over `current.window` read.
   */
  predictionLogSecret?: string;
}

export function parseSelector(s: string | undefined): Record<string, string> | undefined {
  if (!s) return undefined;
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const [k, v = ''] = part.split('=');
    if (k.trim()) out[k.trim()] = v.trim();
  }
  return out;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  return {
    image: env.ETAOPS_IMAGE || undefined,
    command: (env.ETAOPS_JOB_COMMAND || 'etaops').split(' ').filter(Boolean),
    artifactRoot: env.ETAOPS_ARTIFACT_ROOT || undefined,
    artifactSecret: env.ETAOPS_ARTIFACT_SECRET || undefined,
    jobServiceAccount: env.ETAOPS_JOB_SERVICE_ACCOUNT || 'etaops-job',
    jobNodeSelector: parseSelector(env.ETAOPS_JOB_NODE_SELECTOR),
    jobTolerate: env.ETAOPS_JOB_TOLERATE ? env.ETAOPS_JOB_TOLERATE.split(',').filter(Boolean) : undefined,
    predictionLogSecret: env.ETAOPS_PREDICTION_LOG_SECRET || undefined,
  };
}
