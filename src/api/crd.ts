/**
 * Turns a kind's definition (spec + status schemas, names, printer columns) into a
 * CustomResourceDefinition object, and types the resulting custom objects.
 */
import { s, type AnySchema, type Infer, type JSONSchemaProps } from './schema.js';

export const GROUP = 'etaops.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindDefinition<Spec extends AnySchema, Status extends AnySchema> {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: Spec;
  status: Status;
  printerColumns: PrinterColumn[];
  /**
   * Longest metadata.name accepted. The names of TrainingRuns and DriftChecks become label
   * values on their Jobs and pods, and a label value holds at most 63 characters: a longer name
   * would be accepted here and then fail every Job create. A CEL rule on the root says so at
   * apply time.
   */
  maxNameLength?: number;
}

/** The subset of ObjectMeta the controller reads and writes. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
}

export interface CustomObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export type ObjectOfKind<D> = D extends KindDefinition<infer Sp, infer St> ? CustomObject<Infer<Sp>, Infer<St>> : never;

export function defineKind<Spec extends AnySchema, Status extends AnySchema>(d: KindDefinition<Spec, Status>): KindDefinition<Spec, Status> {
  return d;
}

/** The CRD the API server gets for a kind. */
export function toCRD(d: KindDefinition<AnySchema, AnySchema>): JSONSchemaProps {
  const root = s.object({ spec: d.spec, status: d.status.optional() }).toOpenAPI();
  const schema: JSONSchemaProps = {
    description: d.description,
    ...root,
    ...(d.maxNameLength ? {
      'x-kubernetes-validations': [{
        rule: `self.metadata.name.size() <= ${d.maxNameLength}`,
        message: `metadata.name must be at most ${d.maxNameLength} characters: it becomes a label value on the ${d.kind}'s Jobs and pods`,
      }],
    } : {}),
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion of this object.' },
      kind: { type: 'string', description: 'Kind of this object.' },
      metadata: { type: 'object' },
      ...(root.properties as Record<string, unknown>),
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${d.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: d.kind,
        listKind: `${d.kind}List`,
        plural: d.plural,
        singular: d.singular,
        shortNames: d.shortNames,
        categories: ['etaops'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...d.printerColumns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: schema },
        },
      ],
    },
  };
}
