/** The first registry schema: models, versions with stage, stage history, logs and drift. */
export const SQL_001_INIT = `
CREATE TABLE models (
  name         text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$'),
  -- Highest version number handed out; bumped under the row lock so numbering is gap-free
  -- and race-free per model.
  latest_version integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_versions (
  model        text NOT NULL REFERENCES models(name),
  version      integer NOT NULL CHECK (version > 0),
  artifact_uri text NOT NULL CHECK (artifact_uri <> ''),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  metrics      jsonb NOT NULL DEFAULT '{}',
  params       jsonb NOT NULL DEFAULT '{}',
  feature_spec_version text,
  lineage      jsonb NOT NULL DEFAULT '{}',
  stage        text NOT NULL DEFAULT 'Candidate' CHECK (stage IN ('Candidate', 'Production', 'Archived')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version)
);
-- At most one Production version per model, whatever the code above does.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model) WHERE stage = 'Production';

CREATE TABLE stage_transitions (
  id           bigserial PRIMARY KEY,
  model        text NOT NULL,
  version      integer NOT NULL,
  from_stage   text CHECK (from_stage IN ('Candidate', 'Production', 'Archived')),
  to_stage     text NOT NULL CHECK (to_stage IN ('Candidate', 'Production', 'Archived')),
  who          text NOT NULL,
  why          text NOT NULL DEFAULT '',
  at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  FOREIGN KEY (model, version) REFERENCES model_versions(model, version)
);
CREATE INDEX stage_transitions_model ON stage_transitions (model, id);

-- No foreign key to model_versions: a server may serve a model dir that was never registered,
-- and logging must never fail because of it.
CREATE TABLE prediction_log (
  id           bigserial PRIMARY KEY,
  request_id   text NOT NULL,
  model        text NOT NULL,
  version      integer NOT NULL,
  ts           timestamptz NOT NULL,
  features     jsonb NOT NULL,
  prediction   double precision NOT NULL
);
CREATE INDEX prediction_log_model_ts ON prediction_log (model, ts DESC);
CREATE INDEX prediction_log_request ON prediction_log (request_id);

CREATE TABLE feedback (
  request_id     text PRIMARY KEY,
  actual_seconds double precision NOT NULL CHECK (actual_seconds >= 0),
  ts             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drift_results (
  id            bigserial PRIMARY KEY,
  model         text NOT NULL,
  check_name    text NOT NULL,
  ts            timestamptz NOT NULL DEFAULT now(),
  dataset_drift boolean NOT NULL,
  drift_share   double precision NOT NULL CHECK (drift_share >= 0 AND drift_share <= 1),
  summary       jsonb NOT NULL DEFAULT '{}',
  report_uri    text
);
CREATE INDEX drift_results_model_ts ON drift_results (model, ts DESC);
`;
