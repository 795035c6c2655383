// What the integration suites share: clients of the project that tests/integration/test-sdk.sh made (its
// Developer's and its Viewer's kubeconfigs), and sandboxes that are deleted when a suite ends.
import { randomBytes } from 'node:crypto';
import { MboxClient } from '../../dist/index.js';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run these suites with tests/integration/test-sdk.sh`);
  return v;
}

export const project = need('MBOX_SDK_PROJECT');
export const stateDir = need('MBOX_SDK_STATE_DIR');
export const dev = new MboxClient({ kubeconfigPath: need('MBOX_SDK_KUBECONFIG'), project });
export const viewer = new MboxClient({ kubeconfigPath: need('MBOX_SDK_VIEWER_KUBECONFIG'), project });

export function uniqueName(prefix) {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A Running sandbox of the project's default template, deleted by the returned cleanup. */
export async function runningSandbox(t, prefix = 'sdk', spec) {
  const name = uniqueName(prefix);
  const sb = await dev.createSandbox(name, { waitUntilRunning: true, timeoutMs: 90_000, spec });
  t.after(() => dev.deleteSandbox(name).catch(() => undefined));
  return sb;
}

/** The bytes of a stream, as text. */
export async function text(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The directory the sandbox's commands run in. Under KWOK they run on this machine, in a directory of the
 * pod's own that it gets a moment after it starts (hack/kwok-pods.sh): waits for it.
 */
export async function workdir(sandbox) {
  for (let i = 0; i < 120; i++) {
    const s = await dev.exec(sandbox, ['pwd'], { stdin: false });
    const [out] = await Promise.all([text(s.stdout), s.exitCode]);
    const dir = out.trim();
    if (dir.startsWith(`${stateDir}/pods/`)) return dir;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`sandbox ${sandbox} never got its own directory`);
}
