// The triage queue's tiers are policy in rules/triage/priority.json: read as policy staff wrote them, and refused, by
// file, line and column, with the fix, when they name what does not exist or could never be met.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateCommand } from '../../src/cli/validate';
import { EXIT } from '../../src/cli/context';
import { DecisionError } from '../../src/errors';
import { loadRules } from '../../src/loader/load';
import { loadTriagePriority, MAX_TIERS, parseTriagePriority, TRIAGE_PRIORITY_FILE } from '../../src/loader/triage-priority';
import { RULE_SET_MODULES } from '../../src/rulesets';
import { actionFunction, tierFunction } from '../../src/triage/priority';
import { captureStdout, RULES_DIR } from '../support';

const SHIPPED = readFileSync(path.join(RULES_DIR, TRIAGE_PRIORITY_FILE), 'utf8');

/** The refusal of a priority file's text, as issues "line:column message". */
function refusalOf(text: string): string[] {
  try {
    parseTriagePriority(text, RULE_SET_MODULES);
  } catch (error) {
    expect(error).toBeInstanceOf(DecisionError);
    const refusal = error as DecisionError;
    expect(refusal.code).toBe('rule-file-invalid');
    return refusal.issues.map((i) => {
      expect(i.file).toBe(TRIAGE_PRIORITY_FILE);
      return `${i.line}:${i.column} ${i.message}`;
    });
  }
  throw new Error('accepted');
}

/** The shipped file with one edit, written as policy staff write it (two-space JSON). */
function edited(
  edit: (json: {
    ruleSets: string[];
    tiers: { name: string; when: Record<string, unknown> }[];
    actions: { when: Record<string, unknown>; text: string }[];
  }) => void,
): string {
  const json = JSON.parse(SHIPPED);
  edit(json);
  return JSON.stringify(json, null, 2);
}

describe('the shipped tiers', () => {
  const priority = loadTriagePriority(RULES_DIR, RULE_SET_MODULES);

  test('are read as written: four tiers, segment 3 and overdue first, run over direct referral and segment allocation', () => {
    expect(priority.ruleSets).toEqual(['direct-referral', 'segment-allocation']);
    expect(priority.tiers).toEqual([
      { name: 'Segment 3, overdue', overdue: true, outcomes: [{ ruleSet: 'segment-allocation', field: 'segment', value: 3 }] },
      { name: 'Segment 3', outcomes: [{ ruleSet: 'segment-allocation', field: 'segment', value: 3 }] },
      { name: 'Overdue', overdue: true, outcomes: [] },
      { name: 'The rest', outcomes: [] },
    ]);
  });

  test('put a case in the first tier it meets; a condition on a rule set the run leaves out is not met', () => {
    const tierOf = tierFunction(priority, ['direct-referral', 'segment-allocation']);
    const segment = (n: number, overdue: boolean | null) => ({ outcomes: [{ route: 'standard' }, { segment: n }], overdue, program: 'centrelink' });
    expect(tierOf(segment(3, true))).toBe(1);
    expect(tierOf(segment(3, false))).toBe(2);
    // A case no due date applies to is not overdue.
    expect(tierOf(segment(3, null))).toBe(2);
    expect(tierOf(segment(2, true))).toBe(3);
    expect(tierOf(segment(1, false))).toBe(4);
    expect(tierOf(segment(1, null))).toBe(4);
    // Without segment allocation in the run, no case is segment 3.
    const alone = tierFunction(priority, ['direct-referral']);
    expect(alone({ outcomes: [{ route: 'standard' }], overdue: true, program: 'centrelink' })).toBe(3);
    expect(alone({ outcomes: [{ route: 'standard' }], overdue: false, program: 'centrelink' })).toBe(4);
  });

  test('recommend the next action the procedure gives for the program and route, with the due date in words', () => {
    const actionOf = actionFunction(priority, ['direct-referral', 'segment-allocation']);
    const record = (program: string, route: string, segment: number, overdue: boolean | null) => ({
      outcomes: [{ route }, { segment, approvalBy: segment === 3 ? 'PS Service Support Manager (SSM)' : null }],
      overdue,
      program,
    });
    // 001 Centrelink Table 1 Step 2: "The allocated PSSO will action the referral within 5 working days".
    expect(actionOf(record('centrelink', 'direct', 2, false), '2026-04-29', null, '2026-04-20').text).toBe(
      'Action the direct referral for initial case review, due 29 Apr',
    );
    // Step 1: all other referrals go to the PS mailbox, where PS assesses their suitability.
    expect(actionOf(record('centrelink', 'standard', 2, true), '2025-12-23', null, '2026-01-19').text).toBe(
      'Assess the referral from the PS mailbox for PS case management (standard route), overdue: it was due 23 Dec 2025',
    );
    // 001 Child Support Table 1 Step 2: "lock and assign the primary customer and any associated customer"; Resources
    // Table 4 Step 1: segment 3 "after a discussion with the PS Service Support Manager".
    expect(actionOf(record('child-support', 'standard', 3, false), '2026-01-21', 'segment 3: PS Service Support Manager (SSM)', '2026-01-19').text).toBe(
      'Lock and assign the customer and any associated customer from the intray, due 21 Jan; discuss segment 3 with the PS Service Support Manager (SSM), who approves it',
    );
    // No due date could be worked out (an intray the older Child Support procedure names no timeframe for).
    expect(actionOf(record('child-support', 'standard', 2, null), null, null, '2024-06-03').text).toBe(
      'Lock and assign the customer and any associated customer from the intray, no due date worked out',
    );
    // A run without direct referral: no action that needs its route is taken.
    const alone = actionFunction(priority, ['segment-allocation']);
    expect(alone({ outcomes: [{ segment: 2 }], overdue: null, program: 'centrelink' }, null, null, '2026-01-19').text).toBe(
      'Work the case, no due date worked out',
    );
  });

  test('are not taken for a rule file: the rules load beside them', () => {
    expect([...loadRules(RULES_DIR, { modules: RULE_SET_MODULES }).ruleSets.keys()]).not.toContain('triage');
  });
});

