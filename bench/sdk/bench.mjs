// The SDK beside the mbox command, alternating in one run on one project (bench/sdk/run.sh sets it up):
//   1. createSandbox(waitUntilRunning) beside `mbox sandbox create --wait`: from the call (the process's
//      start) to the sandbox Running;
//   2. runTask(['true']) then wait() beside `mbox task run SB -- true`: to the task's end; and the SDK
//      following the task's output to its end as the command does (collect()).
// The SDK is timed inside this process (a client made once, as an automation client keeps one), the
// command as a whole process (start-up, kubeconfig, TLS included). Prints the table on stdout.
// Env: BENCH_NS, BENCH_MBOX (the mbox binary), BENCH_SANDBOXES (runs of 1), BENCH_TASKS (runs of 2).
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { MboxClient } from '@mbox/sdk';

const ns = process.env.BENCH_NS;
const mbox = process.env.BENCH_MBOX;
const sandboxes = Number(process.env.BENCH_SANDBOXES ?? 10);
const tasks = Number(process.env.BENCH_TASKS ?? 20);
const client = new MboxClient({ namespace: ns });
const say = (m) => console.error(`${new Date().toISOString().slice(11, 19)}  ${m}`);

// the wall time of fn in ms, or null when it failed (counted and said, not timed)
const failures = { sdk: 0, mbox: 0 };
async function timed(fn, side) {
  const t0 = performance.now();
  try {
    await fn();
  } catch (e) {
    failures[side]++;
    say(`${side}: ${e.message.split('\n')[0]}`);
    return null;
  }
  return performance.now() - t0;
}
const push = (xs, x) => x !== null && xs.push(x);
const cli = (...args) => () => execFileSync(mbox, args, { stdio: ['ignore', 'ignore', 'inherit'] });

const sdk = { create: [], task: [], output: [] };
const cmd = { create: [], task: [] };

say(`1. ${sandboxes} sandboxes each through the SDK and mbox sandbox create --wait, alternating`);
for (let i = 0; i < sandboxes; i++) {
  push(sdk.create, await timed(() => client.createSandbox(`sdk-${i}`, { waitUntilRunning: true, timeoutMs: 120_000 }), 'sdk'));
  push(cmd.create, await timed(cli('sandbox', 'create', '-n', ns, `cli-${i}`, '--wait', '--timeout', '2m'), 'mbox'));
}
// the tasks run in one sandbox, warmed up by one run of each
await timed(async () => (await client.runTask('sdk-0', ['true'])).wait(), 'sdk');
await timed(cli('task', 'run', '-n', ns, 'sdk-0', '--', 'true'), 'mbox');
say(`2. ${tasks} tasks running true each through the SDK and mbox task run, alternating`);
for (let i = 0; i < tasks; i++) {
  push(sdk.task, await timed(async () => {
    const r = await (await client.runTask('sdk-0', ['true'])).wait();
    if (r.exitCode !== 0) throw new Error(`task ${r.task.metadata.name} ${r.phase}: ${r.message ?? r.reason}`);
  }, 'sdk'));
  push(cmd.task, await timed(cli('task', 'run', '-n', ns, 'sdk-0', '--', 'true'), 'mbox'));
  push(sdk.output, await timed(async () => {
    const r = await (await client.runTask('sdk-0', ['true'])).collect();
    if (r.exitCode !== 0) throw new Error(`task ${r.task.metadata.name} ${r.phase}: ${r.message ?? r.reason}`);
  }, 'sdk'));
}

function pctl(p, xs) {
  const a = [...xs].sort((x, y) => x - y);
  const i = Math.min(a.length, Math.max(1, Math.round(p * a.length)));
  return a[i - 1];
}
const cell = (xs) => `${pctl(0.5, xs).toFixed(1)} / ${pctl(0.9, xs).toFixed(1)}`;
const row = (what, a, b) =>
  console.log(`${what.padEnd(40)} | ${cell(a).padEnd(16)} | ${cell(b).padEnd(16)} | ${(pctl(0.5, a) / pctl(0.5, b)).toFixed(2)}`);
console.log(`\nbench-sdk: @mbox/sdk beside the mbox command, ms (p50 / p90); node ${process.version}`);
console.log(`${'figure'.padEnd(40)} | ${'sdk'.padEnd(16)} | ${'mbox'.padEnd(16)} | ratio`);
row(`create to Running (${sandboxes} runs)`, sdk.create, cmd.create);
row(`task run true to its end (${tasks} runs)`, sdk.task, cmd.task);
row(`  the SDK following its output too`, sdk.output, cmd.task);
console.log(`failed runs (not timed): sdk ${failures.sdk}, mbox ${failures.mbox}`);
