// What a rule file's parameter may hold: each declares a type, and the rule-file schema holds its value to it.
//
// A parameter decides cases, so a typo in one must be refused, not obeyed: "two years" for a number of months made a
// 2015 incident bar a 2025 referral, and -5 ignored every incident. The bounds are generous (a window of ten years,
// sixty working days), wide enough for any policy change and narrow enough that a slip of the keyboard falls outside.
import { caseFactsSchema } from '../facts/schema';

/** Whole numbers, by what they count, with the bounds a value must fall within. */
export const NUMBER_TYPES = {
  months: { minimum: 1, maximum: 120, noun: 'a number of months' },
  'working-days': { minimum: 0, maximum: 60, noun: 'a number of working days' },
  days: { minimum: 0, maximum: 365, noun: 'a number of calendar days' },
  count: { minimum: 1, maximum: 100, noun: 'a count' },
} as const;

/**
 * The people a procedure names as deciding, approving or passing a case on (seed 001, Centrelink Table 5 and Child
 * Support Table 3; seed 002, whose Case Managers do what 001's PSSOs do and whose National Manager of Quality and
 * Customer Complaints approves the review of a restricted service): an approver parameter must be one of them, spelled
 * as here.
 */
export const ROLES = [
  'PS Service Officer (PSSO)',
  'PS Case Manager',
  'PS Team Leader',
  'PS Service Support Manager (SSM)',
  'PS Service Manager',
  'Approvers',
  'National Manager of Quality and Customer Complaints',
] as const;

export const PARAMETER_TYPES = [...Object.keys(NUMBER_TYPES), 'date', 'role', 'roles', 'role-by-program', 'values'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

interface SchemaNode {
  type?: string;
  enum?: readonly unknown[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/**
 * Every fact a list of values may be compared with, and its allowed values where the vocabulary lists them: plain
 * facts by path (`referral.source`), fields of a list's items with `[]` (`customer.incidents[].kind`).
 */
export function valueFacts(node: SchemaNode = caseFactsSchema, prefix = ''): Map<string, readonly unknown[] | undefined> {
  const facts = new Map<string, readonly unknown[] | undefined>();
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const at = prefix ? `${prefix}.${key}` : key;
    if (child.properties) for (const [path, values] of valueFacts(child, at)) facts.set(path, values);
    else if (child.items?.properties) for (const [path, values] of valueFacts(child.items, `${at}[]`)) facts.set(path, values);
    else if (child.enum || child.type === 'string') facts.set(at, child.enum);
  }
  return facts;
}

const VALUE_FACTS = valueFacts();
const PROGRAMS = (caseFactsSchema.properties.program as { enum: readonly string[] }).enum;

/** The schema of one parameter: its value held to its declared type (used inside ruleFileSchema). */
export function parameterSchema(sources: object, interpretation: object): object {
  const when = (type: string, value: object, extra: object = {}) => ({
    if: { properties: { type: { const: type } }, required: ['type'] },
    then: { properties: { value, ...extra } },
  });
  return {
    type: 'object',
    additionalProperties: false,
    required: ['value', 'type', 'description', 'sources'],
    properties: {
      value: {},
      type: { enum: PARAMETER_TYPES },
      of: { enum: [...VALUE_FACTS.keys()] },
      description: { type: 'string', minLength: 1 },
      interpretation,
      sources,
    },
    allOf: [
      ...Object.entries(NUMBER_TYPES).map(([type, { minimum, maximum }]) => when(type, { type: 'integer', minimum, maximum })),
      when('date', { type: 'string', format: 'date' }),
      when('role', { enum: ROLES }),
      when('roles', { type: 'array', minItems: 1, items: { enum: ROLES } }),
      when('role-by-program', {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: Object.fromEntries(PROGRAMS.map((p) => [p, { enum: ROLES }])),
      }),
      {
        if: { properties: { type: { const: 'values' } }, required: ['type'] },
        then: {
          required: ['of'],
          properties: { of: { type: 'string' }, value: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 } } },
        },
      },
      // A list of values compared with an enumerated fact holds only values that fact can have.
      ...[...VALUE_FACTS].flatMap(([path, values]) =>
        values
          ? [
              {
                if: { properties: { type: { const: 'values' }, of: { const: path } }, required: ['type', 'of'] },
                then: { properties: { value: { items: { enum: values } } } },
              },
            ]
          : [],
      ),
    ],
  };
}