describe('a broken tiers file is refused at its line and column, with the fix', () => {
  test('a rule set or an outcome field that does not exist, with the name meant', () => {
    const misspelt = edited((j) => {
      j.ruleSets[1] = 'segment-alocation';
    });
    const line = misspelt.split('\n').findIndex((l) => l.includes('"segment-alocation"')) + 1;
    expect(refusalOf(misspelt)).toEqual([
      expect.stringMatching(new RegExp(`^${line}:5 no rule set "segment-alocation" is registered; did you mean "segment-allocation"\\?`)),
    ]);
    expect(
      refusalOf(
        edited((j) => {
          j.tiers[1]!.when = { 'segment-allocation.segmnt': 3 };
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^\d+:\d+ the segment-allocation outcome has no field "segmnt"; did you mean "segment"\? \(its fields: segment, requiresApproval/),
    ]);
  });

  test('a value the field never holds: the tier could never be met', () => {
    const issues = refusalOf(
      edited((j) => {
        j.tiers[0]!.when['segment-allocation.segment'] = '3';
      }),
    );
    expect(issues).toEqual([expect.stringContaining('"3" is never the segment-allocation outcome\'s segment')]);
    expect(
      refusalOf(
        edited((j) => {
          j.tiers[0]!.when.overdue = 'yes';
        }),
      ),
    ).toEqual([expect.stringContaining('"overdue" is true or false')]);
    expect(
      refusalOf(
        edited((j) => {
          j.tiers[0]!.when['segment-allocation.indicators'] = { segment3: [] };
        }),
      ),
    ).toEqual([expect.stringContaining('compares an outcome field with one value')]);
  });

  test('tiers every record cannot reach, or none takes: the last has no conditions, and only the last', () => {
    expect(
      refusalOf(
        edited((j) => {
          j.tiers[3]!.when = { overdue: false };
        }),
      ),
    ).toEqual([expect.stringContaining('the last tier takes every record the tiers before it do not')]);
    expect(
      refusalOf(
        edited((j) => {
          j.tiers[1]!.when = {};
        }),
      ),
    ).toEqual([expect.stringContaining('tier 2 has no conditions, so it takes every record and the tiers after it are never reached')]);
    expect(
      refusalOf(
        edited((j) => {
          j.tiers[2]!.name = 'Segment 3';
        }),
      ),
    ).toEqual([expect.stringContaining('tier name "Segment 3" is used twice')]);
    expect(
      refusalOf(
        edited((j) => {
          j.tiers = [...Array.from({ length: MAX_TIERS }, (_, i) => ({ name: `t${i}`, when: { overdue: true } })), { name: 'rest', when: {} }];
        }),
      ),
    ).toEqual([expect.stringContaining(`at most ${MAX_TIERS} tiers`)]);
  });

  test('an action with a placeholder that is not one, or reads a rule set its conditions do not name; a program that is not one', () => {
    expect(
      refusalOf(
        edited((j) => {
          j.actions[1]!.text = 'Lock and assign the customer, {dueby}';
        }),
      ),
    ).toEqual([expect.stringMatching(/^\d+:\d+ \{dueby\} is not a placeholder: use \{due\}, \{approver\} or \{<rule set>\.<outcome field>\}/)]);
    expect(
      refusalOf(
        edited((j) => {
          j.actions[1]!.text = 'Lock and assign the customer, {due}; {segment-allocation.approvalBy} approves';
        }),
      ),
    ).toEqual([expect.stringContaining('{segment-allocation.approvalBy} reads the segment-allocation outcome, which this action\'s "when" does not name')]);
    expect(
      refusalOf(
        edited((j) => {
          j.actions[0]!.when.program = 'Child Support';
        }),
      ),
    ).toEqual([expect.stringContaining('"program" is one of "centrelink", "child-support" (the fact program), not "Child Support"')]);
    expect(
      refusalOf(
        edited((j) => {
          j.actions[j.actions.length - 1]!.when = { overdue: true };
        }),
      ),
    ).toEqual([expect.stringContaining('the last action takes every record the actions before it do not')]);
  });

  test('a key that is neither overdue nor an outcome field, a member misspelt, bad JSON', () => {
    expect(
      refusalOf(
        edited((j) => {
          j.tiers[0]!.when = { segment: 3 };
        }),
      ),
    ).toEqual([expect.stringContaining('"segment" is neither "overdue", "program" nor "<rule set>.<outcome field>"')]);
    expect(
      refusalOf(
        edited((j) => {
          (j as Record<string, unknown>).tier = [];
        }),
      ),
    ).toEqual([expect.stringContaining('"tier" is not a member this file may have here')]);
    const syntax = refusalOf('{\n  "description": "x",\n  "ruleSets": ["direct-referral"],\n}\n');
    expect(syntax.length).toBeGreaterThan(0);
    for (const issue of syntax) expect(issue).toMatch(/^4:1 is not valid JSON: /);
  });

  test('where the shipped file says "Segment 3" and it is wrong, the line is the one to edit', () => {
    const text = SHIPPED.replace('"segment-allocation.segment": 3 }', '"segment-allocation.segment": 4 }');
    const line = text.split('\n').findIndex((l) => l.includes('"segment-allocation.segment": 4')) + 1;
    expect(refusalOf(text)).toEqual([expect.stringMatching(new RegExp(`^${line}:\\d+ 4 is never the segment-allocation outcome's segment`))]);
  });
});

describe('ps-rules validate checks the tiers with the rules', () => {
  const stdout = captureStdout();
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('the shipped tiers are listed by name', () => {
    expect(validateCommand([], { rules: RULES_DIR })).toBe(EXIT.ok);
    expect(stdout.text()).toContain(`✓ triage tiers  1 Segment 3, overdue; 2 Segment 3; 3 Overdue; 4 The rest; 7 next actions  (${TRIAGE_PRIORITY_FILE})`);
  });

  test('a broken tiers file fails validation at its line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ps-triage-priority-'));
    dirs.push(dir);
    cpSync(RULES_DIR, dir, { recursive: true });
    writeFileSync(
      path.join(dir, TRIAGE_PRIORITY_FILE),
      edited((j) => {
        j.ruleSets[0] = 'direct-referal';
      }),
    );
    expect(validateCommand([], { rules: dir })).toBe(EXIT.failed);
    expect(stdout.text()).toMatch(
      new RegExp(`^${TRIAGE_PRIORITY_FILE.replace('.', '\\.')}:4:\\d+ {2}no rule set "direct-referal" is registered; did you mean "direct-referral"\\?`, 'm'),
    );
  });
});
