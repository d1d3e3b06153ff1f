// State shared by the test apps of one test file (test/support/app.ts) and checked after it (setup.ts).

/** Responses a test app gave that /openapi.json does not describe. */
export const contractViolations: string[] = [];

/** What the file's test apps opened (decision logs), closed after its last test. */
export const toClose: (() => Promise<void>)[] = [];
