// The pieces rule-set modules write their outcome schemas from (TypeBox): JSON Schema that is also the outcome's type.
import { Type, type TLiteral, type TNull, type TSchema, type TString, type TUnion } from '@sinclair/typebox';

/** One of these values, as a union of constants (JSON Schema: anyOf const). */
export function oneOf<const V extends readonly (string | number)[]>(values: V, description?: string): TUnion<TLiteral<V[number]>[]> {
  return Type.Union(
    values.map((value) => Type.Literal(value)),
    description === undefined ? {} : { description },
  );
}

/** The schema, or null. */
export const orNull = <T extends TSchema>(schema: T, description: string): TUnion<[T, TNull]> => Type.Union([schema, Type.Null()], { description });

/** A calendar date, YYYY-MM-DD. */
export const date = (description = 'A calendar date, YYYY-MM-DD'): TString => Type.String({ format: 'date', description });

export const dateOrNull = (description: string): TUnion<[TString, TNull]> => orNull(Type.String({ format: 'date' }), description);
export const stringOrNull = (description: string): TUnion<[TString, TNull]> => orNull(Type.String(), description);
export const strings = (description?: string) => Type.Array(Type.String(), description === undefined ? {} : { description });

/** An outcome: exactly these fields, each always present. */
export const outcome = <P extends Parameters<typeof Type.Object>[0]>(properties: P) => Type.Object(properties, { additionalProperties: false });
