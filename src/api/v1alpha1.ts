/**
 * The three etaops kinds (group etaops.io, version v1alpha1), defined ONCE. The TS types below
 * are inferred from these schemas and `crds/*.yaml` is generated from them (`make crds`);
 * test/unit/api.test.ts fails when the YAML in the repository and this file disagree.
 */
import { defineKind, type CustomObject } from './crd.js';
import { s, type Infer } from './schema.js';

// ----------------------------------------------------------------------------- shared pieces

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** Model names end up in object names like `<model>-predictor` and `<model>-v<N>-train`. */
const modelName = () =>
  s.string({ maxLength: 40 })
    .rule(`self.matches('${DNS_LABEL}')`, "model must be a lowercase DNS label (letters a-z, digits, '-'; starts and ends with a letter or digit), e.g. delivery-eta")
    .describe('Name of the model this object belongs to (a DNS label, at most 40 characters).');

const secretRef = () =>
  s.object({ name: s.string({ minLength: 1, maxLength: 253 }).describe('Name of a Secret in the same namespace.') })
    .describe('A Secret in the same namespace; its keys are passed to the Job as environment variables, never copied into specs or status.');

const QUANTITY_MSG = 'must be a Kubernetes quantity such as 500m, 2, 512Mi or 1Gi';
const quantity = () => s.string({ maxLength: 64 }).rule('isQuantity(self)', QUANTITY_MSG);
const resources = () =>
  s.object({
    requests: s.object({ cpu: quantity().optional(), memory: quantity().optional() }).optional(),
    limits: s.object({ cpu: quantity().optional(), memory: quantity().optional() }).optional(),
  }).describe('CPU and memory for the Job container.');

