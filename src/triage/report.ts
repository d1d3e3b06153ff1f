// The run's summary as one HTML page a team leader can open without the service (`ps-rules triage --report`): the
// queue per tier and program, the overdue, due dates by week as an inline SVG chart, the errors by kind and the rule
// versions used. Pure: a summary in, a page out. Self-contained: inline CSS, no script, nothing fetched (its
// Content-Security-Policy allows nothing but its own style), and every text from the input escaped.
import { createHash } from 'node:crypto';
import { addDays, dayNumber, longDate, shortDate, weekStart } from '../dates/calendar';
import type { RuleRegistry } from '../loader/load';
import { ERROR_KINDS, type ErrorKind, type TriageSummary } from './summary';

/** One version of a rule set: its hash, when it is in force (null: no bound), and its rule file. */
export interface RuleVersionPeriod {
  version: string;
  effectiveFrom: string | null;
  effectiveTo: string | null;
  file: string;
}

/** Rule set → its versions: what the page says about each version the run used. */
export type RuleVersions = Record<string, readonly RuleVersionPeriod[]>;

/** The registry's versions as the plain object reportHtml() takes. */
export function ruleVersions(registry: RuleRegistry): RuleVersions {
  return Object.fromEntries([...registry.ruleSets.values()].map((rs) => [rs.name, rs.periods()]));
}

/** The chart shows each week from this many weeks before the as-of week; records due earlier share one bar. */
export const WEEKS_BEFORE = 12;
/** … to this many weeks after it; records due later share one bar. */
export const WEEKS_AFTER = 6;

/** One bar of the chart: a week (its Monday), or the weeks before or after those shown. */
export interface ChartBar {
  key: string;
  /** The first and last Monday it covers. */
  from: string;
  to: string;
  records: number;
  overdue: number;
}

/**
 * The chart's bars: every week from the first due week (at most WEEKS_BEFORE before the as-of week) to the last
 * (at most WEEKS_AFTER after it), the as-of week always included and weeks without records as empty bars; the
 * weeks beyond, added up into an "earlier" and a "later" bar.
 */
