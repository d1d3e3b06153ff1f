// The fact map a rule set version reads: CaseFacts flattened to dotted paths, with slots for its derived facts.
//
// Hot path: flattening ran per case over ~50 paths, adding keys one by one. The code below is
// generated once per rule-set version from the CaseFacts schema's own paths (never from input):
// one object literal of fixed shape, so V8 allocates it in one step and every rule's property
// reads stay monomorphic. Measured by `npm run bench` (in-process evaluations per second).
import { factPaths } from '../facts/schema';
import type { CaseFacts } from '../facts/validate';
import type { FactMap } from './types';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type FactMapBuilder = (facts: CaseFacts) => FactMap;

/**
 * A function that flattens CaseFacts into a fresh map: each of `paths` (a value left out is null)
 * and, set to null until computed, each of `derivedNames`. Reading only the paths a version needs
 * matters: parsed input objects come in many shapes, so each read is a costly polymorphic one.
 */
export function factMapBuilder(paths: readonly string[] = factPaths(), derivedNames: readonly string[] = []): FactMapBuilder {
  // Each object on a path ("case", "case.msp") is read once into a local, from its parent's local.
  const groups = new Map<string, string>();
  const objects: string[] = [];
  const local = (keys: readonly string[]): string => {
    const group = keys.join('.');
    let name = groups.get(group);
    if (name === undefined) {
      const parent = keys.length === 1 ? 'f' : `${local(keys.slice(0, -1))}?`;
      const read = `${parent}.${keys[keys.length - 1] as string}`;
      name = `g${groups.size}`;
      groups.set(group, name);
      objects.push(`const ${name} = ${read} !== null && typeof ${read} === 'object' ? ${read} : undefined;`);
    }
    return name;
  };
  const entries: string[] = [];
  for (const path of paths) {
    const keys = path.split('.');
    for (const key of keys) if (!IDENTIFIER.test(key)) throw new Error(`fact path ${path} cannot be compiled`);
    if (keys.length === 1) entries.push(`${JSON.stringify(path)}: f.${path} ?? null`);
    else entries.push(`${JSON.stringify(path)}: ${local(keys.slice(0, -1))}?.${keys[keys.length - 1] as string} ?? null`);
  }
  for (const name of derivedNames) entries.push(`${JSON.stringify(name)}: null`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds CaseFacts schema paths, each key checked above to be an identifier, and derived-fact names as JSON string literals: no value from a request or a rule file
  return new Function('f', `${objects.join('\n')}\nreturn {\n${entries.join(',\n')}\n};`) as FactMapBuilder;
}

export type DeriveAll = (factMap: FactMap, asOf: string) => Record<string, unknown>;

/**
 * One function computing a version's derived facts into the fact map (and returning them, for the
 * response). Generated so each derived fact's call site is its own, not one loop calling closures
 * of every rule set in turn; names enter the code only as JSON string literals.
 */
export function deriveAllFunction(derived: ReadonlyArray<readonly [string, (factMap: FactMap, asOf: string) => unknown]>): DeriveAll {
  const statements = derived.map(([name], i) => `const v${i} = d${i}(m, asOf);\nm[${JSON.stringify(name)}] = v${i};`);
  const result = derived.map(([name], i) => `${JSON.stringify(name)}: v${i}`);
  const bindings = derived.map((_entry, i) => `d${i} = d[${i}]`).join(', ');
  const source = `${bindings ? `const ${bindings};\n` : ''}return function deriveAll(m, asOf) {\n${statements.join('\n')}\nreturn { ${result.join(', ')} };\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- derived-fact names enter the source only as JSON string literals; the functions are passed in as arguments
  const factory = new Function('d', source) as (d: ReadonlyArray<(factMap: FactMap, asOf: string) => unknown>) => DeriveAll;
  return factory(derived.map(([, compute]) => compute));
}

/** One function running every rule of a subset, each from a call site of its own. */
export function runAllFunction<R>(rules: ReadonlyArray<(factMap: FactMap) => R>): (factMap: FactMap) => R[] {
  const bindings = rules.map((_rule, i) => `r${i} = r[${i}]`).join(', ');
  const source = `${bindings ? `const ${bindings};\n` : ''}return function runAll(f) {\nreturn [${rules.map((_rule, i) => `r${i}(f)`).join(', ')}];\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds only indices; the compiled rules are passed in as arguments
  const factory = new Function('r', source) as (r: ReadonlyArray<(factMap: FactMap) => R>) => (factMap: FactMap) => R[];
  return factory(rules);
}
