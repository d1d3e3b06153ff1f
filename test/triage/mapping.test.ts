// The CSV mapping reader: clear errors naming the field, and each cell type's conversion.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BACKLOG_MAPPING_FILE } from '../../fixtures/backlog';
import { checkMapping, issueLocator, likelyCode, loadMapping, MappingError, missingColumns, rowConverter, type CsvMapping } from '../../src/triage/mapping';

const mapping: CsvMapping = {
  id: 'Ref',
  columns: {
    Program: { fact: 'program', values: { CLK: 'centrelink', CS: 'child-support' } },
    Received: { fact: 'referral.receivedOn', type: 'date', format: 'dd/MM/yyyy' },
    Exit: { fact: 'case.exitLetterIssuedOn', type: 'date' },
    Urgent: { fact: 'referral.urgent', type: 'boolean' },
    Incidents: { fact: 'customer.incidents', type: 'json' },
  },
};
const headers = ['Ref', 'Program', 'Received', 'Exit', 'Urgent', 'Incidents'];
const convert = rowConverter(mapping, headers);

describe('loadMapping', () => {
  it('reads the backlog mapping', () => {
    expect(loadMapping(BACKLOG_MAPPING_FILE).id).toBe('Referral ID');
  });

  it('names every field at fault', () => {
    const problems = (json: unknown) => {
      try {
        checkMapping(json);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(MappingError);
        return (error as MappingError).problems;
      }
    };
    expect(problems({ columns: {} })).toEqual(expect.arrayContaining([expect.stringMatching(/^"id"/), expect.stringMatching(/^"columns"/)]));
    expect(problems({ id: 'x', columns: { A: { fact: 'referral.recievedOn' } } })).toEqual([
      'columns["A"].fact "referral.recievedOn" is not a CaseFacts fact (see the CaseFacts schema in /openapi.json)',
    ]);
    expect(problems({ id: 'x', columns: { A: { fact: 'program', type: 'text' } } })).toEqual([expect.stringMatching(/^columns\["A"\]\.type "text"/)]);
    // A type that is not a string is shown as written, not as "[object Object]".
    expect(problems({ id: 'x', columns: { A: { fact: 'program', type: { name: 'date' } } } })).toEqual([
      'columns["A"].type {"name":"date"} is not one of string, number, boolean, date, json',
    ]);
    expect(problems({ id: 'x', columns: { A: { fact: 'referral.receivedOn', type: 'date', format: 'MM/dd/yyyy' } } })).toEqual([
      expect.stringMatching(/^columns\["A"\]\.format "MM\/dd\/yyyy"/),
    ]);
    expect(problems({ id: 'x', columns: { A: { fact: 'program' }, B: { fact: 'program' } } })).toEqual([expect.stringMatching(/already filled by column "A"/)]);
    expect(problems({ id: 'x', columns: { A: { fact: 'program', values: { a: 1 } } } })).toEqual([expect.stringMatching(/^columns\["A"\]\.values/)]);
    // A code translated into a value the vocabulary does not have is refused once, against the mapping, not on every row.
    expect(problems({ id: 'x', columns: { Program: { fact: 'program', values: { CLK: 'centrelnk', CS: 'child-support' } } } })).toEqual([
      'columns["Program"].values["CLK"] is "centrelnk", which is not a value of program (its values: centrelink, child-support); did you mean "centrelink"?',
    ]);
    // Where the vocabulary names no values, any translation is the export's own business.
    expect(problems({ id: 'x', columns: { Who: { fact: 'referral.receivedOn', values: { today: '2026-01-19' } } } })).toEqual([]);
  });

  it('refuses a file that is missing or not JSON, naming it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ps-mapping-'));
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{ "id": ');
    expect(() => loadMapping(bad)).toThrow(/bad\.json is not valid JSON/);
    expect(() => loadMapping(path.join(dir, 'none.json'))).toThrow(/Cannot read the mapping file .*none\.json/);
  });

  it('lists mapped columns missing from a header', () => {
    expect(missingColumns(mapping, ['Ref', 'Program'])).toEqual(['Received', 'Exit', 'Urgent', 'Incidents']);
    expect(missingColumns(mapping, headers)).toEqual([]);
  });
});