export function chartBars(summary: Pick<TriageSummary, 'asOf' | 'dueWeeks'>): ChartBar[] {
  const asOfWeek = weekStart(summary.asOf);
  const first = addDays(asOfWeek, -7 * WEEKS_BEFORE);
  const last = addDays(asOfWeek, 7 * WEEKS_AFTER);
  const weeks = summary.dueWeeks;
  if (weeks.length === 0) return [];
  const shown = new Map<string, ChartBar>();
  let earlier: ChartBar | undefined;
  let later: ChartBar | undefined;
  for (const w of weeks) {
    const bar =
      w.week < first
        ? (earlier ??= { key: 'earlier', from: w.week, to: w.week, records: 0, overdue: 0 })
        : w.week > last
          ? (later ??= { key: 'later', from: w.week, to: w.week, records: 0, overdue: 0 })
          : undefined;
    if (bar) {
      if (w.week < bar.from) bar.from = w.week;
      if (w.week > bar.to) bar.to = w.week;
      bar.records += w.records;
      bar.overdue += w.overdue;
    } else shown.set(w.week, { key: w.week, from: w.week, to: w.week, records: w.records, overdue: w.overdue });
  }
  const mondays = [...shown.keys(), asOfWeek].sort();
  const start = earlier ? first : (mondays[0] as string);
  const end = later ? last : (mondays[mondays.length - 1] as string);
  const bars: ChartBar[] = earlier ? [earlier] : [];
  for (let week = start; week <= end; week = addDays(week, 7)) bars.push(shown.get(week) ?? { key: week, from: week, to: week, records: 0, overdue: 0 });
  if (later) bars.push(later);
  return bars;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text or an attribute value from the input, made inert. */
export const esc = (text: string | number): string => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

const NUMBER = new Intl.NumberFormat('en-AU');
const num = (n: number) => NUMBER.format(n);
/** A count the test reads back: the number as shown, marked with what it counts. */
const count = (key: string, n: number, tag = 'span') => `<${tag} data-count="${esc(key)}">${num(n)}</${tag}>`;
const cell = (key: string, n: number) => `<td class="n">${count(key, n)}</td>`;
const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;

/** "centrelink" → "Centrelink", "child-support" → "Child Support". */
export const programName = (program: string) => program.replace(/(^|-)(\p{Ll})/gu, (_, dash: string, c: string) => (dash ? ' ' : '') + c.toUpperCase());

/** "line is not JSON" → "Line is not JSON". */
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** "14 Jan 2025". */
const day = (date: string) => shortDate(date, 0);
/** The week a Monday starts, as a roster says it: "w/c 29 Dec 2025". */
const weekLabel = (monday: string) => `w/c ${day(monday)}`;

function period(v: RuleVersionPeriod): string {
  if (v.effectiveFrom && v.effectiveTo) return `${day(v.effectiveFrom)} to ${day(v.effectiveTo)}`;
  if (v.effectiveFrom) return `from ${day(v.effectiveFrom)}`;
  if (v.effectiveTo) return `until ${day(v.effectiveTo)}`;
  return 'always';
}

const STYLE = `
:root { --ink: #1b1f24; --muted: #57606a; --rule: #d0d7de; --band: #f3f5f7; --overdue: #b42318; --due: #3b6ea8; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0 auto; max-width: 760px; padding: 24px 28px 32px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
header { border-bottom: 3px solid var(--ink); padding-bottom: 10px; margin-bottom: 6px; }
.kicker { margin: 0; color: var(--muted); font-size: 12px; letter-spacing: .04em; text-transform: uppercase; }
h1 { margin: 2px 0 8px; font-size: 22px; line-height: 1.25; }
h2 { margin: 20px 0 6px; font-size: 16px; border-bottom: 1px solid var(--rule); padding-bottom: 3px; }
p { margin: 4px 0; }
code { font: 12px/1.3 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.headline { font-size: 17px; font-weight: 600; }
.status { margin: 8px 0; padding: 8px 12px; border-left: 5px solid var(--overdue); background: #fdecea; font-weight: 600; }
.note { color: var(--muted); font-size: 12.5px; margin-top: 6px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: 12.5px; padding-bottom: 4px; caption-side: top; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--ink); font-size: 12.5px; }
tbody tr:nth-child(even) { background: var(--band); }
tfoot th, tfoot td { border-top: 2px solid var(--ink); border-bottom: 0; font-weight: 700; }
.n { text-align: right; white-space: nowrap; }
th.n { text-align: right; }
td.total, th.total { font-weight: 700; }
.rank { display: inline-block; min-width: 1.6em; color: var(--muted); font-weight: 400; }
.overdue-n { color: var(--overdue); font-weight: 700; }
figure { margin: 6px 0 0; }
svg { display: block; width: 100%; height: auto; }
svg text { font: 10px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
svg .axis text, svg .muted { fill: var(--muted); }
svg .grid { stroke: var(--rule); stroke-width: 1; }
svg .total { font-size: 9.5px; }
svg .total, svg .asof-label, svg .side { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .asof { stroke: var(--ink); stroke-width: 1.5; stroke-dasharray: 4 3; }
svg .asof-label { font-weight: 700; font-size: 11px; }
svg .side { font-size: 10.5px; font-weight: 600; fill: var(--muted); }
svg .year { font-weight: 700; }
svg .split { stroke: var(--muted); stroke-width: 1; stroke-dasharray: 1 3; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 4px 0 0; padding: 0; list-style: none; font-size: 12.5px; }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend svg { width: 22px; height: 12px; display: inline-block; }
details { margin-top: 6px; font-size: 12.5px; }
summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 22px; padding-top: 6px; border-top: 1px solid var(--rule); color: var(--muted); font-size: 12px; }
footer p { margin: 2px 0; }
@page { size: A4; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; line-height: 1.3; }
  header { padding-bottom: 6px; }
  h1 { font-size: 15pt; margin-bottom: 4px; }
  .headline { font-size: 11.5pt; }
  h2 { font-size: 11pt; margin: 8pt 0 2pt; break-after: avoid; }
  th, td { padding: 1.5px 6px; }
  figure svg { width: 94%; margin: 0 auto; }
  footer { margin-top: 8px; }
  p { margin: 2px 0; }
  caption, .note, .legend, details, footer { font-size: 8pt; }
  caption { padding-bottom: 2px; }
  code { font-size: 8pt; }
  section, figure, table { break-inside: avoid; }
  details { display: none; }
}
`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** The overdue fill: the colour with a hatching over it, so it is told from "not yet due" without colour too. */
const PATTERN = `<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#b42318"/><line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2" stroke-opacity="0.55"/></pattern>`;
const SWATCH_OVERDUE = `<svg viewBox="0 0 22 12" aria-hidden="true"><defs>${PATTERN.replace('id="hatch"', 'id="hatch-key"')}</defs><rect width="22" height="12" fill="url(#hatch-key)"/></svg>`;
const SWATCH_DUE = `<svg viewBox="0 0 22 12" aria-hidden="true"><rect width="22" height="12" fill="#3b6ea8"/></svg>`;

/** Whole, round numbers for the count axis: 0 and up to 6 steps of 1, 2 or 5 × 10ⁿ (or 250, 2,500…), the last above `max` with room for its label. */
function ticks(max: number): number[] {
  const top = Math.max(1, max * 1.08);
  const power = 10 ** Math.floor(Math.log10(top / 5));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => Number.isInteger(s) && s >= top / 5) ?? 1;
  const out: number[] = [];
  for (let t = 0; out.length === 0 || out[out.length - 1]! < top; t += step) out.push(t);
  return out;
}

