// Line and column for a JSON pointer or a syntax error in a rule file, so authors land on the spot.
import { findNodeAtLocation, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';

export interface Position {
  line: number;
  column: number;
}

function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i += 1) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const unescape = (segment: string) => segment.replace(/~1/g, '/').replace(/~0/g, '~');

/** Where `pointer` points in `text`; falls back to the nearest existing parent (a missing member's object). */
export function locate(text: string, pointer: string): Position {
  const root = parseTree(text);
  if (!root) return { line: 1, column: 1 };
  const path: (string | number)[] = pointer
    .split('/')
    .slice(1)
    .map(unescape)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = findNodeAtLocation(root, path.slice(0, depth));
    if (node) {
      // For a member's value, point at the member's key, where a person reads the name.
      const target = node.parent?.type === 'property' && node.parent.children?.[1] === node ? node.parent : node;
      return positionAt(text, target.offset);
    }
  }
  return { line: 1, column: 1 };
}

export interface SyntaxProblem extends Position {
  message: string;
}

const PLAIN: Record<string, string> = {
  InvalidSymbol: 'an unexpected character',
  InvalidNumberFormat: 'a badly written number',
  PropertyNameExpected: 'a property name in double quotes was expected',
  ValueExpected: 'a value was expected',
  ColonExpected: 'a colon (:) was expected after the property name',
  CommaExpected: 'a comma (,) was expected between items',
  CloseBraceExpected: 'a closing brace } was expected',
  CloseBracketExpected: 'a closing bracket ] was expected',
  EndOfFileExpected: 'the file should end here',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'comments are not allowed in JSON',
  UnexpectedEndOfString: 'a string is not closed with a double quote',
  UnexpectedEndOfNumber: 'a number is cut off',
  InvalidUnicode: 'a broken \\u escape',
  InvalidEscapeCharacter: 'a broken \\ escape',
  InvalidCharacter: 'a character that must be escaped',
};

/** Every syntax error in `text` (strict JSON: no comments, no trailing commas), or none. */
export function syntaxProblems(text: string): SyntaxProblem[] {
  const errors: ParseError[] = [];
  parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  return errors.map((e) => {
    const code = printParseErrorCode(e.error);
    return { ...positionAt(text, e.offset), message: `is not valid JSON: ${PLAIN[code] ?? code} here` };
  });
}
