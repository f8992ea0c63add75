/**
 * A small schema DSL: one definition yields both the TypeScript type (`Infer<typeof X>`) and the
 * OpenAPI v3 schema (with defaults, enums, bounds and CEL rules) that goes into a CRD.
 *
 * Each node carries its TS type as a phantom parameter and whether the field is optional in its
 * parent object. A field with a default is optional in the TS type: objects built in code (a
 * TrainingRun created from a DriftCheck template, a unit-test fixture) may leave it out, and the
 * API server fills it in. Readers use the same defaults from `DEFAULTS` below via `?? `.
 */

export type JSONSchemaProps = Record<string, unknown>;

export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath of the field the error points at (e.g. `.uri`). */
  fieldPath?: string;
  /** Evaluate transition rules even when the old value is absent (`oldSelf` is then optional). */
  optionalOldSelf?: boolean;
}

export class Schema<T, Opt extends boolean = false> {
  /** Phantom: the TypeScript type described. */
  declare readonly _type: T;
  declare readonly _opt: Opt;

  constructor(
    private readonly build: () => JSONSchemaProps,
    readonly isOptional: Opt,
    private readonly extra: JSONSchemaProps = {},
    private readonly rules: readonly CelRule[] = [],
  ) {}

  private clone<O extends boolean>(opt: O, extra: JSONSchemaProps, rules = this.rules): Schema<T, O> {
    return new Schema<T, O>(this.build, opt, { ...this.extra, ...extra }, rules);
  }

  /** The field may be absent. */
  optional(): Schema<T, true> {
    return this.clone(true, {});
  }

  /** The API server fills in `value` when the field is absent (so it is optional on input). */
  default(value: T): Schema<T, true> {
    return this.clone(true, { default: value });
  }

  describe(text: string): Schema<T, Opt> {
    return this.clone(this.isOptional, { description: text });
  }

  /** A CEL rule (`x-kubernetes-validations`) whose message is what the person sees. */
  rule(rule: string, message: string, opts: Omit<CelRule, 'rule' | 'message'> = {}): Schema<T, Opt> {
    return this.clone(this.isOptional, {}, [...this.rules, { rule, message, ...opts }]);
  }

  /** The value cannot change once set. */
  immutable(what: string): Schema<T, Opt> {
    return this.rule('self == oldSelf', `${what} is immutable: create a new object instead`);
  }

  /** Raw OpenAPI keywords (escape hatch). */
  with(extra: JSONSchemaProps): Schema<T, Opt> {
    return this.clone(this.isOptional, extra);
  }

  toOpenAPI(): JSONSchemaProps {
    const out: JSONSchemaProps = { ...this.build(), ...this.extra };
    if (this.rules.length > 0) out['x-kubernetes-validations'] = this.rules.map((r) => ({ ...r }));
    return out;
  }
}

export type AnySchema = Schema<unknown, boolean>;
export type Infer<S> = S extends Schema<infer T, boolean> ? T : never;

type Shape = Record<string, Schema<unknown, boolean>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K]['isOptional'] extends true ? never : K }[keyof S];
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K]['isOptional'] extends true ? K : never }[keyof S];
export type ObjectOf<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

interface StringOpts {
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
}
interface NumberOpts {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
}

function clean(o: object): JSONSchemaProps {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export const s = {
  string(opts: StringOpts = {}): Schema<string> {
    return new Schema(() => ({ type: 'string', ...clean(opts) }), false);
  },
  integer(opts: NumberOpts = {}): Schema<number> {
    return new Schema(() => ({ type: 'integer', format: 'int64', ...clean(opts) }), false);
  },
  number(opts: NumberOpts = {}): Schema<number> {
    return new Schema(() => ({ type: 'number', ...clean(opts) }), false);
  },
  boolean(): Schema<boolean> {
    return new Schema(() => ({ type: 'boolean' }), false);
  },
  enum<const V extends readonly string[]>(values: V): Schema<V[number]> {
    return new Schema(() => ({ type: 'string', enum: [...values] }), false);
  },
  /** RFC 3339 time as written by the API server (a string in TS). */
  time(): Schema<string> {
    return new Schema(() => ({ type: 'string', format: 'date-time' }), false);
  },
  array<I extends AnySchema>(item: I, opts: { maxItems?: number; minItems?: number; listType?: 'atomic' | 'set' | 'map'; listMapKeys?: string[] } = {}): Schema<Infer<I>[]> {
    return new Schema(() => clean({
      type: 'array',
      items: item.toOpenAPI(),
      maxItems: opts.maxItems,
      minItems: opts.minItems,
      'x-kubernetes-list-type': opts.listType,
      'x-kubernetes-list-map-keys': opts.listMapKeys,
    }), false);
  },
  /** A string-keyed map (`additionalProperties`). */
  record<V extends AnySchema>(value: V, opts: { maxProperties?: number } = {}): Schema<Record<string, Infer<V>>> {
    return new Schema(() => clean({ type: 'object', additionalProperties: value.toOpenAPI(), maxProperties: opts.maxProperties }), false);
  },
  object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
    return new Schema(() => {
      const properties: Record<string, JSONSchemaProps> = {};
      const required: string[] = [];
      for (const [k, v] of Object.entries(shape)) {
        properties[k] = v.toOpenAPI();
        if (!v.isOptional) required.push(k);
      }
      return clean({ type: 'object', properties, required: required.length ? required : undefined });
    }, false);
  },
  /** Free-form JSON kept as is by the API server. */
  unknown(): Schema<Record<string, unknown>> {
    return new Schema(() => ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }), false);
  },
};
