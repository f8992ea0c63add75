/**
 * The security settings every pod the operator creates (training and drift Jobs, predictors)
 * runs with: the restricted Pod Security standard, a read-only root filesystem, and a writable
 * /tmp (an emptyDir), because `etaops train`, `etaops drift` and `etaops serve --model-uri`
 * stage models and data there. Without it they fail with EROFS on a real node.
 */
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';

const SCRATCH_VOLUME = 'tmp';
/** Bounded so a runaway download cannot fill the node's disk. */
const SCRATCH_SIZE_LIMIT = '2Gi';
const NON_ROOT_UID = 65532;

/** Pod-level fields: non-root, RuntimeDefault seccomp, the scratch volume. */
export function restrictedPodFields(): Pick<V1PodSpec, 'securityContext' | 'volumes'> {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: NON_ROOT_UID, seccompProfile: { type: 'RuntimeDefault' } },
    volumes: [{ name: SCRATCH_VOLUME, emptyDir: { sizeLimit: SCRATCH_SIZE_LIMIT } }],
  };
}

/** Container-level fields: no privilege escalation, no capabilities, read-only root, /tmp mounted. */
export function restrictedContainerFields(): Pick<V1Container, 'securityContext' | 'volumeMounts'> {
  return {
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    volumeMounts: [{ name: SCRATCH_VOLUME, mountPath: '/tmp' }],
  };
}
