// size.mjs: the JavaScript and CSS the first view loads (index.html's own scripts and styles and what they
// preload), gzip-compressed as a server would send them, and the lazily loaded chunks apart.
//   node scripts/size.mjs [DIST]   (default dist; run `make web` first)
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = process.argv[2] ?? new URL('../dist', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const first = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]));
const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let firstJs = 0;
let firstAll = 0;
for (const f of readdirSync(join(dist, 'assets')).map((f) => `assets/${f}`).sort()) {
  const size = gz(f);
  const isFirst = first.has(f);
  if (isFirst) {
    firstAll += size;
    if (f.endsWith('.js')) firstJs += size;
  }
  console.log(`${isFirst ? 'first view' : 'lazy      '}  ${kb(size).padStart(9)} gzip  ${f}`);
}
console.log(`first view: JavaScript ${kb(firstJs)} gzip, with CSS ${kb(firstAll)} gzip (target: JavaScript <= 250 KB)`);
