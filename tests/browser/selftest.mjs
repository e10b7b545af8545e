// Proves the harness in lib.mjs works, without Confidant: Debian's chromium starts and opens a
// local page under Confidant's CSP, axe passes an accessible page and catches a known violation,
// TOTP matches RFC 6238's own test vectors, and the runner counts a failure and exits 1.
//
//   scripts/browser-deps && node tests/browser/selftest.mjs

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, axeCheck, consoleErrors, launch, run, test, totp } from './lib.mjs';

// The same policy Confidant sends: no script at all, styles and images from itself only.
const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const page = (title, body) => `<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="/dot.svg" type="image/svg+xml"><link rel="stylesheet" href="/style.css"></head>
<body>
<header><p>Harness check</p></header>
<main>
${body}
</main>
</body>
</html>`;

const PAGES = {
  '/accessible': page(
    'An accessible page',
    `<h1>An accessible page</h1>
<form method="post" action="/accessible">
  <label for="name">Your name</label>
  <input id="name" name="name" type="text" autocomplete="name">
  <img src="/dot.svg" alt="A green dot">
  <button type="submit">Continue</button>
</form>`,
  ),
  '/image-without-alt': page(
    'A page with a known violation',
    `<h1>A page with a known violation</h1>
<img src="/dot.svg">`,
  ),
};

const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;
  const headers = { 'content-security-policy': CSP, 'cache-control': 'no-store' };
  if (PAGES[path]) {
    res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGES[path]);
  } else if (path === '/style.css') {
    res.writeHead(200, { ...headers, 'content-type': 'text/css; charset=utf-8' });
    res.end('body { font-family: arial, sans-serif; color: #0b0c0c; background: #ffffff; }');
  } else if (path === '/dot.svg') {
    res.writeHead(200, { ...headers, 'content-type': 'image/svg+xml' });
    res.end('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"><circle cx="1" cy="1" r="1" fill="#0f7a52"/></svg>');
  } else {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found');
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await launch();
after(() => browser.close());
after(() => new Promise((resolve) => server.close(resolve)));

test('the browser is Debian chromium with a fresh, empty profile', async () => {
  assert.match(browser.version(), /^\d+\./);
  const context = await browser.newContext();
  try {
    assert.deepEqual(await context.cookies(), []);
  } finally {
    await context.close();
  }
});

test('an accessible page loads under the CSP and passes axe', async () => {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const errors = consoleErrors(tab);
    const response = await tab.goto(`${base}/accessible`);
    assert.equal(response.status(), 200);
    assert.equal(await tab.title(), 'An accessible page');
    // The same-origin stylesheet applied: the CSP let it through.
    const font = await tab.evaluate(() => getComputedStyle(document.body).fontFamily);
    assert.match(font, /arial/i);
    const results = await axeCheck(tab, 'the accessible page');
    assert.ok(results.passes.length > 0, 'axe ran no checks at all');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('axeCheck throws on an image without alt text, naming the rule and the element', async () => {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    await tab.goto(`${base}/image-without-alt`);
    await assert.rejects(axeCheck(tab, 'the page with a known violation'), (error) => {
      assert.match(error.message, /on the page with a known violation/);
      assert.match(error.message, /image-alt \[critical\]/);
      assert.match(error.message, /at img/);
      return true;
    });
  } finally {
    await context.close();
  }
});

test('the CSP blocks inline script, and consoleErrors reports it', async () => {
  const context = await browser.newContext();
  try {
    const tab = await context.newPage();
    const errors = consoleErrors(tab);
    await tab.goto(`${base}/accessible`);
    await tab.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'document.title = "ran"';
      document.body.append(s);
    });
    assert.equal(await tab.title(), 'An accessible page');
    await tab.waitForTimeout(100);
    assert.ok(errors.some((e) => /Content Security Policy/.test(e)), `no CSP error in ${JSON.stringify(errors)}`);
  } finally {
    await context.close();
  }
});

test('totp matches the RFC 6238 SHA-1 test vectors', () => {
  // RFC 6238 appendix B: the ASCII secret "12345678901234567890", 8 digits.
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  const vectors = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [time, code] of vectors) {
    assert.equal(totp(secret, time, { digits: 8 }), code, `8 digits at T=${time}`);
    assert.equal(totp(secret, time), code.slice(2), `6 digits at T=${time}`);
  }
  // Same step, same code; the next step, another; lower case and padding are accepted.
  assert.equal(totp(secret, 1111111080), totp(secret, 1111111109)); // step 37037036 spans 1111111080..109
  assert.notEqual(totp(secret, 1111111111 + 30), totp(secret, 1111111111));
  assert.equal(totp('gezdgnbvgy3tqojq gezdgnbvgy3tqojq====', 59), '287082');
  assert.throws(() => totp('not base32!', 59), /not base32/);
});

test('the runner reports a failing test and exits 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confidant-runner-'));
  try {
    const script = join(dir, 'failing.mjs');
    const lib = pathToFileURL(join(import.meta.dirname, 'lib.mjs')).href;
    writeFileSync(
      script,
      `import { test, run } from ${JSON.stringify(lib)};
test('passes', () => {});
test('fails', () => { throw new Error('deliberate'); });
test('hangs', () => new Promise(() => {}), { timeout: 200 });
await run();
`,
    );
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.status, 1, child.stdout + child.stderr);
    const lines = child.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'ok - passes');
    assert.equal(lines[1], 'not ok - fails');
    assert.ok(lines.includes('not ok - hangs'), child.stdout);
    assert.match(child.stdout, /deliberate/);
    assert.match(child.stdout, /timed out after 200 ms/);
    assert.equal(lines.at(-1), 'browser: 1 passed, 2 failed');
    assert.equal(lines.filter((l) => l.startsWith('browser:')).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

await run();
