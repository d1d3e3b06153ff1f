// API keys: how they are configured, how a request presents one, and what each role may do.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import {
  PERMISSIONS,
  ROLES,
  authorize,
  bearerToken,
  can,
  keysFromEnvironment,
  parseApiKeys,
  parseKeyFile,
  type Permission,
  type Role,
} from '../../src/api/access';
import { problemOf, sendProblem } from '../../src/api/problem';
import { DecisionError } from '../../src/errors';

const SECRETS: Record<Role, string> = {
  caseworker: 'caseworker-secret-abcdefghijklmnop',
  policy: 'policy-secret-abcdefghijklmnopqrstu',
  auditor: 'auditor-secret-abcdefghijklmnopqrst',
};
const SPEC = `cw1:caseworker:${SECRETS.caseworker},pol1:policy:${SECRETS.policy},aud1:auditor:${SECRETS.auditor}`;
const ALL_PERMISSIONS: Permission[] = ['evaluate', 'read-rules', 'reload', 'impact', 'read-decisions', 'propose', 'approve', 'read-proposals'];
const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const tempFile = (text: string): string => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ps-keys-')), 'keys.txt');
  writeFileSync(file, text);
  return file;
};

/** Whatever message `fn` throws; the test fails if it does not throw. */
function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

/** A small app: one route per permission, each behind authorize(), and the service's problem rendering. */
function appWith(spec: string) {
  const { ring } = keysFromEnvironment({ API_KEYS: spec });
  const app = express();
  for (const permission of ALL_PERMISSIONS) {
    app.get(`/${permission}`, authorize(ring, permission), (_req, res) => {
      res.json({ caller: res.locals.caller });
    });
  }
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendProblem(res, problemOf(error as DecisionError, req.originalUrl));
  });
  return app;
}

describe('the permission table', () => {
  test('gives each role exactly its permissions', () => {
    expect(PERMISSIONS).toEqual({
      caseworker: ['evaluate', 'read-rules'],
      policy: ['evaluate', 'read-rules', 'reload', 'impact', 'propose', 'approve', 'read-proposals'],
      auditor: ['read-rules', 'read-decisions', 'read-proposals'],
    });
    expect(can('auditor', 'approve')).toBe(false);
    expect(can('caseworker', 'read-proposals')).toBe(false);
    expect(can('caseworker', 'reload')).toBe(false);
    expect(can('policy', 'impact')).toBe(true);
    expect(can('auditor', 'evaluate')).toBe(false);
  });
});