/** metav1.Condition, as every Kubernetes API uses it. */
export const conditionSchema = s.object({
  type: s.string({ maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' }),
  status: s.enum(['True', 'False', 'Unknown'] as const),
  observedGeneration: s.integer({ minimum: 0 }).optional(),
  lastTransitionTime: s.time(),
  reason: s.string({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
  message: s.string({ maxLength: 32768 }),
});
export type Condition = Infer<typeof conditionSchema>;
const conditions = () => s.array(conditionSchema, { maxItems: 16, listType: 'map', listMapKeys: ['type'] }).optional();

const artifactUri = () =>
  s.string({ maxLength: 1024 }).rule("self.matches('^(s3|file)://.+')", 'must be an s3://bucket/prefix or file:///absolute/path URI');

export const METRICS = ['mae', 'rmse', 'mape'] as const;
export const STAGES = ['Candidate', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

const promotion = () =>
  s.object({
    policy: s.enum(['auto', 'manual'] as const).default('auto')
      .describe('auto: promote when better than the Production version by minImprovement on the same holdout; manual: a person sets ModelVersion spec.stage.'),
    metric: s.enum(METRICS).default('mae').describe('Holdout metric compared (lower is better).'),
    minImprovement: s.number().default(0.01)
      .rule('self >= 0.0 && self <= 1.0', 'minImprovement is a relative improvement and must be between 0 and 1 (0.02 = 2% better)')
      .describe('Relative improvement over the champion required for auto promotion.'),
  });

const durationString = (what: string) =>
  s.string({ maxLength: 16 }).rule("self.matches('^[1-9][0-9]*(s|m|h|d)$')", `${what} must be a duration like 30m, 12h or 7d`);

// ----------------------------------------------------------------------------- TrainingRun

function trainingRunSpec(template: boolean) {
  const model = template ? modelName() : modelName().immutable('spec.model');
  const dataset = s.object({
    uri: s.string({ maxLength: 2048 })
      .rule("self.matches('^(s3|file|https)://.+')", 'dataset.uri must start with s3://, file:// or https://')
      .optional(),
    query: s.string({ minLength: 1, maxLength: 16384 }).optional().describe('SQL returning the DoorDash columns; needs secretRef.'),
    secretRef: secretRef().optional(),
  })
    .rule('has(self.uri) != has(self.query)', 'dataset needs exactly one of uri (s3://, file:// or https://) or query (SQL, with secretRef)')
    .rule('!has(self.query) || has(self.secretRef)', 'dataset.query needs secretRef: the name of a Secret holding the Postgres connection (key DATABASE_URL)')
    .describe('Where the training data comes from.');
  return s.object({
    model,
    dataset: template ? dataset : dataset.immutable('spec.dataset'),
    split: s.object({
      strategy: s.enum(['time', 'random'] as const).default('time').describe('time: the latest orders are the holdout (no leakage from the future).'),
      holdoutFraction: s.number({ minimum: 0.05, maximum: 0.5 }).default(0.2),
    }).default({}),
    trainer: s.object({
      algorithm: s.enum(['gbdt'] as const).default('gbdt'),
      loss: s.enum(['l2', 'l1', 'huber', 'quantile'] as const).default('l2'),
      params: s.object({
        numTrees: s.integer({ minimum: 1, maximum: 20000 }).optional(),
        learningRate: s.number().rule('self > 0.0 && self <= 1.0', 'learningRate must be greater than 0 and at most 1').optional(),
        maxLeaves: s.integer({ minimum: 2, maximum: 4096 }).optional(),
        maxDepth: s.integer({ minimum: 0, maximum: 64 }).optional(),
        minDataInLeaf: s.integer({ minimum: 1 }).optional(),
        lambdaL2: s.number({ minimum: 0 }).optional(),
        maxBins: s.integer({ minimum: 2, maximum: 255 }).optional(),
        rowSubsample: s.number().rule('self > 0.0 && self <= 1.0', 'rowSubsample must be greater than 0 and at most 1').optional(),
        colSubsample: s.number().rule('self > 0.0 && self <= 1.0', 'colSubsample must be greater than 0 and at most 1').optional(),
        earlyStoppingRounds: s.integer({ minimum: 0 }).optional(),
        seed: s.integer({ minimum: 0 }).optional(),
      }).default({}),
    }).default({}),
    promotion: promotion().default({}),
    artifacts: s.object({
      root: artifactUri().optional().describe("Where the model directory is written (default: the controller's ETAOPS_ARTIFACT_ROOT)."),
      secretRef: secretRef().optional().describe('S3 credentials (keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_ENDPOINT_URL, AWS_REGION).'),
    }).default({}),
    image: s.string({ minLength: 1, maxLength: 512 }).optional().describe("Trainer image (default: the controller's ETAOPS_IMAGE)."),
    backoffLimit: s.integer({ minimum: 0, maximum: 10 }).default(1),
    activeDeadlineSeconds: s.integer({ minimum: 30, maximum: 604800 }).default(3600),
    ttlSecondsAfterFinished: s.integer({ minimum: 0, maximum: 2592000 }).default(86400)
      .describe('Seconds the finished Job (and its pods, whose termination message holds the result) is kept.'),
    resources: resources().optional(),
  });
}

export const trainingRunSpecSchema = trainingRunSpec(false);
export const trainingRunTemplateSchema = trainingRunSpec(true);

export const TRAINING_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;
export type TrainingPhase = (typeof TRAINING_PHASES)[number];

export const trainingRunStatusSchema = s.object({
  phase: s.enum(TRAINING_PHASES).optional(),
  observedGeneration: s.integer().optional(),
  conditions: conditions(),
  jobName: s.string().optional(),
  startTime: s.time().optional(),
  completionTime: s.time().optional(),
  metrics: s.record(s.number()).optional(),
  artifact: s.object({ uri: s.string(), sha256: s.string() }).optional(),
  dataFingerprint: s.string().optional(),
  modelVersion: s.string().optional().describe('Name of the ModelVersion this run produced.'),
  message: s.string().optional(),
});

export const TrainingRunKind = defineKind({
  kind: 'TrainingRun',
  plural: 'trainingruns',
  singular: 'trainingrun',
  shortNames: ['tr'],
  maxNameLength: 63,
  description: 'One training of a delivery-time model, run as a Job; on success it produces a ModelVersion.',
  spec: trainingRunSpecSchema,
  status: trainingRunStatusSchema,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Model', type: 'string', jsonPath: '.spec.model' },
    { name: 'Version', type: 'string', jsonPath: '.status.modelVersion' },
    { name: 'MAE', type: 'number', jsonPath: '.status.metrics.mae', description: 'Holdout mean absolute error (seconds).' },
  ],
});

// ----------------------------------------------------------------------------- ModelVersion

export const modelVersionSpecSchema = s.object({
  model: modelName().immutable('spec.model'),
  version: s.integer({ minimum: 1 }).immutable('spec.version'),
  artifact: s.object({
    uri: artifactUri().describe('The model directory (model.onnx + model.json).'),
    sha256: s.string({ maxLength: 64 }).rule("self.matches('^[a-f0-9]{64}$')", 'artifact.sha256 must be 64 lowercase hex characters (the sha256 of model.onnx)'),
  }).immutable('spec.artifact'),
  metrics: s.record(s.number(), { maxProperties: 32 }).optional().describe('Holdout metrics (mae, rmse, mape, ...).'),
  holdout: s.object({ fingerprint: s.string({ maxLength: 128 }).optional(), rows: s.integer({ minimum: 0 }).optional() }).optional()
    .describe('The holdout the metrics come from: champion and challenger are compared only on the same one.'),
  lineage: s.object({
    trainingRun: s.string({ maxLength: 253 }).optional(),
    datasetUri: s.string({ maxLength: 2048 }).optional(),
    datasetFingerprint: s.string({ maxLength: 128 }).optional(),
    image: s.string({ maxLength: 512 }).optional(),
  }).optional(),
  stage: s.enum(STAGES).default('Candidate')
    .describe('Desired stage. Set Production to promote (or roll back to) this version by hand.'),
  promotion: promotion().default({}),
  serving: s.object({
    replicas: s.integer({ minimum: 1, maximum: 50 }).default(2),
    image: s.string({ minLength: 1, maxLength: 512 }).optional(),
    resources: resources().optional(),
  }).default({}),
  artifactSecretRef: secretRef().optional(),
});

export const MODEL_VERSION_PHASES = ['Pending', 'Validated', 'Invalid', 'Promoting', 'Serving', 'Archived'] as const;
export const modelVersionStatusSchema = s.object({
  phase: s.enum(MODEL_VERSION_PHASES).optional(),
  observedGeneration: s.integer().optional(),
  conditions: conditions(),
  stage: s.enum(STAGES).optional().describe('The stage in effect (spec.stage is the wish).'),
  deployment: s.string().optional(),
  history: s.array(s.object({
    stage: s.enum(STAGES),
    time: s.time(),
    reason: s.string(),
    message: s.string().optional(),
  }), { maxItems: 50 }).optional(),
});

export const ModelVersionKind = defineKind({
  kind: 'ModelVersion',
  plural: 'modelversions',
  singular: 'modelversion',
  shortNames: ['mv'],
  description: 'One trained model artifact with its metrics and lineage; promotion to Production rolls the predictor Deployment.',
  spec: modelVersionSpecSchema,
  status: modelVersionStatusSchema,
  printerColumns: [
    { name: 'Model', type: 'string', jsonPath: '.spec.model' },
    { name: 'Version', type: 'integer', jsonPath: '.spec.version' },
    { name: 'Stage', type: 'string', jsonPath: '.status.stage' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'MAE', type: 'number', jsonPath: '.spec.metrics.mae' },
  ],
});

// ----------------------------------------------------------------------------- DriftCheck

const CRON_FIELD = '(\\\\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?(,([0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*';
export const CRON_PATTERN = `^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(${CRON_FIELD} +){4}${CRON_FIELD})$`;

export const driftCheckSpecSchema = s.object({
  model: modelName().immutable('spec.model'),
  schedule: s.string({ maxLength: 128 })
    .rule(`self.matches('${CRON_PATTERN}')`, "schedule must be a 5-field cron expression like '0 * * * *' or a macro like @daily")
    .optional().describe('Cron schedule (UTC); absent = run once.'),
  startingDeadlineSeconds: s.integer({ minimum: 1 }).optional()
    .describe('A run missed by more than this many seconds (controller down) is skipped, like CronJob.'),
  suspend: s.boolean().default(false),
  reference: s.object({
    modelVersion: s.string({ maxLength: 253 }).optional().describe("Default: the Production ModelVersion's training profile."),
    uri: artifactUri().optional(),
  }).rule('!(has(self.modelVersion) && has(self.uri))', 'reference takes modelVersion or uri, not both').default({}),
  current: s.object({
    uri: s.string({ maxLength: 2048 }).rule("self.matches('^(s3|file|https)://.+')", 'current.uri must start with s3://, file:// or https://').optional(),
    window: durationString('current.window').default('24h').describe('Logged predictions of this last window (when uri is absent).'),
    secretRef: secretRef().optional().describe('Postgres connection for the prediction log (key DATABASE_URL).'),
  }).default({}),
  tests: s.object({
    numerical: s.enum(['ks', 'psi', 'wasserstein'] as const).optional(),
    categorical: s.enum(['chi2', 'psi'] as const).optional(),
    threshold: s.number().rule('self > 0.0 && self <= 1.0', 'tests.threshold must be greater than 0 and at most 1').optional(),
  }).default({}),
  driftShare: s.number().default(0.5).rule('self >= 0.0 && self <= 1.0', 'driftShare must be between 0 and 1 (share of drifted columns that means dataset drift)'),
  onDrift: s.object({
    template: trainingRunTemplateSchema.describe('Spec of the TrainingRun created when drift is found.'),
    cooldown: durationString('onDrift.cooldown').default('24h').describe('At most one retraining per cooldown.'),
  }).optional(),
  artifacts: s.object({ root: artifactUri().optional(), secretRef: secretRef().optional() }).default({}),
  image: s.string({ minLength: 1, maxLength: 512 }).optional(),
  activeDeadlineSeconds: s.integer({ minimum: 30, maximum: 86400 }).default(1800),
}).rule('!has(self.onDrift) || self.onDrift.template.model == self.model', 'onDrift.template.model must equal spec.model');

export const driftCheckStatusSchema = s.object({
  phase: s.enum(['Scheduled', 'Running', 'Succeeded', 'Failed', 'Suspended'] as const).optional(),
  observedGeneration: s.integer().optional(),
  conditions: conditions(),
  activeJob: s.string().optional(),
  lastScheduleTime: s.time().optional(),
  lastRunTime: s.time().optional(),
  nextScheduleTime: s.time().optional(),
  lastResult: s.object({
    datasetDrift: s.boolean(),
    driftShare: s.number(),
    numberOfColumns: s.integer(),
    numberOfDriftedColumns: s.integer(),
    referenceVersion: s.string().optional(),
    reportUri: s.string().optional(),
    columns: s.array(s.object({
      name: s.string(),
      test: s.string(),
      score: s.number(),
      threshold: s.number().optional(),
      drifted: s.boolean(),
    }), { maxItems: 200 }).optional(),
  }).optional(),
  lastRetrainTime: s.time().optional(),
  lastRetrainRun: s.string().optional(),
});

export const DriftCheckKind = defineKind({
  kind: 'DriftCheck',
  plural: 'driftchecks',
  singular: 'driftcheck',
  shortNames: ['dc'],
  maxNameLength: 63,
  description: 'A (scheduled) data drift check of a model against its training profile; can trigger retraining.',
  spec: driftCheckSpecSchema,
  status: driftCheckStatusSchema,
  printerColumns: [
    { name: 'Model', type: 'string', jsonPath: '.spec.model' },
    { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Drift', type: 'boolean', jsonPath: '.status.lastResult.datasetDrift' },
    { name: 'Share', type: 'number', jsonPath: '.status.lastResult.driftShare' },
    { name: 'Last', type: 'date', jsonPath: '.status.lastRunTime' },
  ],
});

// ----------------------------------------------------------------------------- types

export type TrainingRunSpec = Infer<typeof trainingRunSpecSchema>;
export type TrainingRunStatus = Infer<typeof trainingRunStatusSchema>;
export type TrainingRun = CustomObject<TrainingRunSpec, TrainingRunStatus>;
export type ModelVersionSpec = Infer<typeof modelVersionSpecSchema>;
export type ModelVersionStatus = Infer<typeof modelVersionStatusSchema>;
export type ModelVersion = CustomObject<ModelVersionSpec, ModelVersionStatus>;
export type DriftCheckSpec = Infer<typeof driftCheckSpecSchema>;
export type DriftCheckStatus = Infer<typeof driftCheckStatusSchema>;
export type DriftCheck = CustomObject<DriftCheckSpec, DriftCheckStatus>;

export const KINDS = [TrainingRunKind, ModelVersionKind, DriftCheckKind] as const;
