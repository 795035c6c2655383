// Artifacts, previews and history through the SDK.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForbiddenError } from '../../dist/index.js';
import { dev, runningSandbox, text, viewer, workdir } from './env.mjs';

test('an artifact registered, listed and downloaded as a stream', async (t) => {
  const sb = await runningSandbox(t, 'art');
  const name = sb.metadata.name;
  const dir = await workdir(name);
  const h = await dev.runTask(name, ['sh', '-c', `printf '{"passed":3}' > ${dir}/report.json`]);
  assert.equal((await h.wait()).exitCode, 0);
  const art = await dev.createArtifact({ task: h.name, path: `${dir}/report.json`, kind: 'report', title: 'Test report', contentType: 'application/json', labels: { suite: 'unit' } });
  assert.equal(art.spec.task.uid, h.uid, "the server filled in the task's uid");
  assert.equal(art.spec.sandbox, name);
  assert.equal(art.status.source, 'Registered');
  t.after(() => dev.deleteArtifact(art.metadata.name).catch(() => undefined));
  const listed = await viewer.listArtifacts({ labelSelector: 'suite=unit' });
  assert.ok(listed.items.some((a) => a.metadata.name === art.metadata.name), 'listed by its label');
  assert.equal(await text(await viewer.downloadArtifact(art.metadata.name)), '{"passed":3}');
  await assert.rejects(viewer.createArtifact({ sandbox: name, path: `${dir}/report.json` }), ForbiddenError);
});

test('a preview grant gives a URL', async (t) => {
  const sb = await runningSandbox(t, 'prev', { ports: [{ name: 'web', port: 8080, visibility: 'Project' }] });
  await dev.waitFor(await dev.sandboxesPath(), sb.metadata.name, (x) => (x.status?.previewURLs ?? []).length > 0, { timeoutMs: 30_000 });
  const url = await dev.previewUrl(sb.metadata.name, 'web', { ttlSeconds: 120 });
  assert.match(url, /\.mbox\/grant\?token=/);
  const g = await dev.createPreviewGrant(sb.metadata.name, 'web');
  assert.ok(Date.parse(g.status.expirationTimestamp) > Date.now());
});

test('history: the states a sandbox went through', async (t) => {
  const sb = await runningSandbox(t, 'hist');
  const name = sb.metadata.name;
  // the mirror stores states a moment after they happen: watch until the Running one is there
  const ac = new AbortController();
  t.after(() => ac.abort());
  const phases = [];
  for await (const ev of dev.watchHistory({ kind: 'Sandbox', name, signal: AbortSignal.any([ac.signal, AbortSignal.timeout(30_000)]) })) {
    assert.equal(ev.object.object.name, name);
    phases.push(ev.object.phase ?? '');
    if (ev.object.phase === 'Running') break;
  }
  assert.equal(phases.at(-1), 'Running');
  const listed = await viewer.listHistory({ kind: 'Sandbox', name, since: new Date(Date.now() - 3600_000) });
  assert.ok(listed.items.length >= phases.length, `${listed.items.length} states listed`);
});