describe('API_KEYS', () => {
  test('parses ids, roles and secrets, skipping blank entries', () => {
    const { ring, generated } = keysFromEnvironment({ API_KEYS: ` ${SPEC} ,` });
    expect(generated).toBeUndefined();
    expect(ring.size).toBe(3);
    expect(ring.ids()).toEqual(['cw1', 'pol1', 'aud1']);
  });

  test('a secret with a colon cannot be sent as a Bearer token: refused, and not repeated', () => {
    const secret = 'abc:def:ghi-jkl-mno-pqr-stu';
    const message = thrown(() => parseApiKeys(`k:policy:${secret}`));
    expect(message).toMatch(/API_KEYS entry 1 \(id "k"\)/);
    expect(message).not.toContain(secret);
  });

  const bad: [string, string, RegExp][] = [
    ['no colons at all (a secret pasted alone)', 'justasecretwithnocolons-0123456789', /^API_KEYS entry 1 is not <id>:<role>:<secret>/],
    ['a missing role', 'cw9:onlytwofields-0123456789abcdef', /^API_KEYS entry 1 is not <id>:<role>:<secret>/],
    ['an id with a space', 'cw 9:caseworker:abcdefghijklmnopqrstuvwxyz', /^API_KEYS entry 1: the id must be 1 to 64/],
    ['an empty id', ':caseworker:abcdefghijklmnopqrstuvwxyz', /^API_KEYS entry 1: the id must be/],
    ['an id of 65 characters', `${'a'.repeat(65)}:caseworker:abcdefghijklmnopqrstuvwxyz`, /^API_KEYS entry 1: the id must be/],
    ['an unknown role', 'cw9:admin:abcdefghijklmnopqrstuvwxyz', /^API_KEYS entry 1 \(id "cw9"\): the role must be one of caseworker, policy, auditor/],
    [
      'a short secret',
      'cw9:caseworker:short-secret-123',
      /^API_KEYS entry 1 \(id "cw9"\): the secret is shorter than 24 characters; bearer secrets must resist guessing/,
    ],
    ['a secret with a space', 'cw9:caseworker:abcdefghijkl mnopqrstuvwxyz', /^API_KEYS entry 1 \(id "cw9"\): the secret may hold only/],
    ['a malformed hash', 'cw9:caseworker:sha256:abc123', /^API_KEYS entry 1 \(id "cw9"\): a hashed secret must be sha256: followed by 64 hexadecimal digits/],
  ];
  test.each(bad)('refuses %s, naming the entry and not the secret', (_what, entry, message) => {
    const error = thrown(() => keysFromEnvironment({ API_KEYS: entry }));
    expect(error).toMatch(message);
    const secret = entry.split(':').slice(2).join(':');
    if (secret) expect(error).not.toContain(secret);
    expect(error).not.toContain('justasecretwithnocolons');
    expect(error).not.toContain('onlytwofields');
  });

  test('a value of commas only holds no keys (rather than falling back to generated ones)', () => {
    expect(thrown(() => keysFromEnvironment({ API_KEYS: ' , ,' }))).toBe('No API keys are configured: API_KEYS holds no keys.');
  });

  test('names the entry by its position', () => {
    expect(thrown(() => parseApiKeys(`${SPEC},cw9:admin:abcdefghijklmnopqrstuvwxyz`))).toMatch(/^API_KEYS entry 4 \(id "cw9"\)/);
  });

  test('refuses a duplicate id, naming both entries', () => {
    const message = thrown(() => keysFromEnvironment({ API_KEYS: `${SPEC},cw1:policy:another-secret-abcdefghijklmn` }));
    expect(message).toBe('API_KEYS entry 4 (id "cw1"): the id "cw1" is already used by API_KEYS entry 1 (id "cw1"); ids must be unique.');
  });

  test('refuses two keys with one secret, without saying it', () => {
    const message = thrown(() => keysFromEnvironment({ API_KEYS: `${SPEC},cw2:caseworker:${SECRETS.caseworker}` }));
    expect(message).toMatch(/API_KEYS entry 4 \(id "cw2"\) has the same secret as API_KEYS entry 1 \(id "cw1"\)/);
    expect(message).not.toContain(SECRETS.caseworker);
  });
});

