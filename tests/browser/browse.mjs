// browse.mjs: drives headless Chromium (the Debian package, through playwright-core) through a list of steps
// in ONE browser context (tabs share its cookies, like one user's browser), and prints what each step saw as
// one JSON line on stdout, for a test to assert on (with jq).
//
//   node tests/browser/browse.mjs STEP...
//
// Steps, each a word followed by its arguments:
//   open TAB URL              open URL in tab TAB (a new tab the first time TAB is named)
//   reload TAB                reload the tab's page
//   wait TAB TEXT [SECONDS]   wait until the tab's page shows TEXT, through any reloads and navigations
//                             (default 60 s); fails with the page's last text when it does not
//   cookies                   the context's cookies
//   copy-cookie NAME FROM TO  copy by hand the value of cookie NAME the context holds for URL FROM into a
//                             cookie NAME for URL TO (host-only), as a user could in the developer tools
// Every page step prints {step, tab, status, url, title, text, documents}: the HTTP status of the page shown,
// its URL and visible text (the first 4000 characters) and `documents`, the status of every page the tab
// loaded since it was opened, in order (redirects excluded). `cookies` prints {step, cookies: [...]} as
// playwright reports them (name, value, domain, path, expires, httpOnly, secure, sameSite).
//
// A step that fails prints {step, error} on stderr and the script exits 1. Environment: CHROMIUM (default
// /usr/bin/chromium); BROWSE_TIMEOUT seconds for one navigation (default 30). Run `npm ci` in this directory
// first (hack/install-deps.sh does).
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const navTimeout = 1000 * Number(process.env.BROWSE_TIMEOUT || 30);
const maxText = 4000;
const arity = { open: 2, reload: 1, wait: 2, cookies: 0, 'copy-cookie': 3 };

// parse: the arguments as steps [{name, args}]; wait's SECONDS is optional
function parse(argv) {
  const steps = [];
  for (let i = 0; i < argv.length; ) {
    const name = argv[i];
    if (!(name in arity)) throw new Error(`unknown step "${name}" (steps: ${Object.keys(arity).join(', ')})`);
    let n = arity[name];
    if (name === 'wait' && /^[0-9]+$/.test(argv[i + 3] ?? '')) n++;
    const args = argv.slice(i + 1, i + 1 + n);
    if (args.length < arity[name]) throw new Error(`step "${name}" needs ${arity[name]} arguments`);
    steps.push({ name, args });
    i += 1 + n;
  }
  return steps;
}

const tabs = new Map(); // name -> {page, documents: [status...]}

async function tab(context, name) {
  let t = tabs.get(name);
  if (t) return t;
  const page = await context.newPage();
  page.setDefaultNavigationTimeout(navTimeout);
  t = { page, documents: [] };
  // every document the tab loads, the starting page's own reloads included
  page.on('response', (r) => {
    const req = r.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame() && !(r.status() >= 300 && r.status() < 400))
      t.documents.push(r.status());
  });
  tabs.set(name, t);
  return t;
}

// seen: what a tab shows now; the text is read again when a navigation replaces the page meanwhile
async function seen(name, t) {
  for (;;) {
    try {
      const text = (await t.page.locator('body').innerText({ timeout: 1000 })).slice(0, maxText);
      return {
        tab: name,
        status: t.documents.at(-1) ?? null,
        url: t.page.url(),
        title: await t.page.title(),
        text,
        documents: t.documents,
      };
    } catch (e) {
      if (!/context was destroyed|navigat|Timeout/i.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function run(context, { name, args }) {
  switch (name) {
    case 'open': {
      const t = await tab(context, args[0]);
      await t.page.goto(args[1]);
      return seen(args[0], t);
    }
    case 'reload': {
      const t = tabs.get(args[0]);
      if (!t) throw new Error(`no tab "${args[0]}"`);
      await t.page.reload();
      return seen(args[0], t);
    }
    case 'wait': {
      const t = tabs.get(args[0]);
      if (!t) throw new Error(`no tab "${args[0]}"`);
      const deadline = Date.now() + 1000 * Number(args[2] || 60);
      for (;;) {
        const s = await seen(args[0], t);
        if (s.text.includes(args[1])) return s;
        if (Date.now() > deadline)
          throw new Error(`"${args[1]}" not shown within ${args[2] || 60}s; the page shows: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    case 'cookies':
      return { cookies: await context.cookies() };
    case 'copy-cookie': {
      const [from] = (await context.cookies(args[1])).filter((c) => c.name === args[0]);
      if (!from) throw new Error(`no cookie "${args[0]}" for ${args[1]}`);
      await context.addCookies([{ name: args[0], value: from.value, url: args[2] }]);
      return { cookie: args[0], from: args[1], to: args[2] };
    }
  }
}

const steps = parse(process.argv.slice(2));
const browser = await chromium.launch({
  executablePath,
  // Chromium's own sandbox cannot run as root
  args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
});
let rc = 0;
try {
  const context = await browser.newContext();
  for (const step of steps) {
    try {
      console.log(JSON.stringify({ step: step.name, ...(await run(context, step)) }));
    } catch (e) {
      console.error(JSON.stringify({ step: step.name, args: step.args, error: String(e.message || e) }));
      rc = 1;
      break;
    }
  }
} finally {
  await browser.close();
}
process.exit(rc);
