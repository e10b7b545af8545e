// The browser-test harness: Debian's chromium driven by playwright-core, axe-core accessibility
// checks, RFC 6238 codes for two-factor sign-in, and a small ordered test runner.
//
// Guarantees:
// - Never downloads a browser: `launch()` runs /usr/bin/chromium (Debian's; install it with
//   scripts/browser-deps) with background networking, sync and component updates off, so the only
//   traffic is to the pages a test opens.
// - Every launch starts from a fresh, empty profile in a new temporary directory (cookies, storage
//   and cache never leak from one run to the next); `browser.close()` removes it.
// - `axeCheck` fails on any WCAG 2.0/2.1/2.2 A or AA violation and says which rule, how bad and where
//   (save a finding the caller accepts by name and element).
// - `assertNoSidewaysScroll` fails if a page is wider than a narrow screen, naming what sticks out.
// - `run()` prints one `ok - name` / `not ok - name` line per test, then exactly one summary line
//   `browser: N passed, M failed`, and exits 1 if anything failed (a hung test fails after its timeout).

import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// The accessibility standard Confidant's pages are held to: WCAG 2.2 level AA (which includes A,
// and the 2.0 and 2.1 criteria).
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/**
 * Starts Debian's chromium, headless, with a fresh temporary profile (playwright makes a new
 * user-data-dir for every launch and deletes it on `close()`). Returns a playwright `Browser`: make
 * one `browser.newContext()` per simulated user, so each has its own cookies.
 */
export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/browser-deps (installs Debian's chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * Collects what a page reports as errors from now on: console errors (which include CSP refusals,
 * such as a blocked stylesheet or inline script) and uncaught exceptions. Returns the live array.
 */
export function consoleErrors(page) {
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

// RFC 4648 base32, as authenticator apps take TOTP secrets: case-insensitive, padding and spaces
// ignored.
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.toUpperCase().replace(/[\s=]/g, '');
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const ch of clean) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${JSON.stringify(ch)}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/**
 * The RFC 6238 one-time code for a base32 secret at a Unix time in seconds: HMAC-SHA-1, 30-second
 * steps, 6 digits (what Confidant and authenticator apps use). Returns a zero-padded string.
 */
export function totp(base32Secret, unixTimeSeconds, { digits = 6, period = 30 } = {}) {
  const key = base32Decode(base32Secret);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixTimeSeconds / period)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f; // RFC 4226 dynamic truncation
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * Runs axe on the page as it is now, against WCAG 2.2 AA. Throws, naming `label`, every violated
 * rule with its impact and the selectors of the offending elements. Returns axe's results (with
 * `incomplete`, the checks a person must review) when there is no violation.
 *
 * `accept` maps a rule's id to a test of one offending element's HTML: a violation of that rule is
 * let through only if every element it names passes the test (so the caller states exactly which
 * known, documented finding it accepts, and any other element still fails). Accepted findings are
 * returned as `results.accepted`.
 *
 * Axe runs in the page itself (`axe.run`, the builder's "legacy mode"): the same rules and results
 * for a page and its same-origin frames, in about half the time of the default, which finishes every
 * run in a new blank tab. Only cross-origin frames would go unchecked, and Confidant's pages have no
 * frames at all.
 */
export async function axeCheck(page, label, { accept = {} } = {}) {
  const results = await new AxeBuilder({ page }).withTags(AXE_TAGS).setLegacyMode().analyze();
  const accepted = (v) => accept[v.id] !== undefined && v.nodes.every((n) => accept[v.id](n.html));
  results.accepted = results.violations.filter(accepted);
  const violations = results.violations.filter((v) => !accepted(v));
  if (violations.length > 0) {
    const lines = violations.map((v) => {
      const targets = v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(' | ');
      const more = v.nodes.length > 5 ? ` (and ${v.nodes.length - 5} more)` : '';
      return `  ${v.id} [${v.impact ?? 'unknown impact'}]: ${v.help}\n    at ${targets}${more}`;
    });
    throw new Error(
      `axe: ${violations.length} accessibility violation(s) on ${label}:\n${lines.join('\n')}`,
    );
  }
  return results;
}

/**
 * Throws, naming `label` and the first elements that stick out, if the page scrolls sideways at
 * `width` CSS pixels wide (WCAG 1.4.10 reflow; a wide table may scroll inside its own box). The
 * viewport is put back after.
 */
export async function assertNoSidewaysScroll(page, width, label) {
  const before = page.viewportSize();
  await page.setViewportSize({ width, height: 844 });
  try {
    const { scrollWidth, sticking } = await page.evaluate((narrow) => {
      const out = [];
      for (const el of document.body.querySelectorAll('*')) {
        const parent = el.parentElement;
        if (el.getBoundingClientRect().right > narrow && parent.getBoundingClientRect().right <= narrow) {
          out.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${[...el.classList].map((c) => `.${c}`).join('')}`);
        }
      }
      return { scrollWidth: document.documentElement.scrollWidth, sticking: out.slice(0, 5) };
    }, width);
    if (scrollWidth > width) {
      throw new Error(`${label} scrolls sideways at ${width} px: ${scrollWidth} px wide; sticking out: ${sticking.join(', ')}`);
    }
  } finally {
    if (before) await page.setViewportSize(before);
  }
}

// ----------------------------------------------------------------------------------------------
// The runner.

const tests = [];
const teardowns = [];

/** Registers a test; tests run one at a time, in the order registered. */
export function test(name, fn, { timeout = 60_000 } = {}) {
  tests.push({ name, fn, timeout });
}

/** Registers clean-up (closing the browser, stopping a server) to run after every test. */
export function after(fn) {
  teardowns.push(fn);
}

function withTimeout(promise, ms, what) {
  let timer;
  const expired = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function report(error) {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return text.split('\n').map((line) => `  # ${line}`).join('\n');
}

/** Runs the registered tests and clean-ups, prints the summary line, and ends the process. */
export async function run() {
  let passed = 0;
  let failed = 0;
  for (const { name, fn, timeout } of tests) {
    try {
      await withTimeout(Promise.resolve().then(fn), timeout, `test "${name}"`);
      passed += 1;
      console.log(`ok - ${name}`);
    } catch (error) {
      failed += 1;
      console.log(`not ok - ${name}`);
      console.log(report(error));
    }
  }
  for (const fn of teardowns) {
    try {
      await withTimeout(Promise.resolve().then(fn), 30_000, 'clean-up');
    } catch (error) {
      failed += 1;
      console.log('not ok - clean-up after the tests');
      console.log(report(error));
    }
  }
  console.log(`browser: ${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
  // Exit even if something a test started (a server, a browser) is still holding the event loop.
  setTimeout(() => process.exit(), 2_000).unref();
}
