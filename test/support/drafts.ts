// The change issue 19's tests make: direct-referral's face-to-face aggression window widened from 12 months to 24, as a
// policy officer drafts it, and a referral it moves (001 Centrelink Table 1 Step 1: no face-to-face aggression "within
// the last 12 months").
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RULES_DIR } from '../support';

/** direct-referral.json (from `dir`, the shipped rules by default) with the aggression window `months` instead of 12. */
export function widenedDirectReferral(months = 24, dir = RULES_DIR): Record<string, unknown> {
  const file = JSON.parse(readFileSync(path.join(dir, 'direct-referral.json'), 'utf8')) as { parameters: { aggressionWindowMonths: { value: number } } };
  file.parameters.aggressionWindowMonths.value = months;
  return file;
}

/** A direct-area referral whose customer was abusive face to face on 2024-09-11: 18 months before 2026-03-11, inside 24 months, outside 12. */
export const abusiveReferral = (asOf: string) => ({
  asOf,
  facts: {
    program: 'centrelink',
    referral: { source: 'mats', receivedOn: asOf },
    customer: { incidents: [{ date: '2024-09-11', kind: 'verbal-abuse', setting: 'face-to-face' }] },
  },
});
