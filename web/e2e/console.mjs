// console.mjs: drives the console in headless Chromium (Debian's, through playwright-core) as a Developer
// would, for tests/integration/test-console.sh: sign in, open the project, launch a sandbox from a template,
// type in its terminal, run a task, watch its history grow, stop and start it, and visit every view at
// 1280x800 and 390x844 with a screenshot and an axe-core check of each. Prints one JSON line per step on
// stdout ({step, ok, ...what it saw}); the first step that fails prints {step, error} and exits 1.
//
//   node web/e2e/console.mjs URL TOKEN PROJECT TEMPLATE SANDBOX OUTDIR
//   node web/e2e/console.mjs preview URL TOKEN PROJECT SANDBOX PORT OUTDIR
// The second form opens the sandbox's Preview tab, opens PORT through a preview link and prints what the
// new tab shows.
//
// Environment: CHROMIUM (default /usr/bin/chromium); E2E_WAIT seconds to wait for a sandbox (default 240).
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const previewMode = process.argv[2] === 'preview';
const [url, token, project, template, sandbox, outdir] = previewMode
  ? [process.argv[3], process.argv[4], process.argv[5], '', process.argv[6], process.argv[8]]
  : process.argv.slice(2);
const previewPort = process.argv[7];
if (!outdir) {
  console.error('usage: console.mjs URL TOKEN PROJECT TEMPLATE SANDBOX OUTDIR | preview URL TOKEN PROJECT SANDBOX PORT OUTDIR');
  process.exit(2);
}
const wait = 1000 * Number(process.env.E2E_WAIT || 240);
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
mkdirSync(outdir, { recursive: true });

let current = 'launch';
const say = (o) => console.log(JSON.stringify({ step: current, ok: true, ...o }));

