/**
 * Where the served model comes from: a local model directory, an artifact URI (s3:// or
 * file://, sha256-verified on download), or the registry's Production version of a model
 * (polled, so promoting a new version reaches running servers without a restart).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPredictor } from '../ml/model/predictor.js';
import { readModelDir } from '../ml/model/meta.js';
import { getModelDir } from '../storage/index.js';
import { UnknownModelError, type ModelVersion, type Registry } from '../registry/index.js';
import type { LoadedModel } from './serving-model.js';

export interface ModelSource {
  /** Human description for logs (no credentials). */
  readonly description: string;
  load(): Promise<LoadedModel>;
  /**
   * A cheap key of what load() would give now (registry: version + sha256); a server polls it
   * and reloads when it changes. Absent for sources that change only on an explicit reload.
   */
  currentKey?(): Promise<string>;
  /** Removes downloaded copies. */
  dispose?(): Promise<void>;
}

/** Key of a loaded model, comparable with ModelSource.currentKey(). */
export function modelKey(m: { version: string; sha256: string }): string {
  return `${m.version}:${m.sha256}`;
}

/**
 * onnxruntime intra-op threads for serving, when it scores (a model the tree engine does not
 * take). One: the pool's spinning threads would take CPU from the event loop that parses
 * requests (measured in test/bench/serve); for 1,000-row batches two threads measured no clear
 * gain on two cores either (105k-124k rows/s against 105k-113k with one).
 */
const SERVING_THREADS = 1;

async function loadDir(dir: string, source: string, version?: number): Promise<LoadedModel> {
  const files = await readModelDir(dir);
  const predictor = await loadPredictor(files, { threads: SERVING_THREADS, treeEngine: true });
  return {
    name: predictor.meta.modelName,
    version: version === undefined ? 'local' : String(version),
    sha256: predictor.meta.onnx.sha256,
    source,
    registryVersion: version,
    predictor,
    files,
  };
}

/** A model directory on local disk (model.onnx + model.json), re-read on every reload. */
export function modelDirSource(dir: string): ModelSource {
  const abs = path.resolve(dir);
  return { description: `model directory ${abs}`, load: () => loadDir(abs, abs) };
}

function strippedUri(uri: string): string {
  // A URI may carry credentials in its user-info part; never show them.
  return uri.replace(/\/\/[^/@]*@/, '//');
}

/**
 * A model directory at an artifact URI, downloaded into a private temporary folder.
 * `pinned` names the registry version the artifact is (the controller gives its predictor pods
 * ETAOPS_MODEL_VERSION=model@N): it is reported (etaops_model_info, logged predictions) instead
 * of 'local' when the model's own name matches.
 */
export function modelUriSource(uri: string, pinned?: { model: string; version: number }): ModelSource {
  let workDir: string | undefined;
  return {
    description: `model artifact ${strippedUri(uri)}`,
    async load() {
      workDir ??= await mkdtemp(path.join(tmpdir(), 'etaops-serve-'));
      const dir = await mkdtemp(path.join(workDir, 'm-'));
      await getModelDir(uri, dir);
      const loaded = await loadDir(dir, strippedUri(uri));
      if (pinned && pinned.model === loaded.name) return { ...loaded, version: String(pinned.version), registryVersion: pinned.version };
      return loaded;
    },
    async dispose() {
      if (workDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}

export class NoProductionModelError extends Error {
  constructor(readonly model: string) {
    super(`model '${model}' has no Production version in the registry`);
    this.name = 'NoProductionModelError';
  }
}

/** The Production version of `model`, or undefined when there is none (or no such model yet). */
export async function productionVersion(registry: Registry, model: string): Promise<ModelVersion | undefined> {
  try {
    return await registry.getProduction(model);
  } catch (err) {
    if (err instanceof UnknownModelError) return undefined;
    throw err;
  }
}

/** The Production version of `model` in the registry; artifacts are verified against its sha256. */
export function registrySource(registry: Registry, model: string): ModelSource {
  let workDir: string | undefined;
  return {
    description: `${model}@production from the registry`,
    async currentKey() {
      const v = await productionVersion(registry, model);
      if (!v) throw new NoProductionModelError(model);
      return modelKey({ version: String(v.version), sha256: v.sha256 });
    },
    async load() {
      const v = await productionVersion(registry, model);
      if (!v) throw new NoProductionModelError(model);
      workDir ??= await mkdtemp(path.join(tmpdir(), 'etaops-serve-'));
      const dir = await mkdtemp(path.join(workDir, `v${v.version}-`));
      await getModelDir(v.artifactUri, dir, { 'model.onnx': v.sha256 });
      const loaded = await loadDir(dir, `${model} v${v.version} (${strippedUri(v.artifactUri)})`, v.version);
      // The registry's name is the one clients, the prediction log and live accuracy know the
      // model by; model.json's modelName is whatever the trainer was told.
      loaded.name = model;
      if (loaded.sha256 !== v.sha256) {
        await loaded.predictor.close();
        throw new Error(`model '${model}' v${v.version}: model.json names sha256 ${loaded.sha256}, the registry ${v.sha256}`);
      }
      return loaded;
    },
    async dispose() {
      if (workDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** `model@N` (ETAOPS_MODEL_VERSION) → {model, version}; anything else → undefined. */
export function parsePinnedVersion(text: string | undefined): { model: string; version: number } | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)@([1-9][0-9]{0,8})$/.exec(text ?? '');
  return m ? { model: m[1], version: Number(m[2]) } : undefined;
}
