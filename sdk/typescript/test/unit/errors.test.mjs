// metav1.Status (and HTTP answers) to the SDK's typed errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  MboxApiError,
  NotFoundError,
  TooManyRequestsError,
  errorFromResponse,
  errorFromStatus,
} from '../../dist/index.js';

test('a Status maps to its class by code', () => {
  const cases = [
    [404, NotFoundError],
    [409, ConflictError],
    [403, ForbiddenError],
    [422, InvalidError],
    [410, GoneError],
    [429, TooManyRequestsError],
    [500, MboxApiError],
  ];
  for (const [code, cls] of cases) {
    const e = errorFromStatus({ kind: 'Status', status: 'Failure', code, reason: 'R', message: `m${code}` });
    assert.ok(e instanceof cls, `${code} is a ${cls.name}`);
    assert.ok(e instanceof MboxApiError);
    assert.ok(e instanceof Error);
    assert.equal(e.code, code);
    assert.equal(e.message, `m${code}`);
    assert.equal(e.name, cls.name);
  }
});

test('without a code, the reason decides', () => {
  assert.ok(errorFromStatus({ status: 'Failure', reason: 'AlreadyExists' }) instanceof ConflictError);
  assert.ok(errorFromStatus({ status: 'Failure', reason: 'Expired' }) instanceof GoneError);
  assert.equal(errorFromStatus({ status: 'Failure', reason: 'NotFound' }).code, 404);
});

test('Invalid carries the field causes', () => {
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    reason: 'Invalid',
    code: 422,
    message: 'Sandbox.mbox.dev "x" is invalid: spec.state: Unsupported value: "Sleeping"',
    details: { name: 'x', kind: 'Sandbox', causes: [{ reason: 'FieldValueNotSupported', field: 'spec.state', message: 'Unsupported value: "Sleeping"' }] },
  });
  const e = errorFromResponse(422, body);
  assert.ok(e instanceof InvalidError);
  assert.deepEqual(e.causes.map((c) => c.field), ['spec.state']);
  assert.equal(e.reason, 'Invalid');
});

test('an answer that is not a Status keeps its code and text', () => {
  const e = errorFromResponse(503, 'service unavailable\n');
  assert.ok(e instanceof MboxApiError);
  assert.equal(e.code, 503);
  assert.match(e.message, /HTTP 503: service unavailable/);
  assert.equal(errorFromResponse(404, '<html>').constructor, NotFoundError);
});

test('Retry-After becomes retryAfterSeconds', () => {
  const e = errorFromResponse(429, JSON.stringify({ kind: 'Status', status: 'Failure', code: 429, reason: 'TooManyRequests', message: 'too many sessions' }), '5');
  assert.ok(e instanceof TooManyRequestsError);
  assert.equal(e.retryAfterSeconds, 5);
});
