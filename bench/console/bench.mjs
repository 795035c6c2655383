// bench.mjs: the console in headless Chromium against a project of N sandboxes (bench/console/run.sh):
// time from navigation to the full sandbox list on screen, and from creating a sandbox to its row on screen
// (through the watch). Prints one JSON line of figures.
//   node bench.mjs URL TOKEN PROJECT NAMESPACE N
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [url, token, project, ns, n] = process.argv.slice(2);
const N = Number(n);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const EVENTS = Number(process.env.BENCH_EVENTS || 10);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x) => Math.round(x);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const signin = await context.request.post(`${url}/console/signin`, { data: { token } });
if (!signin.ok()) throw new Error(`sign-in: ${signin.status()} ${await signin.text()}`);
const page = await context.newPage();
const list = `${url}/projects/${encodeURIComponent(project)}`;

// navigation to the full list: performance.now() counts from the navigation's start
const loads = [];
let transferred = 0;
for (let i = 0; i < RUNS; i++) {
  await page.goto(list, { waitUntil: 'commit' });
  const h = await page.waitForFunction((n) => document.querySelectorAll('#sandboxes tbody tr').length >= n && performance.now(), N, { polling: 'raf', timeout: 60_000 });
  loads.push(await h.jsonValue());
  // the first load fetches the scripts; later ones have them cached (hashed names are cached for long)
  if (i === 0)
    transferred = await page.evaluate(() =>
      performance.getEntriesByType('resource').filter((e) => e.name.endsWith('.js')).reduce((s, e) => s + e.transferSize, 0),
    );
}

// a created sandbox to its row on screen (the POST, kube-apiserver's watch event, the render)
const events = [];
for (let i = 0; i < EVENTS; i++) {
  const name = `bench-ev-${Date.now().toString(36)}-${i}`;
  events.push(
    await page.evaluate(
      async ({ ns, name }) => {
        const seen = new Promise((resolve) => {
          const mo = new MutationObserver(() => {
            if (document.querySelector(`tr[data-sandbox="${name}"]`)) {
              mo.disconnect();
              resolve(performance.now());
            }
          });
          mo.observe(document.body, { childList: true, subtree: true });
        });
        const t0 = performance.now();
        const res = await fetch(`/apis/mbox.dev/v1alpha1/namespaces/${ns}/sandboxes`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Mbox-Console': '1' },
          body: JSON.stringify({ apiVersion: 'mbox.dev/v1alpha1', kind: 'Sandbox', metadata: { name }, spec: { templateRef: { name: 'box' }, state: 'Stopped' } }),
        });
        if (!res.ok) throw new Error(`create: ${res.status} ${await res.text()}`);
        const created = performance.now();
        const shown = await seen;
        return { total: shown - t0, afterAnswer: Math.max(0, shown - created) };
      },
      { ns, name },
    ),
  );
}
await browser.close();
console.log(
  JSON.stringify({
    sandboxes: N,
    listMs: { median: round(median(loads)), all: loads.map(round) },
    firstLoadScriptBytes: transferred,
    createToScreenMs: { median: round(median(events.map((e) => e.total))), max: round(Math.max(...events.map((e) => e.total))) },
    afterCreateAnswerMs: { median: round(median(events.map((e) => e.afterAnswer))) },
  }),
);
