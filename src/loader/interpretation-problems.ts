// What is wrong with a rule file's interpretation, in words, at the member to fix: the schema (rule-file-schema.ts)
// only says that one is wrong. Also reads the form interpretations had before they were objects, in archived texts.

/** What to write for an interpretation, said in every refusal of one. */
const WRITE =
  '{ "question": "<what the procedure leaves open, as a question a policy officer can answer>", "chosen": "<the reading the rules apply>" }, with "confirmedBy" and "confirmedOn" (YYYY-MM-DD) once policy staff confirm it';

const MEMBERS = ['question', 'chosen', 'confirmedBy', 'confirmedOn'];

/** A day that exists, written YYYY-MM-DD (not 2025-02-30). */
export function isRealDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Each problem with an interpretation, with the pointer below the interpretation's own (`at`: "" or "/confirmedOn"). */
export function interpretationProblems(value: unknown): { at: string; message: string }[] {
  if (typeof value === 'string')
    return [
      {
        at: '',
        message: `an interpretation is no longer a string: write it as ${WRITE}; this string is the reading chosen, and the question is what it answers`,
      },
    ];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [{ at: '', message: `an interpretation must be an object: ${WRITE}` }];
  const problems: { at: string; message: string }[] = [];
  const held = value as Record<string, unknown>;
  for (const key of Object.keys(held))
    if (!MEMBERS.includes(key)) problems.push({ at: `/${key}`, message: `"${key}" is not a member of an interpretation (${MEMBERS.join(', ')})` });
  const { question, chosen, confirmedBy, confirmedOn } = held;
  if (typeof question !== 'string' || question.trim().length < 10)
    problems.push({
      at: typeof question === 'string' ? '/question' : '',
      message: `"question" is required: what the procedure leaves open, as a question (${WRITE})`,
    });
  else if (!question.endsWith('?')) problems.push({ at: '/question', message: `the question must be a question a policy officer can answer, ending with "?"` });
  if (typeof chosen !== 'string' || chosen.trim().length < 20)
    problems.push({
      at: typeof chosen === 'string' ? '/chosen' : '',
      message: `"chosen" is required: the reading the rules apply, in a sentence or more (${WRITE})`,
    });
  if (confirmedBy !== undefined && (typeof confirmedBy !== 'string' || confirmedBy.trim() === ''))
    problems.push({ at: '/confirmedBy', message: 'confirmedBy must name who confirmed the reading' });
  if (confirmedOn !== undefined && (typeof confirmedOn !== 'string' || !isRealDate(confirmedOn)))
    problems.push({ at: '/confirmedOn', message: `${JSON.stringify(confirmedOn)} is not a real date: write the day the reading was confirmed as YYYY-MM-DD` });
  if (confirmedBy !== undefined && confirmedOn === undefined)
    problems.push({ at: '/confirmedBy', message: 'confirmedBy needs confirmedOn: add the day (YYYY-MM-DD) the reading was confirmed, or remove both' });
  if (confirmedOn !== undefined && confirmedBy === undefined)
    problems.push({ at: '/confirmedOn', message: 'confirmedOn needs confirmedBy: add who confirmed the reading, or remove both' });
  return problems;
}

/** The pointer of the interpretation an error's instance path is in or at, if it is in one. */
export function interpretationPointer(instancePath: string): string | undefined {
  return /^(.*\/interpretation)(\/[^/]*)?$/.exec(instancePath)?.[1];
}

/**
 * An archived rule text (the decision log's) written before interpretations were objects, read as it is today: each
 * string becomes the reading chosen, and the question, which such a text never held, says so. Changes `json` in place.
 */
export function upgradeArchivedInterpretations(json: unknown): void {
  const file = json as {
    parameters?: Record<string, { interpretation?: unknown }>;
    derivedFacts?: Record<string, { interpretation?: unknown }>;
    factDefaults?: Record<string, { interpretation?: unknown }>;
    rules?: { interpretation?: unknown }[];
  } | null;
  if (file === null || typeof file !== 'object') return;
  const holders = [
    ...Object.values(file.parameters ?? {}),
    ...Object.values(file.derivedFacts ?? {}),
    ...Object.values(file.factDefaults ?? {}),
    ...(Array.isArray(file.rules) ? file.rules : []),
  ];
  for (const holder of holders)
    if (holder !== null && typeof holder === 'object' && typeof holder.interpretation === 'string')
      holder.interpretation = {
        question: 'Not recorded (this version was written before interpretations stated their question): what did this reading answer?',
        chosen: holder.interpretation,
      };
}