describe('rowConverter', () => {
  it('converts each type, translates codes, and leaves empty cells out', () => {
    expect(convert(['R1', 'CS', '29/02/2024', '2025-12-31', 'Yes', '[{"date":"2025-01-02"}]'])).toEqual({
      id: 'R1',
      facts: {
        program: 'child-support',
        referral: { receivedOn: '2024-02-29', urgent: true },
        case: { exitLetterIssuedOn: '2025-12-31' },
        customer: { incidents: [{ date: '2025-01-02' }] },
      },
      issues: [],
    });
    expect(convert(['R2', 'centrelink', '1/2/2025', '', '', '']).facts).toEqual({ program: 'centrelink', referral: { receivedOn: '2025-02-01' } });
  });

  it.each([
    ['true', true],
    ['FALSE', false],
    ['y', true],
    ['N', false],
    ['1', true],
    ['0', false],
    ['no', false],
    ['YES', true],
  ])('reads %s as %s', (cell, value) => {
    expect(convert(['R', '', '', '', cell, '']).facts).toEqual({ referral: { urgent: value } });
  });

  it('refuses bad cells, naming the column', () => {
    const { issues } = convert(['R3', 'CLK', '31/02/2025', '2025-13-01', 'maybe', '[{']);
    expect(issues.map((i) => i.pointer)).toEqual(['/referral/receivedOn', '/case/exitLetterIssuedOn', '/referral/urgent', '/customer/incidents']);
    expect(issues[0]!.message).toBe('column "Received": "31/02/2025" is not a real calendar date written dd/MM/yyyy');
    expect(issues[1]!.message).toMatch(/^column "Exit": "2025-13-01" is not a real calendar date/);
    expect(issues[2]!.message).toMatch(/^column "Urgent": "maybe" is not a yes\/no value/);
    expect(issues[3]!.message).toMatch(/^column "Incidents": "\[\{" is not valid JSON/);
    expect(convert(['R', '', '29/02/2025', '', '', '']).issues).toHaveLength(1);
    expect(convert(['R', '', '29/02/2000', '', '', '']).issues).toHaveLength(0);
    expect(convert(['R', '', '29/02/1900', '', '', '']).issues).toHaveLength(1);
  });

  it('reports an empty id as null', () => {
    expect(convert(['  ', 'CLK', '', '', '', '']).id).toBeNull();
  });

  it('keeps each refused cell exactly as given, with its column', () => {
    const { issues } = convert(['R4', 'CLK', ' 31/02/2025 ', '', 'maybe', '']);
    expect(issues.map((i) => [i.header, i.cell])).toEqual([
      ['Received', ' 31/02/2025 '],
      ['Urgent', 'maybe'],
    ]);
  });
});

