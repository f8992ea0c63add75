import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOnnxAgainstSpec, onnxInputs } from '../../src/controller/onnx-inputs.js';
import { tinyOnnx } from '../integration/controller-helpers.js';

test('onnxInputs reads the input name and shape of an exported model', () => {
  const inputs = onnxInputs(tinyOnnx(7));
  assert.equal(inputs.length, 1);
  assert.equal(inputs[0].name, 'features');
  assert.equal(inputs[0].dims.at(-1), 7);
});

test('checkOnnxAgainstSpec accepts a matching model.json and explains mismatches', () => {
  const onnx = tinyOnnx(3);
  const meta = (names: string[], inputName = 'features') => ({ featureSpec: { names }, onnx: { inputName } });
  assert.equal(checkOnnxAgainstSpec(onnx, meta(['a', 'b', 'c'])), undefined);
  assert.match(checkOnnxAgainstSpec(onnx, meta(['a', 'b']))!, /takes 3 features but model.json's feature spec has 2/);
  assert.match(checkOnnxAgainstSpec(onnx, meta(['a', 'b', 'c'], 'x'))!, /has no input 'x' \(inputs: features\)/);
  assert.match(checkOnnxAgainstSpec(onnx, {})!, /no featureSpec.names/);
  assert.match(checkOnnxAgainstSpec(new Uint8Array([0x0a, 0xff]), meta(['a']))!, /not a readable ONNX model|has no input/);
});