export interface DeclaredParameter {
  value: unknown;
  type?: unknown;
  of?: unknown;
}

const quoted = (values: readonly unknown[]): string => values.map((v) => JSON.stringify(v)).join(', ');

/**
 * What is wrong with a parameter's value, in the words a policy officer can act on, or undefined when it fits its
 * type. The schema refuses; this says why, once per parameter, rather than as the schema's several keyword errors.
 */
export function parameterProblem(name: string, parameter: DeclaredParameter): { at: 'type' | 'of' | 'value'; message: string } | undefined {
  const { value, type, of } = parameter;
  const at = (where: 'type' | 'of' | 'value', message: string | undefined) => (message === undefined ? undefined : { at: where, message });
  if (typeof type !== 'string' || !(PARAMETER_TYPES as readonly string[]).includes(type)) {
    return at('type', `parameter "${name}" needs a "type": one of ${quoted(PARAMETER_TYPES)}${type === undefined ? '' : ` (it is ${JSON.stringify(type)})`}`);
  }
  if (type === 'values' && (typeof of !== 'string' || !VALUE_FACTS.has(of))) {
    return at(
      'of',
      `parameter "${name}" is a list of values: say which fact they are values of with "of", one of ${quoted([...VALUE_FACTS.keys()])}${of === undefined ? '' : ` (it is ${JSON.stringify(of)})`}`,
    );
  }
  return at('value', valueProblem(name, value, type, of as string));
}

/** What is wrong with a value of a known type (and, for a list of values, a known fact), or undefined. */
function valueProblem(name: string, value: unknown, type: ParameterType, of: string): string | undefined {
  const got = `(it is ${JSON.stringify(value)})`;
  if (type in NUMBER_TYPES) {
    const { minimum, maximum, noun } = NUMBER_TYPES[type as keyof typeof NUMBER_TYPES];
    const ok = typeof value === 'number' && Number.isInteger(value) && value >= minimum && value <= maximum;
    return ok ? undefined : `parameter "${name}" is ${noun}: write a whole number from ${minimum} to ${maximum}, without quotes ${got}`;
  }
  if (type === 'date')
    return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? undefined : `parameter "${name}" is a date: write it "YYYY-MM-DD" ${got}`;
  const notRole = (v: unknown) => !(ROLES as readonly unknown[]).includes(v);
  if (type === 'role') return notRole(value) ? `parameter "${name}" is a role: write one of ${quoted(ROLES)} ${got}` : undefined;
  if (type === 'roles') {
    const wrong = Array.isArray(value) && value.length > 0 ? value.filter(notRole) : [value];
    return wrong.length > 0 ? `parameter "${name}" is a list of roles, each one of ${quoted(ROLES)}: ${quoted(wrong)} is not` : undefined;
  }
  if (type === 'role-by-program') {
    const ok =
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).length > 0 &&
      Object.entries(value).every(([program, role]) => PROGRAMS.includes(program) && !notRole(role));
    return ok
      ? undefined
      : `parameter "${name}" is a role for each program: { ${PROGRAMS.map((p) => `"${p}": <role>`).join(', ')} }, each role one of ${quoted(ROLES)} ${got}`;
  }
  // values, of a fact the vocabulary has (parameterProblem checked it)
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v.length === 0))
    return `parameter "${name}" is a list of values of ${of}: write a list of one or more texts ${got}`;
  if (new Set(value).size !== value.length) return `parameter "${name}" lists a value twice ${got}`;
  const allowed = VALUE_FACTS.get(of);
  const unknown = allowed ? value.filter((v) => !allowed.includes(v)) : [];
  return unknown.length > 0 ? `parameter "${name}" lists ${quoted(unknown)}, which ${of} never holds: its values are ${quoted(allowed ?? [])}` : undefined;
}