describe('API_KEYS_FILE', () => {
  const fileText = [
    '# Personalised Services keys, rotated quarterly',
    '',
    `cw1:caseworker:${SECRETS.caseworker}`,
    '   # an indented comment',
    `pol1:policy:sha256:${sha256Hex(SECRETS.policy)}`,
    `aud1:auditor:SHA256:${sha256Hex(SECRETS.auditor).toUpperCase()}`,
    '',
  ].join('\n');

  test('reads plaintext and hashed entries, skipping comments and blank lines', () => {
    const file = tempFile(fileText);
    const { ring, generated } = keysFromEnvironment({ API_KEYS_FILE: file });
    expect(generated).toBeUndefined();
    expect(ring.ids()).toEqual(['cw1', 'pol1', 'aud1']);
    expect(ring.authenticate(`Bearer ${SECRETS.policy}`)).toEqual({ id: 'pol1', role: 'policy' });
    expect(ring.authenticate(`Bearer ${SECRETS.auditor}`)).toEqual({ id: 'aud1', role: 'auditor' });
    // A hashed entry is not itself a secret: presenting the digest is no key.
    expect(ring.authenticate(`Bearer ${sha256Hex(SECRETS.policy)}`)).toBeUndefined();
  });

  test('reads CRLF line endings', () => {
    expect(parseKeyFile(fileText.replace(/\n/g, '\r\n'), 'keys.txt').map((k) => k.id)).toEqual(['cw1', 'pol1', 'aud1']);
  });

  test('names the file and line of a bad entry, and not its secret', () => {
    const file = tempFile(`# keys\ncw1:caseworker:${SECRETS.caseworker}\n\ncw2:caseworker:tooshort-secret\n`);
    const message = thrown(() => keysFromEnvironment({ API_KEYS_FILE: file }));
    expect(message).toBe(`${file} line 4 (id "cw2"): the secret is shorter than 24 characters; bearer secrets must resist guessing.`);
    expect(message).not.toContain('tooshort-secret');
  });

  test('names a file that cannot be read', () => {
    expect(thrown(() => keysFromEnvironment({ API_KEYS_FILE: '/nonexistent/keys.txt' }))).toMatch(
      /^API_KEYS_FILE \/nonexistent\/keys.txt could not be read: ENOENT/,
    );
  });

  test('a file of comments only holds no keys', () => {
    const file = tempFile('# nothing yet\n\n');
    expect(thrown(() => keysFromEnvironment({ API_KEYS_FILE: file }))).toBe(`No API keys are configured: API_KEYS_FILE ${file} holds no keys.`);
  });

  test('with API_KEYS too: keys from both, ids unique across the two', () => {
    const file = tempFile(`pol1:policy:sha256:${sha256Hex(SECRETS.policy)}\n`);
    const { ring } = keysFromEnvironment({ API_KEYS: `cw1:caseworker:${SECRETS.caseworker}`, API_KEYS_FILE: file });
    expect(ring.ids()).toEqual(['cw1', 'pol1']);
    const clash = tempFile(`# clash\ncw1:policy:sha256:${sha256Hex(SECRETS.policy)}\n`);
    expect(thrown(() => keysFromEnvironment({ API_KEYS: `cw1:caseworker:${SECRETS.caseworker}`, API_KEYS_FILE: clash }))).toBe(
      `${clash} line 2 (id "cw1"): the id "cw1" is already used by API_KEYS entry 1 (id "cw1"); ids must be unique.`,
    );
  });
});

describe('authenticate', () => {
  const { ring } = keysFromEnvironment({ API_KEYS: SPEC });

  test('the right key', () => {
    for (const role of ROLES) expect(ring.authenticate(`Bearer ${SECRETS[role]}`)?.role).toBe(role);
    expect(ring.authenticate(`Bearer ${SECRETS.caseworker}`)).toEqual({ id: 'cw1', role: 'caseworker' });
  });

  test('the scheme in any case, and surrounding white space', () => {
    expect(ring.authenticate(`bearer ${SECRETS.policy}`)).toEqual({ id: 'pol1', role: 'policy' });
    expect(ring.authenticate(`BEARER   ${SECRETS.policy} `)).toEqual({ id: 'pol1', role: 'policy' });
  });

  test('a wrong key, a near miss, no key, another scheme', () => {
    expect(ring.authenticate('Bearer not-a-key-this-service-knows-at-all')).toBeUndefined();
    expect(ring.authenticate(`Bearer ${SECRETS.policy}x`)).toBeUndefined();
    expect(ring.authenticate(`Bearer ${SECRETS.policy.slice(0, -1)}`)).toBeUndefined();
    expect(ring.authenticate(undefined)).toBeUndefined();
    expect(ring.authenticate('')).toBeUndefined();
    expect(ring.authenticate('Bearer')).toBeUndefined();
    expect(ring.authenticate(SECRETS.policy)).toBeUndefined();
    expect(ring.authenticate(`Basic ${Buffer.from(`pol1:${SECRETS.policy}`).toString('base64')}`)).toBeUndefined();
    expect(ring.authenticate(`Bearer ${SECRETS.policy} extra`)).toBeUndefined();
  });

  test('bearerToken takes the secret only from a Bearer header', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Token abc')).toBeUndefined();
  });

  test('the ring holds digests, not secrets', () => {
    const inside = JSON.stringify(ring) + inspect(ring, { depth: 5 });
    for (const role of ROLES) expect(inside).not.toContain(SECRETS[role]);
  });
});

