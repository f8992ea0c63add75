/**
 * The registry contract, run once per driver: test/unit/registry.test.ts runs it on PGlite,
 * test/integration/registry.test.ts on a real Postgres. Same assertions, same SQL.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  InvalidRegistryInputError, InvalidStageTransitionError, PredictionLogWriter, Registry, UnknownModelError,
  UnknownVersionError, MIGRATIONS, migrate,
} from '../../src/registry/index.js';

export function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let counter = 0;
/** A model name no other test in the run uses. */
export function uniqueModel(tag: string): string {
  counter++;
  return `${tag}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
}

function register(reg: Registry, model: string, n: number) {
  return reg.registerVersion({ model, artifactUri: `file:///models/${model}/${n}`, sha256: sha(`${model}/${n}`), who: 'test' });
}

export function registryContract(driver: string, getRegistry: () => Registry): void {
  describe(`registry contract on ${driver}`, () => {
    it('numbers versions 1, 2, 3 per model and round-trips every field', async () => {
      const reg = getRegistry();
      const a = uniqueModel('a');
      const b = uniqueModel('b');
      const v1 = await reg.registerVersion({
        model: a, artifactUri: 's3://bucket/a/1', sha256: sha('a1'), metrics: { mae: 512.5, rmse: 700 },
        params: { trees: 200, depth: 6, loss: 'l2' }, featureSpecVersion: 'fs-3',
        lineage: { trainingRun: 'tr-1', datasetFingerprint: 'fp', image: 'etaops:1', extra: [1, 2] }, who: 'alice',
      });
      assert.equal(v1.version, 1);
      assert.equal(v1.stage, 'Candidate');
      assert.deepEqual(v1.metrics, { mae: 512.5, rmse: 700 });
      assert.deepEqual(v1.params, { trees: 200, depth: 6, loss: 'l2' });
      assert.deepEqual(v1.lineage, { trainingRun: 'tr-1', datasetFingerprint: 'fp', image: 'etaops:1', extra: [1, 2] });
      assert.equal(v1.featureSpecVersion, 'fs-3');
      assert.ok(v1.createdAt instanceof Date && Math.abs(v1.createdAt.getTime() - Date.now()) < 60_000);
      assert.equal((await register(reg, a, 2)).version, 2);
      assert.equal((await register(reg, b, 1)).version, 1, 'numbering is per model');
      assert.equal((await register(reg, a, 3)).version, 3);
      assert.deepEqual((await reg.listVersions(a)).map((v) => v.version), [3, 2, 1]);
      assert.deepEqual(await reg.getVersion(a, 1), v1);
      assert.ok((await reg.listModels()).includes(b));
    });

    it('gives concurrent registrations distinct consecutive numbers', async () => {
      const reg = getRegistry();
      const m = uniqueModel('race');
      const made = await Promise.all(Array.from({ length: 16 }, (_, i) => register(reg, m, i)));
      assert.deepEqual(made.map((v) => v.version).sort((x, y) => x - y), Array.from({ length: 16 }, (_, i) => i + 1));
    });

    it('returns the existing version when a training run registers the same artifact again', async () => {
      const reg = getRegistry();
      const m = uniqueModel('idem');
      const input = { model: m, artifactUri: 's3://b/m/1', sha256: sha('run-1'), lineage: { trainingRun: 'tr-abc' }, who: 'job' };
      const [a, b, c] = await Promise.all([reg.registerVersion(input), reg.registerVersion(input), reg.registerVersion(input)]);
      assert.deepEqual([a.version, b.version, c.version], [1, 1, 1]);
      assert.equal((await reg.listVersions(m)).length, 1);
      assert.equal((await reg.stageHistory(m)).length, 1);
      await assert.rejects(reg.registerVersion({ ...input, sha256: sha('other') }), /already registered .* different sha256/);
      // Another run, or no run at all, makes new versions as usual.
      assert.equal((await reg.registerVersion({ ...input, lineage: { trainingRun: 'tr-def' } })).version, 2);
      assert.equal((await reg.registerVersion({ ...input, lineage: {} })).version, 3);
    });

    it('rejects bad input with errors naming the field', async () => {
      const reg = getRegistry();
      await assert.rejects(reg.registerVersion({ model: 'Bad Name', artifactUri: 'file:///x', sha256: sha('x') }), (e: Error) => e instanceof InvalidRegistryInputError && /model name/.test(e.message));
      await assert.rejects(reg.registerVersion({ model: 'ok', artifactUri: 'file:///x', sha256: 'abc' }), (e: Error) => e instanceof InvalidRegistryInputError && /sha256/.test(e.message));
      await assert.rejects(reg.registerVersion({ model: 'ok', artifactUri: '', sha256: sha('x') }), /artifactUri/);
      await assert.rejects(reg.registerVersion({ model: 'ok', artifactUri: 'file:///x', sha256: sha('x'), metrics: [1] as unknown as Record<string, number> }), /metrics/);
      await assert.rejects(reg.recordFeedback({ requestId: 'r', actualSeconds: -5 }), /actualSeconds/);
      await assert.rejects(reg.liveAccuracy('ok', { windowSeconds: 0 }), /window/);
      await assert.rejects(reg.recordDriftResult({ model: 'ok', checkName: 'c', datasetDrift: true, driftShare: 1.5, summary: {} }), /driftShare/);
      // Injection-looking text is just data.
      const m = uniqueModel('inj');
      const v = await reg.registerVersion({ model: m, artifactUri: "file:///x'); DROP TABLE models; --", sha256: sha('i') });
      assert.equal((await reg.getVersion(m, v.version)).artifactUri, "file:///x'); DROP TABLE models; --");
    });

    it('reports unknown models and versions precisely', async () => {
      const reg = getRegistry();
      const m = uniqueModel('known');
      await register(reg, m, 1);
      await assert.rejects(reg.getVersion('never-registered', 1), UnknownModelError);
      await assert.rejects(reg.getVersion(m, 7), (e: Error) => e instanceof UnknownVersionError && e.message.includes('no version 7'));
      await assert.rejects(reg.listVersions('never-registered'), UnknownModelError);
      await assert.rejects(reg.getProduction('never-registered'), UnknownModelError);
      await assert.rejects(reg.transitionStage(m, 9, 'Production', { who: 't', why: 'x' }), UnknownVersionError);
      await assert.rejects(reg.transitionStage('never-registered', 1, 'Production', { who: 't', why: 'x' }), UnknownModelError);
      assert.equal(await reg.getProduction(m), undefined);
    });

    it('promotes, archives the previous Production in the same step and keeps the history', async () => {
      const reg = getRegistry();
      const m = uniqueModel('promo');
      for (let i = 1; i <= 3; i++) await register(reg, m, i);
      await reg.transitionStage(m, 1, 'Production', { who: 'alice', why: 'first model' });
      assert.equal((await reg.getProduction(m))?.version, 1);
      await reg.transitionStage(m, 2, 'Production', { who: 'bob', why: 'lower MAE' });
      assert.equal((await reg.getProduction(m))?.version, 2);
      assert.equal((await reg.getVersion(m, 1)).stage, 'Archived');
      // Rollback: an Archived version may return to Production.
      await reg.transitionStage(m, 1, 'Production', { who: 'carol', why: 'rollback' });
      assert.equal((await reg.getVersion(m, 2)).stage, 'Archived');
      await reg.transitionStage(m, 3, 'Archived', { who: 'dave', why: 'worse' });
      // Same stage again: no-op, no history row.
      await reg.transitionStage(m, 1, 'Production', { who: 'eve', why: 'again' });
      const history = (await reg.stageHistory(m)).map((t) => `${t.version}:${t.fromStage ?? '-'}>${t.toStage}:${t.who}:${t.why}`);
      assert.deepEqual(history, [
        '1:->Candidate:test:registered', '2:->Candidate:test:registered', '3:->Candidate:test:registered',
        '1:Candidate>Production:alice:first model',
        '1:Production>Archived:bob:replaced by version 2', '2:Candidate>Production:bob:lower MAE',
        '2:Production>Archived:carol:replaced by version 1', '1:Archived>Production:carol:rollback',
        '3:Candidate>Archived:dave:worse',
      ]);
      assert.deepEqual((await reg.stageHistory(m, 2)).map((t) => t.toStage), ['Candidate', 'Production', 'Archived']);
      assert.ok((await reg.stageHistory(m)).every((t) => t.at instanceof Date));
    });

    it('refuses invalid stage transitions and keeps the version as it was', async () => {
      const reg = getRegistry();
      const m = uniqueModel('bad-move');
      await register(reg, m, 1);
      await register(reg, m, 2);
      await reg.transitionStage(m, 1, 'Production', { who: 't', why: 'go' });
      await reg.transitionStage(m, 2, 'Archived', { who: 't', why: 'no' });
      await assert.rejects(reg.transitionStage(m, 1, 'Candidate', { who: 't', why: 'x' }), (e: Error) => e instanceof InvalidStageTransitionError && /from Production to Candidate/.test(e.message));
      await assert.rejects(reg.transitionStage(m, 2, 'Candidate', { who: 't', why: 'x' }), InvalidStageTransitionError);
      await assert.rejects(reg.transitionStage(m, 1, 'Staging' as never, { who: 't', why: 'x' }), /stage/);
      await assert.rejects(reg.transitionStage(m, 1, 'Archived', { who: '', why: 'x' }), /who/);
      assert.equal((await reg.getVersion(m, 1)).stage, 'Production');
    });

    it('keeps exactly one Production version under concurrent promotions', async () => {
      const reg = getRegistry();
      const m = uniqueModel('single');
      for (let i = 1; i <= 6; i++) await register(reg, m, i);
      const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((v) => reg.transitionStage(m, v, 'Production', { who: `w${v}`, why: 'race' })));
      assert.ok(results.every((r) => r.status === 'fulfilled'), 'promotions queue on the model lock instead of failing');
      const stages = (await reg.listVersions(m)).map((v) => v.stage);
      assert.equal(stages.filter((s) => s === 'Production').length, 1);
      assert.equal(stages.filter((s) => s === 'Archived').length, 5);
      // The partial unique index holds even against SQL that bypasses the API.
      await assert.rejects(reg.db.query(`UPDATE model_versions SET stage = 'Production' WHERE model = $1`, [m]), (e: { code?: string }) => e.code === '23505');
    });

    it('computes live MAE, RMSE and bias from logged predictions joined with feedback', async () => {
      const reg = getRegistry();
      const m = uniqueModel('live');
      const other = uniqueModel('live-other');
      const writer = new PredictionLogWriter(reg.db, { flushIntervalMs: 5 });
      const now = Date.now();
      const rows: [string, number, number | undefined][] = [['r1', 1000, 1100], ['r2', 2000, 1800], ['r3', 1500, 1500], ['r4', 1200, undefined]];
      const tag = `${m}:`;
      for (const [id, prediction] of rows) writer.enqueue({ requestId: tag + id, model: m, version: 1, features: { total_items: 2 }, prediction, ts: new Date(now - 1000) });
      // Outside the window, and another model's row with the same feedback id: both excluded.
      writer.enqueue({ requestId: tag + 'old', model: m, version: 1, features: {}, prediction: 9999, ts: new Date(now - 3_600_000) });
      writer.enqueue({ requestId: tag + 'r1', model: other, version: 1, features: {}, prediction: 0 });
      assert.equal(await writer.flush(10_000), true);
      for (const [id, , actual] of rows) if (actual !== undefined) await reg.recordFeedback({ requestId: tag + id, actualSeconds: actual });
      await reg.recordFeedback({ requestId: tag + 'old', actualSeconds: 0 });
      const acc = await reg.liveAccuracy(m, { windowSeconds: 600 });
      // errors: -100, +200, 0 -> MAE 100, RMSE sqrt((10000+40000)/3), bias 100/3
      assert.equal(acc.count, 3);
      assert.ok(Math.abs((acc.mae ?? NaN) - 100) < 1e-9);
      assert.ok(Math.abs((acc.rmse ?? NaN) - Math.sqrt(50000 / 3)) < 1e-9);
      assert.ok(Math.abs((acc.bias ?? NaN) - 100 / 3) < 1e-9);
      // Feedback is replaced, not duplicated.
      await reg.recordFeedback({ requestId: tag + 'r1', actualSeconds: 1000 });
      assert.ok(Math.abs(((await reg.liveAccuracy(m, { windowSeconds: 600 })).mae ?? NaN) - 200 / 3) < 1e-9);
      const empty = await reg.liveAccuracy(uniqueModel('none'), { windowSeconds: 600 });
      assert.deepEqual([empty.count, empty.mae, empty.rmse, empty.bias], [0, null, null, null]);
      await writer.close();
    });

    it('returns recent predictions newest first, by window and limit', async () => {
      const reg = getRegistry();
      const m = uniqueModel('recent');
      const writer = new PredictionLogWriter(reg.db, { flushIntervalMs: 5 });
      const now = Date.now();
      for (let i = 0; i < 5; i++) writer.enqueue({ requestId: `${m}-${i}`, model: m, version: 2, features: { subtotal: i * 100, store_primary_category: 'thai' }, prediction: 1000 + i, ts: new Date(now - i * 60_000) });
      await writer.close();
      const recent = await reg.recentPredictions(m, { limit: 3 });
      assert.deepEqual(recent.map((p) => p.prediction), [1000, 1001, 1002]);
      assert.deepEqual(recent[1].features, { subtotal: 100, store_primary_category: 'thai' });
      assert.equal(recent[0].version, 2);
      assert.deepEqual((await reg.recentPredictions(m, { windowSeconds: 150 })).map((p) => p.requestId), [`${m}-0`, `${m}-1`, `${m}-2`]);
      assert.equal((await reg.recentPredictions(m, { version: 1 })).length, 0);
    });

    it('prunes logged predictions and feedback past the retention window', async () => {
      const reg = getRegistry();
      const m = uniqueModel('prune');
      const writer = new PredictionLogWriter(reg.db, { flushIntervalMs: 5 });
      const old = new Date(Date.now() - 40 * 86_400_000);
      for (let i = 0; i < 5; i++) writer.enqueue({ requestId: `${m}-old-${i}`, model: m, version: 1, features: {}, prediction: 1, ts: old });
      for (let i = 0; i < 3; i++) writer.enqueue({ requestId: `${m}-new-${i}`, model: m, version: 1, features: {}, prediction: 1 });
      await writer.close();
      await reg.recordFeedback({ requestId: `${m}-old-0`, actualSeconds: 1, ts: old });
      await reg.recordFeedback({ requestId: `${m}-new-0`, actualSeconds: 1 });
      const removed = await reg.pruneLogs({ olderThanSeconds: 30 * 86_400, chunk: 2 });
      assert.ok(removed.predictions >= 5 && removed.feedback >= 1, JSON.stringify(removed));
      assert.deepEqual((await reg.recentPredictions(m)).map((p) => p.requestId).sort(), [`${m}-new-0`, `${m}-new-1`, `${m}-new-2`]);
      assert.equal((await reg.liveAccuracy(m, { windowSeconds: 3600 })).count, 1);
    });

    it('stores drift results and lists them newest first', async () => {
      const reg = getRegistry();
      const m = uniqueModel('drift');
      const t0 = new Date(Date.now() - 60_000);
      const id1 = await reg.recordDriftResult({ model: m, checkName: 'nightly', ts: t0, datasetDrift: false, driftShare: 0.1, summary: { columns: { subtotal: { drifted: false } } } });
      const id2 = await reg.recordDriftResult({ model: m, checkName: 'nightly', datasetDrift: true, driftShare: 0.6, summary: { columns: {} }, reportUri: 'file:///r.html' });
      assert.notEqual(id1, id2);
      const list = await reg.driftResults(m);
      assert.deepEqual(list.map((d) => [d.id, d.datasetDrift, d.driftShare, d.reportUri]), [[id2, true, 0.6, 'file:///r.html'], [id1, false, 0.1, null]]);
      assert.deepEqual(list[1].summary, { columns: { subtotal: { drifted: false } } });
      assert.equal(list[1].ts.getTime(), t0.getTime());
    });

    it('applies migrations once: a second run changes nothing, an edited migration is refused', async () => {
      const reg = getRegistry();
      assert.deepEqual((await migrate(reg.db)).applied, []);
      const before = await reg.db.query<{ n: number }>('SELECT count(*)::integer AS n FROM schema_migrations');
      assert.equal(before.rows[0].n, MIGRATIONS.length);
      await assert.rejects(migrate(reg.db, [{ version: 1, name: '001_init', sql: 'SELECT 1' }]), /changed after it was applied/);
    });
  });
}