/** "29 Dec": the day and month, the year left to the axis. */
const dayMonth = (date: string) => shortDate(date, Number(date.slice(0, 4)));

/** What a bar stands for, in words: "w/c 29 Dec 2025", "due before w/c 27 Oct 2025". */
function barName(bars: readonly ChartBar[], i: number): string {
  const bar = bars[i] as ChartBar;
  if (bar.key === 'earlier') return `due before ${weekLabel((bars[i + 1] ?? bar).key)}`;
  if (bar.key === 'later') return `due after ${weekLabel((bars[i - 1] ?? bar).key)}`;
  return weekLabel(bar.key);
}

/** The chart of due dates by week: stacked bars (overdue hatched, at the foot; not yet due above), an as-of line, a count axis. */
function chart(summary: TriageSummary, bars: readonly ChartBar[]): string {
  const width = 700;
  // Over 16 bars, two-line labels would touch: each is one line, slanted, with more room under the axis.
  const crowded = bars.length > 16;
  const height = crowded ? 300 : 280;
  const left = 52;
  const right = 10;
  const top = 38;
  const bottom = crowded ? 70 : 50;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const base = top + plotHeight;
  const axis = ticks(Math.max(...bars.map((b) => b.records)));
  const max = axis[axis.length - 1] as number;
  const r = (n: number) => Math.round(n * 10) / 10;
  const y = (n: number) => r(base - (n / max) * plotHeight);
  const slot = plotWidth / bars.length;
  const barWidth = Math.min(44, slot * 0.7);
  const parts: string[] = [];
  for (const t of axis)
    parts.push(
      `<line class="grid" x1="${left}" x2="${width - right}" y1="${y(t)}" y2="${y(t)}"/><text x="${left - 6}" y="${y(t) + 3.5}" text-anchor="end">${num(t)}</text>`,
    );
  let year = '';
  bars.forEach((bar, i) => {
    const x0 = left + i * slot;
    const x = r(x0 + (slot - barWidth) / 2);
    const mid = r(x0 + slot / 2);
    const notYet = bar.records - bar.overdue;
    const name = esc(barName(bars, i));
    const key = esc(bar.key);
    parts.push(`<g data-bar="${key}">`);
    // Overdue at the foot of the bar, not yet due on top: each shape carries its count (data-value) and says it on hover.
    parts.push(
      `<rect class="overdue" x="${x}" y="${y(bar.overdue)}" width="${r(barWidth)}" height="${r(base - y(bar.overdue))}" fill="url(#hatch)" data-count="bar:${key}:overdue" data-value="${bar.overdue}"><title>${name}: ${num(bar.overdue)} overdue</title></rect>`,
      `<rect class="due" x="${x}" y="${y(bar.records)}" width="${r(barWidth)}" height="${r(y(bar.overdue) - y(bar.records))}" fill="#3b6ea8" data-count="bar:${key}:not-yet-due" data-value="${notYet}"><title>${name}: ${num(notYet)} not yet due</title></rect>`,
    );
    if (bar.records > 0)
      parts.push(`<text class="total" x="${mid}" y="${r(y(bar.records) - 4)}" text-anchor="middle" data-count="bar:${key}:records">${num(bar.records)}</text>`);
    // Under the bar: "w/c" and the day. A bar of several weeks says "before" or "after" the week beside it, and a
    // dotted line sets it apart.
    const grouped = bar.key === 'earlier' || bar.key === 'later';
    const next = bar.key === 'earlier' ? (bars[i + 1] ?? bar).key : bar.key === 'later' ? (bars[i - 1] ?? bar).key : bar.key;
    const line1 = bar.key === 'earlier' ? 'before' : bar.key === 'later' ? 'after' : 'w/c';
    // The year goes with the first week of each year (a bar of several weeks has none: the week beside it says it).
    const newYear = !grouped && bar.key.slice(0, 4) !== year;
    if (newYear) year = bar.key.slice(0, 4);
    if (crowded)
      parts.push(
        `<g class="axis"><text transform="translate(${mid} ${base + 12}) rotate(-40)" text-anchor="end">${line1} ${esc(dayMonth(next))}${newYear ? ` <tspan class="year">${year}</tspan>` : ''}</text></g>`,
      );
    else
      parts.push(
        `<g class="axis"><text x="${mid}" y="${base + 14}" text-anchor="middle">${line1}</text><text x="${mid}" y="${base + 26}" text-anchor="middle">${esc(dayMonth(next))}</text>` +
          `${newYear ? `<text x="${mid}" y="${base + 39}" text-anchor="middle" class="year">${year}</text>` : ''}</g>`,
      );
    if (grouped) {
      const edge = r(bar.key === 'earlier' ? x0 + slot : x0);
      parts.push(`<line class="split" x1="${edge}" x2="${edge}" y1="${top}" y2="${base + (crowded ? 6 : 30)}"/>`);
    }
    parts.push('</g>');
  });
  // The as-of date: a line where it falls in its week's slot (a Monday at the slot's left edge).
  const asOfWeek = weekStart(summary.asOf);
  const asOfIndex = bars.findIndex((b) => b.key === asOfWeek);
  let marker = '';
  if (asOfIndex >= 0) {
    const x = r(left + (asOfIndex + (dayNumber(summary.asOf) - dayNumber(asOfWeek)) / 7) * slot);
    // Its labels kept inside the chart: "overdue" left of the line, "not yet due" right of it, where there is room.
    const side = (text: string, toRight: boolean) =>
      (toRight ? x < width - right - 80 : x > left + 60)
        ? `<text class="side" x="${toRight ? x + 6 : x - 6}" y="${top - 6}" text-anchor="${toRight ? 'start' : 'end'}">${text}</text>`
        : '';
    const anchor = x < left + 50 ? 'start' : x > width - right - 50 ? 'end' : 'middle';
    marker =
      `<line class="asof" x1="${x}" x2="${x}" y1="${top - 18}" y2="${base}"/>` +
      `<text class="asof-label" x="${x}" y="${top - 22}" text-anchor="${anchor}">as of ${esc(shortDate(summary.asOf, 0))}</text>` +
      side('◀ overdue', false) +
      side('not yet due ▶', true);
  }
  const overdue = bars.reduce((n, b) => n + b.overdue, 0);
  const total = bars.reduce((n, b) => n + b.records, 0);
  const busiest = bars.reduce((most, b, i) => (b.records > (bars[most] as ChartBar).records ? i : most), 0);
  const weeks = bars.filter((b) => b.key !== 'earlier' && b.key !== 'later');
  const desc =
    `Stacked bars, one a week${weeks.length ? ` from ${weekLabel((weeks[0] as ChartBar).key)} to ${weekLabel((weeks[weeks.length - 1] as ChartBar).key)}` : ''}` +
    `${bars[0]?.key === 'earlier' ? ', the weeks before added up in the first bar' : ''}${bars[bars.length - 1]?.key === 'later' ? ', the weeks after in the last' : ''}. ` +
    `${num(total)} records with a due date, ${num(overdue)} of them overdue on ${shortDate(summary.asOf, 0)}. ` +
    `The most due in one bar: ${num((bars[busiest] as ChartBar).records)} (${barName(bars, busiest)}). The table of the weeks gives each week's numbers.`;
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">
<title id="chart-title">Records due each week, overdue and not yet due, as of ${esc(shortDate(summary.asOf, 0))}</title>
<desc id="chart-desc">${esc(desc)}</desc>
<defs>${PATTERN}</defs>
<text class="muted" x="${left - 6}" y="${top - 22}" text-anchor="end">records</text>
${parts.join('\n')}
<line x1="${left}" x2="${width - right}" y1="${base}" y2="${base}" stroke="#1b1f24"/>
${marker}
</svg>`;
}

/** The page: one HTML document, readable without the service, a script or a network. */
export function reportHtml(summary: TriageSummary, versions: RuleVersions): string {
  const s = summary;
  const input = s.input;
  const inputName = input.split(/[\\/]/).pop() || input;
  const programs = [...new Set([...Object.keys(s.programs), ...s.tiers.flatMap((t) => Object.keys(t.byProgram))])];
  const overdueTotal = Object.values(s.programs).reduce((n, p) => n + p.overdue, 0);
  const noDueTotal = Object.values(s.programs).reduce((n, p) => n + p.noDueDate, 0);

  const status =
    s.status === 'interrupted'
      ? '<p class="status" data-status="interrupted">This run was interrupted: it stopped before reading the whole input. The numbers below are of the lines read until then.</p>'
      : s.status === 'failed'
        ? `<p class="status" data-status="failed">This run failed${s.failure ? `: ${esc(s.failure)}` : ''}. The numbers below are of the lines read until then.</p>`
        : '';
  const headline =
    `${count('lines', s.lines)} ${s.lines === 1 ? 'line' : 'lines'}${s.headerLines ? ' (after the header)' : ''}: ` +
    `${count('results', s.results)} in the queue, ${count('errors', s.errors)} could not be triaged` +
    `${s.blank ? `, ${count('blank', s.blank)} blank` : ''}.`;
  const overdueLine =
    s.results > 0
      ? `<p>${count('overdue', overdueTotal, 'strong')} of them are <strong>overdue</strong> (their action date was before ${esc(longDate(s.asOf))})` +
        `${noDueTotal ? `, and ${count('no-due-date', noDueTotal)} have no due date` : ''}.` +
        `${s.carriedOver !== undefined ? ` ${count('carried-over', s.carriedOver)} were carried over from the previous queue, not decided again.` : ''}</p>`
      : '';

  // The queue: tiers in order (every tier, 0 included) × programs, with totals.
  const tierRows = s.tiers
    .map(
      (t) =>
        `<tr data-tier="${t.tier}"><th scope="row"><span class="rank">${t.tier}.</span><span class="tier-name">${esc(t.name)}</span></th>` +
        programs.map((p) => cell(`tier:${t.tier}:${p}`, t.byProgram[p] ?? 0)).join('') +
        `<td class="n total">${count(`tier:${t.tier}`, t.records)}</td></tr>`,
    )
    .join('\n');
  const queueByProgram = (p: string) => s.tiers.reduce((n, t) => n + (t.byProgram[p] ?? 0), 0);
  const queue = `<section aria-labelledby="queue-h"><h2 id="queue-h">The queue by tier and program</h2>
<table><caption>Records in the work queue, in the order the tiers are worked (first tier first).</caption>
<thead><tr><th scope="col">Tier</th>${programs.map((p) => `<th scope="col" class="n">${esc(programName(p))}</th>`).join('')}<th scope="col" class="n">Total</th></tr></thead>
<tbody>
${tierRows}
</tbody>
<tfoot><tr><th scope="row">Total</th>${programs.map((p) => cell(`queue:${p}`, queueByProgram(p))).join('')}<td class="n">${count(
    'queue',
    s.tiers.reduce((n, t) => n + t.records, 0),
  )}</td></tr></tfoot>
</table></section>`;

  const programRows = Object.entries(s.programs)
    .map(
      ([p, c]) =>
        `<tr><th scope="row">${esc(programName(p))}</th>${cell(`program:${p}:records`, c.records)}` +
        `<td class="n overdue-n">${count(`program:${p}:overdue`, c.overdue)}</td>` +
        `${cell(`program:${p}:not-yet-due`, c.records - c.overdue - c.noDueDate)}${cell(`program:${p}:no-due-date`, c.noDueDate)}</tr>`,
    )
    .join('\n');
  const overdue = `<section aria-labelledby="overdue-h"><h2 id="overdue-h">Overdue by program</h2>
${
  programRows
    ? `<table><caption>Overdue: the action date (the earliest date a rule says the referral must be actioned by) is before ${esc(day(s.asOf))}.</caption>
<thead><tr><th scope="col">Program</th><th scope="col" class="n">In the queue</th><th scope="col" class="n">Overdue</th><th scope="col" class="n">Not yet due</th><th scope="col" class="n">No due date</th></tr></thead>
<tbody>
${programRows}
</tbody></table>`
    : '<p>No record is in the queue.</p>'
}</section>`;

  // Due dates by week: the chart, what it leaves out, and its numbers as a table.
  const bars = chartBars(s);
  const grouped = bars.filter((b) => b.key === 'earlier' || b.key === 'later');
  const groupNote = grouped.length
    ? `<p class="note">So the chart stays readable, it shows each week from ${esc(weekLabel(addDays(weekStart(s.asOf), -7 * WEEKS_BEFORE)))} to ${esc(weekLabel(addDays(weekStart(s.asOf), 7 * WEEKS_AFTER)))}; ` +
      grouped
        .map((b) =>
          b.key === 'earlier'
            ? `the first bar adds up the weeks before (${esc(weekLabel(b.from))} to ${esc(weekLabel(b.to))})`
            : `the last bar adds up the weeks after (${esc(weekLabel(b.from))} to ${esc(weekLabel(b.to))})`,
        )
        .join('; ') +
      '. The table under the chart lists every week.</p>'
    : '';
  const weekRows = s.dueWeeks
    .map(
      (w) =>
        `<tr><th scope="row">${esc(weekLabel(w.week))}</th>${cell(`week:${w.week}:records`, w.records)}` +
        `${cell(`week:${w.week}:overdue`, w.overdue)}${cell(`week:${w.week}:not-yet-due`, w.records - w.overdue)}</tr>`,
    )
    .join('\n');
  const weeks = `<section aria-labelledby="weeks-h"><h2 id="weeks-h">Due dates by week</h2>
${
  bars.length
    ? `<figure>
${chart(s, bars)}
<figcaption><ul class="legend">
<li>${SWATCH_OVERDUE} Overdue (action date before ${esc(day(s.asOf))})</li>
<li>${SWATCH_DUE} Not yet due</li>
<li>Not in the chart: ${count('chart:no-due-date', noDueTotal, 'strong')} with no due date</li>
</ul></figcaption>
</figure>
${groupNote}
<details><summary>The weeks as a table</summary>
<table><caption>Records due each week (weeks commence on Monday).</caption>
<thead><tr><th scope="col">Week</th><th scope="col" class="n">Due</th><th scope="col" class="n">Overdue</th><th scope="col" class="n">Not yet due</th></tr></thead>
<tbody>
${weekRows}
</tbody></table></details>`
    : `<p>No record in the queue has a due date${noDueTotal ? ` (${count('chart:no-due-date', noDueTotal)} have none)` : ''}.</p>`
}</section>`;

  // The most frequent first, then in ERROR_KINDS' order.
  const order = Object.keys(ERROR_KINDS);
  const kinds = (Object.entries(s.errorKinds) as [ErrorKind, number][]).sort(([a, m], [b, n]) => n - m || order.indexOf(a) - order.indexOf(b));
  const errors = `<section aria-labelledby="errors-h"><h2 id="errors-h">Lines that could not be triaged</h2>
${
  kinds.length
    ? `<table><caption>Each of these lines is in <code>${esc(s.errorsOutput)}</code>, with its line number and what is wrong: fix them at the source and run them again.</caption>
<thead><tr><th scope="col">Why</th><th scope="col" class="n">Lines</th></tr></thead>
<tbody>
${kinds.map(([kind, n]) => `<tr><th scope="row">${esc(sentence(ERROR_KINDS[kind] ?? kind))}</th>${cell(`errors:${kind}`, n)}</tr>`).join('\n')}
</tbody>
<tfoot><tr><th scope="row">Total</th><td class="n">${num(s.errors)}</td></tr></tfoot></table>`
    : '<p>None: every line that was read is in the queue.</p>'
}</section>`;

  const versionRows = Object.entries(s.versions).flatMap(([ruleSet, byHash]) =>
    Object.entries(byHash).map(([hash, n]) => {
      const v = versions[ruleSet]?.find((p) => p.version === hash);
      return (
        `<tr><th scope="row">${esc(ruleSet)}</th><td><code>${esc(hash)}</code></td><td>${v ? esc(period(v)) : 'not known'}</td>` +
        `<td><code>${v ? esc(v.file) : '—'}</code></td>${cell(`version:${ruleSet}:${hash}`, n)}</tr>`
      );
    }),
  );
  const rules = `<section aria-labelledby="versions-h"><h2 id="versions-h">Rule versions used</h2>
${
  versionRows.length
    ? `<table><caption>The version of each rule set that decided the records (a record is decided by the version in force on its date).</caption>
<thead><tr><th scope="col">Rule set</th><th scope="col">Version</th><th scope="col">In force</th><th scope="col">Rule file</th><th scope="col" class="n">Records</th></tr></thead>
<tbody>
${versionRows.join('\n')}
</tbody></table>`
    : '<p>No record was decided.</p>'
}</section>`;

  const footer = `<footer>
<p>Queue: <code>${esc(s.output)}</code> (${s.outputFormat === 'csv' ? 'CSV' : 'NDJSON'}${s.sorted ? ', sorted by priority' : ', in input order'}). Errors: <code>${esc(s.errorsOutput)}</code>. Input: <code>${esc(input)}</code>.</p>
<p>Made by <code>ps-rules triage</code>: run ${esc(s.status)}, ${plural(s.workers, 'worker')}, ${esc(s.seconds.toFixed(1))} s.</p>
</footer>`;

  return `<!doctype html>
<html lang="en-AU">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-${STYLE_HASH}'">
<meta name="color-scheme" content="light">
<title>Triage report: ${esc(inputName)}, as of ${esc(day(s.asOf))}</title>
<style>${STYLE}</style>
</head>
<body data-status="${esc(s.status)}">
<header>
<p class="kicker">Personalised Services · referral backlog triage</p>
<h1>Triage of <code>${esc(inputName)}</code> as of ${esc(longDate(s.asOf))}</h1>
${status}
<p class="headline">${headline}</p>
${overdueLine}
</header>
<main>
${queue}
${overdue}
${weeks}
${errors}
${rules}
</main>
${footer}
</body>
</html>
`;
}