describe('authorize', () => {
  const app = appWith(SPEC);

  test('no Authorization header: 401 with a Bearer challenge', async () => {
    const res = await request(app).get('/evaluate');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="ps-decisions"');
    expect(res.body).toMatchObject({ status: 401, code: 'unauthorized', type: 'urn:ps-decisions:problem:unauthorized', instance: '/evaluate' });
  });

  test('another scheme: 401 with a Bearer challenge, the header not repeated', async () => {
    const basic = `Basic ${Buffer.from(`cw1:${SECRETS.caseworker}`).toString('base64')}`;
    const res = await request(app).get('/evaluate').set('Authorization', basic);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="ps-decisions"');
    expect(res.body.code).toBe('unauthorized');
    expect(res.text).not.toContain(basic.slice(6));
    // A secret pasted without the scheme is not echoed either.
    const bare = await request(app).get('/evaluate').set('Authorization', SECRETS.caseworker);
    expect(bare.status).toBe(401);
    expect(bare.text).not.toContain(SECRETS.caseworker);
  });

  test('a secret no key has: 401 invalid_token, the secret not repeated', async () => {
    const wrong = 'wrong-secret-abcdefghijklmnopqrstuvwx';
    const res = await request(app).get('/evaluate').set('Authorization', `Bearer ${wrong}`);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="ps-decisions", error="invalid_token"');
    expect(res.body.code).toBe('unauthorized');
    expect(res.text).not.toContain(wrong);
  });

  test('a key whose role lacks the permission: 403 naming the key, its role and the roles that may', async () => {
    const res = await request(app).get('/reload').set('Authorization', `Bearer ${SECRETS.caseworker}`);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 403, code: 'forbidden', type: 'urn:ps-decisions:problem:forbidden' });
    expect(res.body.detail).toBe('Key "cw1" has the role caseworker, which may not reload; roles that may: policy.');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="ps-decisions", error="insufficient_scope"');
    expect(res.text).not.toContain(SECRETS.caseworker);
  });

  test('a lowercase scheme is accepted', async () => {
    const res = await request(app).get('/evaluate').set('Authorization', `bearer ${SECRETS.caseworker}`);
    expect(res.status).toBe(200);
    expect(res.body.caller).toEqual({ id: 'cw1', role: 'caseworker' });
  });

  const cases = ROLES.flatMap((role) => ALL_PERMISSIONS.map((permission) => [role, permission, can(role, permission)] as const));
  test.each(cases)('%s → %s: allowed %s', async (role, permission, allowed) => {
    const res = await request(app).get(`/${permission}`).set('Authorization', `Bearer ${SECRETS[role]}`);
    if (allowed) {
      expect(res.status).toBe(200);
      expect(res.body.caller).toEqual({ id: { caseworker: 'cw1', policy: 'pol1', auditor: 'aud1' }[role], role });
    } else {
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
      expect(res.body.detail).toContain(`has the role ${role}, which may not ${permission}`);
    }
  });
});

describe('generated development keys', () => {
  test('with neither API_KEYS nor API_KEYS_FILE (or both empty): one key per role, new each time', () => {
    const first = keysFromEnvironment({});
    const second = keysFromEnvironment({ API_KEYS: '', API_KEYS_FILE: '  ' });
    expect(first.generated?.map((k) => [k.id, k.role])).toEqual([
      ['dev-caseworker', 'caseworker'],
      ['dev-policy', 'policy'],
      ['dev-auditor', 'auditor'],
    ]);
    for (const key of first.generated ?? []) expect(key.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.generated?.[0]?.secret).not.toBe(first.generated?.[0]?.secret);
    expect(first.ring.ids()).toEqual(['dev-caseworker', 'dev-policy', 'dev-auditor']);
  });

  test('work: each is identified by its secret, and its digest is what the settings carry', () => {
    const { ring, keys, generated } = keysFromEnvironment({});
    expect(generated).toHaveLength(3);
    for (const key of generated ?? []) {
      expect(ring.authenticate(`Bearer ${key.secret}`)).toEqual({ id: key.id, role: key.role });
      expect(keys.find((k) => k.id === key.id)?.hash.toString('hex')).toBe(sha256Hex(key.secret));
    }
    // Kept of each: its id, role and digest, never the secret, which is all a cluster's workers are given (config.test.ts).
    expect(keys.map((k) => Object.keys(k).sort())).toEqual(generated?.map(() => ['hash', 'id', 'role']));
  });
});
