/**
 * A predictor started by the controller serves `--model-uri` with ETAOPS_MODEL_VERSION=model@N:
 * /metrics (etaops_model_info) and the prediction log report version N, not 'local'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelUriSource, parsePinnedVersion } from '../../src/server/model-source.js';
import { SAMPLE_MISSING, trainedModelDir } from './server-fixtures.js';

test('parsePinnedVersion: NAME@N only', () => {
  assert.deepEqual(parsePinnedVersion('delivery-eta@12'), { model: 'delivery-eta', version: 12 });
  for (const bad of [undefined, '', 'delivery-eta', 'delivery-eta@0', 'delivery-eta@-1', 'delivery-eta@1.5', '@3', 'a@b@3', 'delivery-eta@production']) {
    assert.equal(parsePinnedVersion(bad), undefined, String(bad));
  }
});

const modelDir = trainedModelDir();

test('modelUriSource reports the pinned version when the model name matches, else local', { skip: modelDir ? false : SAMPLE_MISSING }, async () => {
  const uri = `file://${await modelDir!}`;
  const pinned = modelUriSource(uri, { model: 'delivery-eta', version: 7 });
  const other = modelUriSource(uri, { model: 'another-model', version: 7 });
  const plain = modelUriSource(uri);
  try {
    const a = await pinned.load();
    assert.equal(a.version, '7');
    assert.equal(a.registryVersion, 7);
    assert.equal((await other.load()).version, 'local', 'a version of another model is not this artifact');
    const c = await plain.load();
    assert.equal(c.version, 'local');
    assert.equal(c.registryVersion, undefined);
  } finally {
    await Promise.all([pinned, other, plain].map((s) => s.dispose?.()));
  }
});
