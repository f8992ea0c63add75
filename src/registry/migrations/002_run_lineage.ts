/**
 * Finds a version by the training run that produced it, so a retried training Job (or a
 * controller replaying a finished run after a restart) gets its existing version back instead
 * of registering a second one.
 */
export const SQL_002_RUN_LINEAGE = `
CREATE INDEX model_versions_training_run ON model_versions (model, (lineage->>'trainingRun'))
  WHERE lineage ? 'trainingRun';
CREATE INDEX feedback_ts ON feedback (ts);
`;
