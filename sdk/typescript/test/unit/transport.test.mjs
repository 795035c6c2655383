// How a request's query is written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queryString } from '../../dist/transport.js';

test('a query repeats a name per word and leaves out what is undefined', () => {
  assert.equal(queryString({ command: ['sh', '-c', 'echo a&b'], stdin: true, tty: false, x: undefined }), '?command=sh&command=-c&command=echo+a%26b&stdin=true&tty=false');
  assert.equal(queryString({}), '');
  assert.equal(queryString(undefined), '');
});

test("a context's requests share one agent; the token is read for each", async () => {
  const { KubeConfig } = await import('../../dist/index.js');
  const { Transport } = await import('../../dist/transport.js');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false },
      { name: 'd', server: 'https://127.0.0.2:6443', skipTLSVerify: true },
    ],
    users: [{ name: 'u', token: 'one' }],
    contexts: [
      { name: 'x', cluster: 'c', user: 'u' },
      { name: 'y', cluster: 'd', user: 'u' },
    ],
    currentContext: 'x',
  });
  const t = new Transport(kc);
  const a = await t.options({ headers: {} });
  kc.users[0].token = 'two';
  const b = await t.options({ headers: {} });
  assert.ok(a.agent, 'an agent');
  assert.equal(b.agent, a.agent, 'the same agent for the next request');
  assert.deepEqual([a.headers.Authorization, b.headers.Authorization], ['Bearer one', 'Bearer two'], 'the token of the moment');
  kc.setCurrentContext('y');
  const c = await t.options({ headers: {} });
  assert.notEqual(c.agent, a.agent, 'another context, another agent');
  assert.equal(c.rejectUnauthorized, false);
});
