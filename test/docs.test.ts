// The documentation stands alone: README.md stays short, every link in it and in docs/ lands on a file and heading
// that exist in this repository, and nothing the product ships points at documents it does not ship.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './support';

/** README.md and every page in docs/, as paths relative to the repository. */
const PAGES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown with its code (fenced blocks, inline spans) and HTML comments blanked out: links and headings there are text. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/`[^`\n]*`/g, 'code');
}

/**
 * The anchor GitHub gives a heading (its github-slugger rules): the heading's text as rendered (code spans and links
 * reduced to their text), lower case, every character that is not a letter, mark, number, `_`, space or `-` removed,
 * each space a `-`.
 */
function slug(heading: string): string {
  const text = heading
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page has: its ATX headings, numbered -1, -2… when a slug repeats, and explicit `<a id>` / `<a name>`. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading] of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/gm)) {
    const base = slug(heading!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const [, id] of withoutFences.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(id!);
  return anchors;
}

/** Every link target on a page: inline links and images, `<…>` targets, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]*)[^)]*\)/g)].map((m) => m[1]!.replace(/^<|>$/g, ''));
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/gm)].map((m) => m[1]!.replace(/^<|>$/g, ''));
  return [...inline, ...references];
}

/**
 * What is wrong with each link on a page, as `target: why`: a link must be relative, land inside the repository on a
 * file or folder that exists, and an #anchor must be a heading of the Markdown page it lands on.
 */
function brokenLinks(page: string, markdown: string, root: string = ROOT): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
      problems.push(`${target}: points outside the repository`);
      continue;
    }
    const hash = target.indexOf('#');
    const file = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = file === '' ? path.join(root, page) : file.startsWith('/') ? path.join(root, file) : path.resolve(root, path.dirname(page), file);
    const inside = path.relative(root, resolved);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      problems.push(`${target}: leaves the repository`);
      continue;
    }
    if (file !== '' && !existsSync(resolved)) {
      problems.push(`${target}: ${inside} does not exist`);
      continue;
    }
    if (anchor === undefined) continue;
    if (file === '') {
      if (!anchorsOf(markdown).has(anchor)) problems.push(`${target}: ${page} has no heading #${anchor}`);
      continue;
    }
    if (!resolved.endsWith('.md') || statSync(resolved).isDirectory()) {
      problems.push(`${target}: an anchor into ${inside}, which is not a Markdown page`);
      continue;
    }
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) problems.push(`${target}: ${inside} has no heading #${anchor}`);
  }
  return problems;
}

describe('GitHub heading anchors', () => {
  test.each([
    ['The `ps-rules` command', 'the-ps-rules-command'],
    ['Many cases at once: evaluate-batch', 'many-cases-at-once-evaluate-batch'],
    ["What's new? (v2.0)", 'whats-new-v20'],
    ['Proof — under abuse', 'proof--under-abuse'],
    ['See [the API](api.md) first', 'see-the-api-first'],
    ['snake_case stays', 'snake_case-stays'],
  ])('%s → #%s', (heading, anchor) => {
    expect(slug(heading)).toBe(anchor);
  });

  test('a repeated heading is numbered, and headings in code blocks are no headings', () => {
    const anchors = anchorsOf('# Setup\n\n## Setup\n\n```sh\n# not a heading\n```\n\n## Setup ##\n<a id="kept"></a>\n');
    expect([...anchors].sort()).toEqual(['kept', 'setup', 'setup-1', 'setup-2']);
  });
});

describe('the link check', () => {
  test('finds a missing file, a missing heading, a link out of the repository and an anchor into a non-page', () => {
    const page = [
      '# Here',
      '[ok](../README.md#personalised-services-decision-service) [self](#here) [folder](../rules/)',
      '[gone](missing.md) [no heading](../README.md#no-such-heading) [web](https://example.org/x)',
      '[up](../../elsewhere.md) [code anchor](../package.json#L3)',
      '`[in code](nowhere.md)`',
      '```\n[in a block](nowhere.md)\n```',
      '[ref]: ./also-missing.md',
    ].join('\n');
    expect(brokenLinks('docs/page.md', page)).toEqual([
      'missing.md: docs/missing.md does not exist',
      '../README.md#no-such-heading: README.md has no heading #no-such-heading',
      'https://example.org/x: points outside the repository',
      '../../elsewhere.md: leaves the repository',
      '../package.json#L3: an anchor into package.json, which is not a Markdown page',
      './also-missing.md: docs/also-missing.md does not exist',
    ]);
  });
});

describe.each(PAGES)('%s', (page) => {
  const markdown = readFileSync(path.join(ROOT, page), 'utf8');

  test('every link resolves inside the repository, anchors included', () => {
    expect(brokenLinks(page, markdown)).toEqual([]);
  });
});

test('README.md is under 200 lines: what the product is, the two commands, one example, a map', () => {
  const lines = readFileSync(path.join(ROOT, 'README.md'), 'utf8').split('\n').length - 1;
  expect(lines).toBeLessThan(200);
});

test('docs/ has the pages the README maps, each linked from it', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const linked = new Set(linkTargets(readme).map((t) => t.split('#')[0]));
  for (const page of PAGES.filter((p) => p.startsWith('docs/'))) expect({ page, linked: linked.has(page) }).toEqual({ page, linked: true });
  for (const page of ['api', 'facts', 'policy-authoring', 'operations', 'performance', 'architecture']) expect(PAGES).toContain(`docs/${page}.md`);
});

/** Every file under a folder, recursively. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

test('nothing shipped points at the workspace outside the product or names the domain notes it was built from', () => {
  // Written so this file does not match itself: the product's pages, code, rules and fixtures must name only what ships.
  const outside = [/\.\.\/shared\//, /\/work\/shared\b/, /DOMAIN\.md/];
  const files = [
    'README.md',
    ...['docs', 'src', 'test', 'rules', 'fixtures'].flatMap((dir) => filesUnder(path.join(ROOT, dir)).map((f) => path.relative(ROOT, f))),
  ];
  const found = files.flatMap((file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    return outside.filter((pattern) => pattern.test(text)).map((pattern) => `${file}: ${pattern.source}`);
  });
  expect(found).toEqual([]);
});
