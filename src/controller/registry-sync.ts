/**
 * The controller's link to the model registry (src/registry), optional: with a registry,
 * version numbers come from it (assigned atomically; registration is idempotent per training
 * run, so a restarted controller gets the same number back) and every stage change a
 * ModelVersion goes through is recorded there too (who: the controller, why: the reason).
 * Without one (no ETAOPS_DATABASE_URL), versions are numbered from the cluster's ModelVersions.
 */

export interface RegistryLink {
  /** Registers (or finds, for the same run and sha256) a version; returns its number. */
  register(input: { model: string; artifactUri: string; sha256: string; metrics?: Record<string, number>; trainingRun: string; datasetFingerprint?: string; image?: string }): Promise<number>;
  /** Records a stage change; unknown versions (registered elsewhere) are reported, not fatal. */
  transition(model: string, version: number, stage: 'Candidate' | 'Production' | 'Archived', why: string): Promise<void>;
  close(): Promise<void>;
}

export const CONTROLLER_IDENTITY = 'etaops-controller';

/** Opens src/registry at `url` (postgres://..., pglite:///dir, memory://); loaded lazily. */
export async function openRegistryLink(url: string, log: (m: string) => void = () => {}): Promise<RegistryLink> {
  const mod = await import('../registry/index.js');
  return linkRegistry(await mod.Registry.open(url), log);
}

type RegistryApi = Pick<import('../registry/index.js').Registry, 'registerVersion' | 'transitionStage' | 'close'>;

/** A RegistryLink over an open Registry. */
export function linkRegistry(reg: RegistryApi, log: (m: string) => void = () => {}): RegistryLink {
  return {
    async register(i) {
      const v = await reg.registerVersion({
        model: i.model, artifactUri: i.artifactUri, sha256: i.sha256, metrics: i.metrics,
        lineage: { trainingRun: i.trainingRun, datasetFingerprint: i.datasetFingerprint, image: i.image },
        who: CONTROLLER_IDENTITY,
      });
      return v.version;
    },
    async transition(model, version, stage, why) {
      try {
        await reg.transitionStage(model, version, stage, { who: CONTROLLER_IDENTITY, why });
      } catch (e) {
        const name = (e as Error).name;
        if (name === 'UnknownModelError' || name === 'UnknownVersionError' || name === 'InvalidStageTransitionError') {
          log(`registry: ${model} v${version} → ${stage} not recorded: ${(e as Error).message}`);
          return;
        }
        throw e;
      }
    },
    close: () => reg.close(),
  };
}