describe('refused codes', () => {
  const backlog = loadMapping(BACKLOG_MAPPING_FILE);
  const backlogHeaders = ['Referral ID', ...Object.keys(backlog.columns)];
  const backlogConvert = rowConverter(backlog, backlogHeaders);
  const sourceAt = backlogHeaders.indexOf('Referral source');
  const withSource = (source: string) => backlogHeaders.map((_, i) => (i === 0 ? 'R' : i === sourceAt ? source : ''));
  const codes = Object.keys(backlog.columns['Referral source']!.values!);

  it("give the value and every code the export's column uses", () => {
    const { issues } = backlogConvert(withSource('WALK-IN'));
    expect(issues).toEqual([
      {
        pointer: '/referral/source',
        header: 'Referral source',
        cell: 'WALK-IN',
        message: `column "Referral source": "WALK-IN" is not a referral source code; the export's codes are ${codes.join(', ')}`,
      },
    ]);
    expect(codes).toHaveLength(20);
    expect(issues[0]!.message).toContain('ESC-CMPL, EXT-CMPL, MEDIA-BR');
  });

  it('suggest the code a value differs from only in case or spaces, or by a letter or two', () => {
    expect(backlogConvert(withSource('esc-cmpl')).issues[0]!.message).toMatch(/; did you mean "ESC-CMPL"\?$/);
    expect(backlogConvert(withSource('OTHR')).issues[0]!.message).toMatch(/did you mean "OTHER"\?$/);
    expect(likelyCode('ESC-CMLP', codes)).toBe('ESC-CMPL');
    expect(likelyCode(' mats ', codes)).toBe('MATS');
    expect(likelyCode('Proactive', codes)).toBe('PROACTIVE');
    expect(likelyCode('MP ', ['MP', 'MIN'])).toBe('MP');
    expect(likelyCode('WALK-IN', codes)).toBeUndefined();
    expect(likelyCode('X', ['MP', 'MIN'])).toBeUndefined();
  });

  it("check case as written in the mapping, and still take the vocabulary's own values", () => {
    expect(backlogConvert(withSource('Mats')).issues).toHaveLength(1);
    expect(backlogConvert(withSource('MATS')).facts).toEqual({ referral: { source: 'mats' } });
    expect(backlogConvert(withSource('mats')).facts).toEqual({ referral: { source: 'mats' } });
    // "PS history" keeps its capitals in the sentence; a header starting with a vowel takes "an".
    const ps = backlogHeaders.map((h, i) => (i === 0 ? 'R' : h === 'PS history' ? 'Sometimes' : ''));
    expect(backlogConvert(ps).issues[0]!.message).toBe(
      'column "PS history": "Sometimes" is not a PS history code; the export\'s codes are Never, Previous, Current',
    );
    const intray = rowConverter({ id: 'Ref', columns: { Intray: { fact: 'referral.intray', values: { CRG: 'crg-referral' } } } }, ['Ref', 'Intray']);
    expect(intray(['R', 'ACER']).issues[0]!.message).toBe('column "Intray": "ACER" is not an intray code; the export\'s codes are CRG');
  });

  it('pass through where the vocabulary names no values, as before', () => {
    const free = rowConverter({ id: 'Ref', columns: { Office: { fact: 'referral.receivedOn', values: { TODAY: '2026-01-05' } } } }, ['Ref', 'Office']);
    expect(free(['R', '2026-01-06'])).toEqual({ id: 'R', facts: { referral: { receivedOn: '2026-01-06' } }, issues: [] });
  });
});

describe('issueLocator', () => {
  const locate = issueLocator(mapping, headers);
  const row = ['R9', 'CLK', ' 02/01/2025', '', '', '[{"kind":"verbal-abuse"},{"date":"2025-01-02","colour":"red"}]'];

  it('names the column and the entry of a JSON cell, with the cell as given', () => {
    expect(locate({ pointer: '/customer/incidents/1/date', message: 'date is required' }, row)).toEqual({
      pointer: '/customer/incidents/1/date',
      header: 'Incidents',
      cell: row[5],
      message: 'column "Incidents", entry 2: "date" is required',
    });
    expect(
      locate({ pointer: '/customer/incidents/1/colour', message: 'colour is not part of the fact vocabulary (see the CaseFacts schema in /openapi.json)' }, row)
        .message,
    ).toBe('column "Incidents", entry 2: "colour" is not part of the fact vocabulary (see the CaseFacts schema in /openapi.json)');
    expect(locate({ pointer: '/customer/incidents/0/kind', message: 'must be one of: "a", "b"' }, row).message).toBe(
      'column "Incidents", entry 1, "kind": must be one of: "a", "b"',
    );
    expect(locate({ pointer: '/customer/incidents', message: 'must be of type array' }, row).message).toBe('column "Incidents": must be of type array');
  });

  it('says a fact a rule set requires is an empty column, or one the mapping lacks', () => {
    expect(locate({ pointer: '/referral/receivedOn', message: 'referral.receivedOn is required by the direct-referral rule set' }, row)).toMatchObject({
      header: 'Received',
      cell: ' 02/01/2025',
      message: 'column "Received" is empty; the direct-referral rule set requires it',
    });
    expect(locate({ pointer: '/customer/psHistory', message: 'customer.psHistory is required by the segment-allocation rule set' }, row)).toEqual({
      pointer: '/customer/psHistory',
      header: '',
      cell: '',
      message: 'no column of the mapping gives customer.psHistory, which the segment-allocation rule set requires',
    });
  });
});
