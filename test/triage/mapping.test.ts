// The CSV mapping reader: clear errors naming the field, and each cell type's conversion.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BACKLOG_MAPPING_FILE } from '../../fixtures/backlog';
import { checkMapping, loadMapping, MappingError, missingColumns, rowConverter, type CsvMapping } from '../../src/triage/mapping';

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
});