// axe on the page as it is: serious and critical violations fail the step
async function axe(page, name) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length)
    throw new Error(`axe: ${name}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`).join('; ')}`);
  return r.violations.length;
}

async function shoot(page, name) {
  await page.screenshot({ path: `${outdir}/${name}.png`, fullPage: false });
}

const phaseBadge = (page) => page.locator('.titlebar .phase').first();
async function waitPhase(page, phase) {
  await page.locator('.titlebar .phase', { hasText: new RegExp(`^${phase}$`) }).first().waitFor({ timeout: wait });
}

// the text the terminal shows (xterm's rows)
const screenText = (page) => page.locator('.xterm-rows').innerText();

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
  const context = await browser.newContext({ viewport: SIZES.desktop });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  const base = `/projects/${encodeURIComponent(project)}`;
  const ws = `${base}/sandboxes/${encodeURIComponent(sandbox)}`;
  try {
    current = 'signin';
    await page.goto(url);
    await page.getByLabel('Bearer token').waitFor();
    await shoot(page, 'flow-signin');
    await axe(page, 'signin');
    await page.getByLabel('Bearer token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refused = await page.locator('.signin [role=alert]').innerText();
    await page.getByLabel('Bearer token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    const cookieSeen = await page.evaluate(() => document.cookie);
    say({ refused, user: await page.locator('header .me').innerText(), documentCookie: cookieSeen });

    current = 'projects';
    await page.getByLabel('Project name').waitFor();
    await shoot(page, 'flow-projects');
    await axe(page, 'projects');
    const note = await page.locator('main .note, main .error, main table').first().innerText();
    say({ note: note.slice(0, 300) });

    current = 'project';
    await page.getByLabel('Project name').fill(project);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('heading', { name: 'Sandboxes' }).waitFor();
    await page.locator('#sandboxes, main .empty').first().waitFor();
    await shoot(page, 'flow-project');
    await axe(page, 'project');
    say({ path: new URL(page.url()).pathname });

    // a name that is taken: the server's refusal is shown
    current = 'launch-taken';
    await page.getByRole('link', { name: 'Launch a sandbox' }).click();
    await page.getByLabel('Template').selectOption(template);
    await page.getByLabel('Name').fill('box');
    await page.getByRole('button', { name: 'Launch' }).click();
    say({ refusal: await page.locator("main [role=alert], main .field-error").first().innerText() });

    current = 'launch';
    await page.getByLabel('Name').fill(sandbox);
    const derived = await page.locator('.derived').innerText();
    await shoot(page, 'flow-launch');
    await axe(page, 'launch');
    await page.getByRole('button', { name: 'Launch' }).click();
    await page.waitForURL(`**${ws}`);
    const starting = await page.locator('.starting').innerText().catch(() => '');
    await shoot(page, 'flow-starting');
    say({ derived, starting: starting.slice(0, 200) });

    current = 'running';
    const t0 = Date.now();
    await waitPhase(page, 'Running');
    say({ seconds: Math.round((Date.now() - t0) / 1000) });

    current = 'terminal';
    await page.getByText('Connected.').waitFor({ timeout: 60_000 });
    await page.locator('.xterm-host').click();
    // the shell's prompt first, then the command
    await page.waitForFunction(() => (document.querySelector('.xterm-rows')?.textContent ?? '').trim().length > 0, null, { timeout: 30_000 });
    await page.keyboard.type('echo $((6*7))\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((r) => r.textContent.trim() === '42'), null, { timeout: 30_000 });
    await shoot(page, 'flow-terminal');
    await axe(page, 'terminal');
    say({ screen: (await screenText(page)).trim().split('\n').filter(Boolean).slice(-4) });

    current = 'tasks';
    await page.getByRole('tab', { name: 'Tasks' }).click();
    await page.getByLabel('Command').fill('echo task-says-hi; echo to-stderr >&2; exit 3');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('.task-result .exit-code').waitFor({ timeout: 120_000 });
    await page.locator('pre.output', { hasText: 'task-says-hi' }).waitFor({ timeout: 30_000 });
    const result = await page.locator('.task-result').innerText();
    const output = await page.locator('.task-output pre.output').innerText();
    await shoot(page, 'flow-tasks');
    await axe(page, 'tasks');
    say({ result, output });

    current = 'history';
    await page.getByRole('tab', { name: 'History' }).click();
    await page.locator('#history tbody tr').first().waitFor();
    const before = await page.locator('#history tbody tr').count();
    const boxes = page.locator('#history tbody input[type=checkbox]');
    await boxes.first().check();
    await boxes.last().check();
    await page.locator('.diff table').waitFor();
    await shoot(page, 'flow-history');
    await axe(page, 'history');
    say({ states: before, changes: await page.locator('.diff tbody tr').count() });

    current = 'stop';
    await page.getByRole('button', { name: `Stop ${sandbox}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
    await waitPhase(page, 'Stopped');
    await page.waitForFunction((n) => document.querySelectorAll('#history tbody tr').length > n, before, { timeout: 30_000 });
    const afterStop = await page.locator('#history tbody tr').count();
    await shoot(page, 'flow-stopped');
    say({ states: afterStop });

    current = 'start';
    await page.getByRole('button', { name: `Start ${sandbox}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Start' }).click();
    await waitPhase(page, 'Running');
    await page.waitForFunction((n) => document.querySelectorAll('#history tbody tr').length > n, afterStop, { timeout: 30_000 });
    say({ states: await page.locator('#history tbody tr').count(), phase: await phaseBadge(page).innerText() });

    // the keyboard alone: arrows move between the tabs, Escape cancels a confirmation, and from the top of
    // the page Tab reaches the workspace's actions
    current = 'keyboard';
    await page.locator('#tab-history').focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL('**/events');
    const focused = await page.evaluate(() => document.activeElement?.id);
    await page.getByRole('button', { name: `Stop ${sandbox}` }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.locator('a.skip').focus();
    let reached = '';
    for (let i = 0; i < 30 && !reached; i++) {
      await page.keyboard.press('Tab');
      const label = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
      if (label.startsWith('Stop ')) reached = label;
    }
    say({ focused, phase: await phaseBadge(page).innerText(), reached });

    // every view at both sizes: a screenshot and axe
    const views = [
      ['projects', '/'],
      ['project', base],
      ['launch', `${base}/launch`],
      ['templates', `${base}/templates`],
      ['template-new', `${base}/templates/_new`],
      ...['terminal', 'tasks', 'history', 'events', 'logs', 'preview', 'storage', 'artifacts', 'sessions'].map((t) => [t, `${ws}/${t}`]),
    ];
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      for (const [name, path] of views) {
        current = `${size}-${name}`;
        await page.goto(new URL(path, url).href);
        await page.locator('main h1').first().waitFor();
        // what loads has loaded (a view still loading shows role=status "Loading …")
        await page.waitForFunction(() => ![...document.querySelectorAll('.state[role=status]')].some((e) => e.textContent.startsWith('Loading')), null, { timeout: 30_000 });
        if (name === 'terminal') await page.getByText('Connected.').waitFor({ timeout: 60_000 });
        await shoot(page, `${size}-${name}`);
        const minor = await axe(page, `${size} ${name}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        say({ minorViolations: minor, horizontalOverflow: overflow });
      }
    }

    // the Storage tab shows the sandbox's workspace claim: its requested size and its state
    current = 'storage';
    await page.goto(new URL(`${ws}/storage`, url).href);
    const claims = page.getByRole('table', { name: 'Volume claims' });
    await claims.waitFor({ timeout: 30_000 });
    say({ claims: await claims.innerText() });

    // a Developer may not edit templates: the refusal names what the role lacks
    current = 'forbidden';
    await page.goto(new URL(`${base}/templates/${encodeURIComponent(template)}`, url).href);
    await page.getByLabel('Runtime type').fill('changed');
    await page.getByRole('button', { name: 'Save' }).click();
    say({ alert: await page.locator('main .error.forbidden').innerText() });

    current = 'signout';
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Bearer token').waitFor();
    const after = await page.evaluate(() => fetch('/console/whoami').then((r) => r.status));
    say({ whoamiAfter: after, consoleErrors: consoleErrors.filter((e) => !/status of 4\d\d/.test(e)) });
  } catch (e) {
    await page.screenshot({ path: `${outdir}/failed-${current}.png` }).catch(() => undefined);
    console.log(JSON.stringify({ step: current, error: String(e?.message ?? e).slice(0, 2000), text: (await page.locator('body').innerText().catch(() => '')).slice(0, 1500) }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

// the Preview tab: Open makes a grant and points a new tab at its link
async function preview() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium' });
  const context = await browser.newContext({ viewport: SIZES.desktop });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  try {
    current = 'signin';
    const r = await context.request.post(`${url}/console/signin`, { data: { token } });
    if (!r.ok()) throw new Error(`sign-in: ${r.status()} ${await r.text()}`);
    current = 'preview';
    await page.goto(`${url}/projects/${encodeURIComponent(project)}/sandboxes/${encodeURIComponent(sandbox)}/preview`);
    const open = page.getByRole('button', { name: `Open ${previewPort} through a preview link` });
    await open.waitFor();
    const ports = await page.locator('#tabpanel table').innerText();
    const [tab] = await Promise.all([context.waitForEvent('page'), open.click()]);
    await tab.waitForURL(/^http:\/\/.*preview/, { timeout: 30_000 });
    await tab.waitForLoadState();
    await shoot(page, 'flow-preview');
    await axe(page, 'preview');
    say({ ports, url: tab.url(), text: (await tab.locator('body').innerText()).slice(0, 500) });
  } catch (e) {
    await page.screenshot({ path: `${outdir}/failed-${current}.png` }).catch(() => undefined);
    console.log(JSON.stringify({ step: current, error: String(e?.message ?? e).slice(0, 2000), text: (await page.locator('body').innerText().catch(() => '')).slice(0, 1500) }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

if (previewMode) preview();
else main();
