/** The etaops API: kinds, their TS types and CRDs. */
export * from './crd.js';
export * from './v1alpha1.js';
export { s, type Infer, type Schema } from './schema.js';
