// How a request's query is written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queryString } from '../../dist/transport.js';

test('a query repeats a name per word and leaves out what is undefined', () => {
  assert.equal(queryString({ command: ['sh', '-c', 'echo a&b'], stdin: true, tty: false, x: undefined }), '?command=sh&command=-c&command=echo+a%26b&stdin=true&tty=false');
  assert.equal(queryString({}), '');
  assert.equal(queryString(undefined), '');
});
