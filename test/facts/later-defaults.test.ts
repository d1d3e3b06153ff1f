// Facts added with a default after decisions were recorded are listed, so a decision recorded before them reproduces
// (api/decisions.ts leaves them out again): each listed path must be a defaulted fact, listed once.
import { LATER_DEFAULTED_FACTS, defaultedFactPaths } from '../../src/facts/schema';

test('every fact listed as added later is in the vocabulary with a default, and listed once', () => {
  const listed = LATER_DEFAULTED_FACTS.flat();
  expect(listed.filter((path) => !defaultedFactPaths().includes(path))).toEqual([]);
  expect(new Set(listed).size).toBe(listed.length);
});
