#!/usr/bin/env node
// The seed's example: create a sandbox from the project's default template, run the tests in it as an
// ExecutionTask (its output streamed here as it comes), and register the report they wrote as an
// Artifact. Usage:
//   node examples/seed.mjs --project demo [--kubeconfig FILE] [--command 'npm test'] [--report report.txt]
//                          [--delete]
// Exits with the command's exit code. The sandbox is kept (the report's bytes are read from it, e.g.
// with client.downloadArtifact) unless --delete is given.
import { parseArgs } from 'node:util';
import { MboxClient } from '@mbox/sdk';

const { values: args } = parseArgs({
  options: {
    project: { type: 'string' },
    kubeconfig: { type: 'string' },
    command: { type: 'string', default: 'npm test' },
    report: { type: 'string', default: 'report.txt' },
    delete: { type: 'boolean', default: false },
  },
});
if (!args.project) {
  console.error('usage: seed.mjs --project PROJECT [--kubeconfig FILE] [--command CMD] [--report FILE] [--delete]');
  process.exit(2);
}

const client = new MboxClient({ project: args.project, kubeconfigPath: args.kubeconfig });
// Ctrl-C ends every wait and stream at once
const ac = new AbortController();
process.once('SIGINT', () => ac.abort());
const signal = ac.signal;

const name = `seed-${Date.now().toString(36)}`;
const sandbox = await client.createSandbox(name, { waitUntilRunning: true, signal });
console.error(`sandbox ${name} is ${sandbox.status.phase} (template ${sandbox.status.template?.name})`);
try {
  // the directory the command runs in: the report's path is taken from it
  const pwd = await client.exec(name, ['pwd'], { stdin: false, signal });
  let dir = '';
  for await (const chunk of pwd.stdout) dir += chunk;
  await pwd.exitCode;
  dir = dir.trim();

  const task = await client.runTask(name, ['sh', '-c', args.command], { workingDir: dir, signal });
  for await (const { stream, data } of task.output({ signal })) (stream === 'stdout' ? process.stdout : process.stderr).write(data);
  const result = await task.wait({ signal });
  console.error(`task ${task.name}: ${result.phase}, exit code ${result.exitCode ?? 'none'}`);

  const report = args.report.startsWith('/') ? args.report : `${dir}/${args.report}`;
  const artifact = await client.createArtifact({ task: task.name, path: report, kind: 'report', title: 'Test report', signal });
  console.error(`registered ${report} as artifact ${artifact.metadata.name}`);
  process.exitCode = result.exitCode ?? 1;
} finally {
  if (args.delete) await client.deleteSandbox(name);
}
