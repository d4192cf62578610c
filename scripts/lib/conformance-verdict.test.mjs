// Self-test of the verdict rules in conformance-verdict.mjs (no server, no tool; < 1 s):
//   node --test scripts/lib/conformance-verdict.test.mjs
// It proves that only the exact, known alpha.12 limitation is accepted for confidential
// clients, and that tokens issued to a confidential client without its secret fail the run.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge } from './conformance-verdict.mjs';

const metadata = { id: 'authorization-server-metadata', status: 'SUCCESS' };
const cimdWarning = { id: 'authorization-server-metadata-cimd', status: 'WARNING', errorMessage: 'not advertised' };
const grantOk = { id: 'authorization-code-grant', status: 'SUCCESS' };
const grant401 = { id: 'authorization-code-grant', status: 'FAILURE', errorMessage: 'Invalid status code: 401' };
const tokenRequest = (authorization, form, status, error) => ({
  path: '/token',
  request: { authorization, form },
  status,
  response: error ? { error } : { access_token: '[redacted]', token_type: 'Bearer' },
});
const run = (kind, checks, exitCode, tokenRequests, extra = {}) => ({
  kind,
  checks,
  exitCode,
  tokenRequests,
  passed: checks.filter((c) => c.status === 'SUCCESS').length,
  failed: checks.filter((c) => c.status === 'FAILURE').length,
  warnings: checks.filter((c) => c.status === 'WARNING').length,
  ...extra,
});
const verdict = (r, context = {}) => judge(r, { clientId: 'c1', ...context }).verdict;
const publicToken = tokenRequest(null, { client_id: ['c1'] }, 401, 'invalid_client');

describe('public client (none)', () => {
  it('passes when every check passes; warnings allowed unless strict', () => {
    const r = run('none', [metadata, cimdWarning, grantOk], 0, [tokenRequest(null, { client_id: ['c1'] }, 200)]);
    assert.equal(verdict(r), 'pass');
    assert.equal(verdict(r, { strict: true }), 'fail');
  });
  it('fails on a failed, missing or timed-out check', () => {
    assert.equal(verdict(run('none', [metadata, grant401], 1, [publicToken])), 'fail');
    assert.equal(verdict(run('none', [metadata], 0, [])), 'fail');
    assert.equal(verdict(run('none', [metadata, grantOk], 0, [], { timedOut: true })), 'fail');
    assert.equal(verdict(run('none', [metadata, grantOk], 0, [], { toolTotal: 'Total: 1 passed, 1 failed' })), 'fail');
  });
});

describe('confidential clients', () => {
  it('accepts exactly the known limitation: auth none → 401 invalid_client', () => {
    assert.equal(verdict(run('client_secret_basic', [metadata, cimdWarning, grant401], 1, [publicToken])), 'expected-failure');
    assert.equal(verdict(run('client_secret_post', [metadata, grant401], 1, [publicToken])), 'expected-failure');
  });
  it('rejects anything else', () => {
    const cases = [
      run('client_secret_basic', [metadata, grant401], 1, [tokenRequest(null, { client_id: ['c1'] }, 401, 'invalid_grant')]),
      run('client_secret_basic', [metadata, grant401], 1, [tokenRequest('Basic', {}, 401, 'invalid_client')]),
      run('client_secret_post', [metadata, grant401], 1, [tokenRequest(null, { client_id: ['c1'], client_secret: ['[redacted]'] }, 401, 'invalid_client')]),
      run('client_secret_post', [metadata, grant401], 1, [tokenRequest(null, { client_id: ['other'] }, 401, 'invalid_client')]),
      run('client_secret_post', [metadata, grant401], 1, []),
      run('client_secret_post', [metadata, grant401], 1, [publicToken, publicToken]),
      run('client_secret_post', [{ ...metadata, status: 'FAILURE' }, grant401], 1, [publicToken]),
      run('client_secret_post', [metadata, { ...grant401, errorMessage: 'Invalid status code: 400' }], 1, [
        tokenRequest(null, { client_id: ['c1'] }, 400, 'invalid_request'),
      ]),
      run('client_secret_post', [metadata, grant401], 1, [publicToken], { consent: { error: 'consent answered 400' } }),
    ];
    for (const r of cases) assert.equal(verdict(r), 'fail', JSON.stringify(r.tokenRequests));
  });
  it('a pass counts only if the tool really sent the secret', () => {
    const noSecret = judge(run('client_secret_basic', [metadata, grantOk], 0, [tokenRequest(null, { client_id: ['c1'] }, 200)]), { clientId: 'c1' });
    assert.equal(noSecret.verdict, 'fail');
    assert.match(noSecret.reason, /^SERVER DEFECT/);
    assert.equal(verdict(run('client_secret_basic', [metadata, grantOk], 0, [tokenRequest('Basic', {}, 200)])), 'pass');
    assert.equal(
      verdict(run('client_secret_post', [metadata, grantOk], 0, [tokenRequest(null, { client_id: ['c1'], client_secret: ['[redacted]'] }, 200)])),
      'pass',
    );
  });
});
