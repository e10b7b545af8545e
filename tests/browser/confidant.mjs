// Confidant's staff pages in a real browser: signing in with a password and TOTP (enrolment,
// recovery codes, a second sign-in with a fresh code), the idle lock (a page hides itself at the
// limit without JavaScript, and unlocking comes back to it), CSRF refusals, scope (a worker
// of another service gets "Page not found"; the record's own worker sees "who has seen this record"),
// breaking the glass, the service-user record (a referral triaged and accepted into a record, a
// declined one erased, a field group corrected with its recipients banner and history, case notes,
// documents uploaded and downloaded, the rest of the record's pages, and a form completed by keyboard
// alone), and axe (WCAG 2.2 AA), "no console errors" (so no CSP refusals) and "no sideways scrolling
// at 390 px wide" on every main page, the task inbox, the warning of a possible duplicate,
// correcting a case note or marking it as entered in error, and the administration pages (services,
// teams, scopes, staff names).
//
// It drives a running Confidant described by CONFIDANT_BROWSER_FIXTURE, a JSON object:
//
//   { "baseUrl": "http://127.0.0.1:PORT",
//     "idleSeconds": 20,                      the server's CONFIDANT_SESSION_IDLE_SECONDS
//     "accounts": { "practitionerA": { "handle": "...", "password": "..." },   service A
//                   "practitionerB": { ... },                                  service B
//                   "administrator": { ... },
//                   "dpo": { ... } },                                          Data Protection Officer
//     "personId": "..." }                      a person of service A
//
// The accounts must be new (never signed in: the first sign-in enrols TOTP) with training recorded.
// crates/cli/tests/browser.rs builds all this with the real binary and runs this file:
//
//   cargo test -p confidant --test browser -- --nocapture
//
// The server's idle timeout is short (seconds), so any signed-in page may find its session locked
// after a pause (another test), and a page left open replaces itself with the lock page at the limit:
// `visit()` unlocks with the password when that happens, and every form is filled straight after a
// fresh `visit()`. The limit is long enough that no page refreshes while a test is using it.

import assert from 'node:assert/strict';
import { after, assertNoSidewaysScroll, axeCheck, launch, run, test, totp } from './lib.mjs';

const fixture = JSON.parse(process.env.CONFIDANT_BROWSER_FIXTURE ?? 'null');
if (!fixture) {
  console.error('CONFIDANT_BROWSER_FIXTURE is not set: run this from crates/cli/tests/browser.rs');
  process.exit(2);
}
const { baseUrl, idleSeconds, personId, reviewId } = fixture;
const accounts = fixture.accounts;
for (const name of ['practitionerA', 'practitionerB', 'administrator', 'dpo']) {
  assert.ok(accounts[name]?.handle && accounts[name]?.password, `fixture: accounts.${name}`);
}
assert.ok(baseUrl && personId && idleSeconds > 0, 'fixture: baseUrl, personId, idleSeconds');

const url = (path) => new URL(path, baseUrl).href;
const pathOf = (page) => new URL(page.url()).pathname;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const STEP = 30;
const stepNow = () => Math.floor(Date.now() / 1000 / STEP);

const browser = await launch();
after(() => browser.close());

// ----------------------------------------------------------------------------------------------
// Tabs that remember what went wrong in them.

/**
 * A new tab in `context` that records console errors and uncaught exceptions (CSP refusals are
 * console errors). Chromium also logs "Failed to load resource: ... status of 404" for a page that
 * answers 4xx; those are expected for the documents `expect4xx` was told about, and only those.
 */
async function openTab(context) {
  const page = await context.newPage();
  const errors = [];
  const expected = new Set();
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const at = message.location()?.url ?? '';
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text) && expected.has(at)) {
      return;
    }
    errors.push(`${text} (at ${at || page.url()})`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  page.on('response', (response) => {
    if (response.request().isNavigationRequest() && response.status() >= 400) expected.add(response.url());
  });
  return { page, errors };
}

function assertNoConsoleErrors(tab, label) {
  const errors = tab.errors.splice(0);
  assert.deepEqual(errors, [], `console errors on ${label}`);
}

/**
 * The idle lock's refresh, `<meta http-equiv="refresh" content="N;url=/lock?return=…">`: axe's
 * `meta-refresh` rule (WCAG 2.2.1, timing adjustable) flags any delayed refresh under 20 hours. It
 * is a security time-out, and the accessibility statement says it cannot be extended; it is
 * accepted only as the lock's own, with the server's idle limit as its delay.
 */
const LOCK_REFRESH = new RegExp(`^${idleSeconds};url=/lock(\\?return=/[a-z0-9/._-]*)?$`);
const isLockRefresh = (html) => {
  const content = /^<meta http-equiv="refresh" content="([^"]*)">$/.exec(html)?.[1];
  return content !== undefined && LOCK_REFRESH.test(content);
};

/** The width the issue names: a small phone. */
const NARROW = 390;

/**
 * Axe on the page as it is now, the lock's refresh on every signed-in page (and no other), the page
 * at 390 px wide, and no console errors so far in this tab.
 */
async function check(tab, label) {
  const { page } = tab;
  await axeCheck(page, label, { accept: { 'meta-refresh': isLockRefresh } });
  const signedIn = (await page.locator('nav[aria-label="Main"]').count()) > 0;
  const refreshes = await page.locator('meta[http-equiv="refresh"]').evaluateAll((ms) => ms.map((m) => m.outerHTML));
  if (signedIn) {
    assert.equal(refreshes.length, 1, `${label}: the idle lock's refresh`);
    assert.ok(isLockRefresh(refreshes[0]), `${label}: ${refreshes[0]}`);
  } else {
    assert.deepEqual(refreshes, [], `${label}: a page without a session refreshes to nothing`);
  }
  await assertNoSidewaysScroll(page, NARROW, label);
  assertNoConsoleErrors(tab, label);
}

/** Clicks something that submits a form (or follows a link) and waits for the next document. */
async function submit(page, locator) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  return response;
}

const button = (page, name) => page.locator('main').getByRole('button', { name, exact: true });
const heading = (page) => page.locator('h1').first().innerText();

// ----------------------------------------------------------------------------------------------
// Accounts: sign-in, TOTP and the idle lock.

/** What the tests learn about each account: its TOTP secret and the last step it used. */
const known = new Map(Object.keys(accounts).map((name) => [name, { secret: null, lastStep: -1 }]));

/**
 * Waits until a code from a new 30-second step can be used: a code is single-use, so a second
 * sign-in within one step must wait for the next. Done before the password is sent, because a
 * half-finished sign-in lasts only the idle timeout.
 */
async function awaitFreshStep(name) {
  const { lastStep } = known.get(name);
  while (stepNow() <= lastStep) {
    const next = (lastStep + 1) * STEP * 1000;
    await sleep(Math.max(100, next - Date.now() + 200));
  }
}

/** Gives the password on the sign-in page; returns the response (the enrol or two-factor page). */
async function givePassword(page, name, password = accounts[name].password) {
  await page.goto(url('/sign-in'));
  assert.equal(pathOf(page), '/sign-in');
  await page.fill('#handle', accounts[name].handle);
  await page.fill('#password', password);
  return submit(page, button(page, 'Sign in'));
}

/**
 * Signs `name` in on `tab` from the start: password, then enrolment (first time; returns the
 * recovery codes shown) or a fresh TOTP code. Ends on the dashboard. `onRecoveryCodes` runs on the
 * recovery codes page, before continuing.
 */
async function signIn(tab, name, { onRecoveryCodes } = {}) {
  const { page } = tab;
  const state = known.get(name);
  await awaitFreshStep(name);
  await givePassword(page, name);
  let codes = null;
  if (pathOf(page) === '/sign-in/enrol') {
    state.secret = (await page.locator('#totp-secret').innerText()).trim();
    const step = stepNow();
    await page.fill('#code', totp(state.secret, step * STEP));
    const response = await submit(page, button(page, 'Continue'));
    assert.equal(response.status(), 200, `enrolment of ${name}: ${await heading(page)}`);
    state.lastStep = step;
    codes = await page.locator('#recovery-codes li').allInnerTexts();
    if (onRecoveryCodes) await onRecoveryCodes(codes);
    await submit(page, page.getByRole('link', { name: 'Continue to Confidant' }));
    if (pathOf(page) === '/lock') await unlock(tab, name);
  } else {
    assert.equal(pathOf(page), '/sign-in/two-factor', `after the password of ${name}`);
    assert.ok(state.secret, `${name} is enrolled but this run did not see the secret`);
    const step = stepNow();
    await page.fill('#code', totp(state.secret, step * STEP));
    await submit(page, button(page, 'Sign in'));
    state.lastStep = step;
  }
  assert.equal(pathOf(page), '/', `${name} lands on the dashboard`);
  assert.equal(await heading(page), 'Dashboard');
  return codes;
}

/** Unlocks on the lock page; it goes back to the page the lock hid (or the dashboard). */
async function unlock(tab, name) {
  const { page } = tab;
  const back = new URL(page.url()).searchParams.get('return') ?? '/';
  await page.fill('#password', accounts[name].password);
  await submit(page, button(page, 'Unlock'));
  assert.equal(pathOf(page), back, `unlocked ${name}`);
}

/** One browser context (own cookies) per account, signed in once and reused. */
const sessions = new Map();

async function as(name) {
  let session = sessions.get(name);
  if (!session) {
    const context = await browser.newContext();
    const tab = await openTab(context);
    await signIn(tab, name);
    session = { name, context, ...tab, tab };
    sessions.set(name, session);
  }
  return session;
}
after(async () => {
  for (const { context } of sessions.values()) await context.close();
});

/**
 * Opens a page as a signed-in account. If the session locked while idle (the server's idle timeout
 * is seconds), unlocks it with the password and opens the page again. Returns the response.
 */
let idleUnlocks = 0;
after(() => console.log(`# sessions found locked by the ${idleSeconds}-second idle timeout and unlocked: ${idleUnlocks}`));

async function visit(session, path) {
  const { page } = session;
  let response = await page.goto(url(path));
  if (pathOf(page) === '/lock' && path !== '/lock') {
    idleUnlocks += 1;
    await unlock(session.tab, session.name);
    response = await page.goto(url(path));
  }
  return response;
}

async function csrfOf(page) {
  return page.locator('main input[name="csrf"]').first().inputValue();
}

// ----------------------------------------------------------------------------------------------
// a. Signing in.

test('a. sign in with password and TOTP: enrol, 10 recovery codes, dashboard; sign out; sign in again with a fresh code', async () => {
  const context = await browser.newContext();
  const tab = await openTab(context);
  const { page } = tab;
  const codes = await signIn(tab, 'practitionerA', {
    onRecoveryCodes: async () => {
      assert.equal(await heading(page), 'Two-factor sign-in is set up');
      await check(tab, 'the recovery codes page');
    },
  });
  assert.equal(codes.length, 10, `recovery codes: ${JSON.stringify(codes)}`);
  for (const code of codes) assert.match(code.trim(), /^[a-z2-7]{5}-[a-z2-7]{5}$/);
  assert.equal(new Set(codes).size, 10, 'the recovery codes are distinct');
  assert.match(await page.locator('main').innerText(), new RegExp(`Signed in as ${accounts.practitionerA.handle}`));

  // Sign out from the navigation: the session ends.
  await submit(page, page.getByRole('button', { name: 'Sign out' }));
  assert.equal(pathOf(page), '/sign-in');
  await page.goto(url('/'));
  assert.equal(pathOf(page), '/sign-in', 'signed out: the dashboard asks to sign in');
  assert.ok(!(await context.cookies()).some((c) => c.name === 'confidant-session' && c.value), 'no session cookie');

  // Again, with a code from a later step than the one enrolment used.
  const enrolledAt = known.get('practitionerA').lastStep;
  await signIn(tab, 'practitionerA');
  assert.ok(known.get('practitionerA').lastStep > enrolledAt, 'a fresh code was used');
  assertNoConsoleErrors(tab, 'signing in');
  sessions.set('practitionerA', { name: 'practitionerA', context, ...tab, tab });
}, { timeout: 75_000 });

// ----------------------------------------------------------------------------------------------
// b. The idle lock.

test('b. idle lock: at the idle limit an open page replaces itself with the lock (no JavaScript); a wrong password is refused; the right one goes back to the page', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const record = `/people/${personId}`;
  assert.equal((await visit(a, record)).status(), 200);
  assert.equal(await heading(page), 'Ada Lovelace');
  // Nothing touches the page: its own refresh opens the lock page when the limit is up.
  const opened = Date.now();
  await page.waitForURL((u) => u.pathname === '/lock', { timeout: (idleSeconds + 15) * 1000 });
  const waited = (Date.now() - opened) / 1000;
  assert.ok(waited >= idleSeconds - 1, `the page was hidden after ${waited} s, before the ${idleSeconds}-second limit`);
  assert.equal(new URL(page.url()).searchParams.get('return'), record);
  await page.waitForLoadState('load');
  assert.equal(await heading(page), 'Your session is locked');
  const explained = await page.locator('main').innerText();
  assert.ok(!explained.includes('Lovelace'), 'the record is no longer on the screen');
  assert.match(explained, new RegExp(`locks after ${idleSeconds} seconds? without activity`));
  assert.match(explained, new RegExp(`carry on as ${accounts.practitionerA.handle}`));
  await check(a, 'the lock page');

  await page.fill('#password', 'not the right password at all');
  const refused = await submit(page, button(page, 'Unlock'));
  assert.equal(refused.status(), 422);
  assert.equal(pathOf(page), '/lock');
  assert.match(await page.locator('.govuk-error-summary').innerText(), /The password is not right/);
  assert.match(await page.title(), /^Error: /);
  await check(a, 'the lock page with an error');

  // The right password goes back to the record that was open.
  await page.fill('#password', accounts.practitionerA.password);
  await submit(page, button(page, 'Unlock'));
  assert.equal(pathOf(page), record, 'unlocking goes back to the page the lock hid');
  assert.equal(await heading(page), 'Ada Lovelace');

  assertNoConsoleErrors(a, 'the idle lock');
}, { timeout: (idleSeconds + 45) * 1000 });

// ----------------------------------------------------------------------------------------------
// c. CSRF.

test('c. CSRF: forms without their token are refused with 403 and change nothing; with it they work', async () => {
  // Sign-in (double-submit cookie): a correct password without the token makes no session.
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url('/sign-in'));
    const { handle, password } = accounts.administrator;
    const refused = await page.request.post(url('/sign-in'), { form: { handle, password }, maxRedirects: 0 });
    assert.equal(refused.status(), 403);
    assert.match(await refused.text(), /This form has expired/);
    assert.ok(!(await context.cookies()).some((c) => c.name === 'confidant-session'), 'no session was started');
  } finally {
    await context.close();
  }

  // Issuing an API token: refused without the token, nothing issued; issued with it.
  const a = await as('practitionerA');
  await visit(a, '/account/tokens');
  const rows = () => a.page.locator('main table tbody tr').count();
  const before = await rows();
  const noToken = await a.page.request.post(url('/account/tokens'), {
    form: { scope: 'read', days: '7', password: accounts.practitionerA.password },
    maxRedirects: 0,
  });
  assert.equal(noToken.status(), 403);
  assert.match(await noToken.text(), /This form has expired/);
  const wrongToken = await a.page.request.post(url('/account/tokens'), {
    form: { csrf: 'f'.repeat(64), scope: 'read', days: '7', password: accounts.practitionerA.password },
    maxRedirects: 0,
  });
  assert.equal(wrongToken.status(), 403, 'a token that is not the session’s is refused too');
  await visit(a, '/account/tokens');
  assert.equal(await rows(), before, 'no token was issued');
  const csrf = await csrfOf(a.page);
  const issued = await a.page.request.post(url('/account/tokens'), {
    form: { csrf, scope: 'read', days: '7', password: accounts.practitionerA.password },
    maxRedirects: 0,
  });
  assert.equal(issued.status(), 200);
  assert.match(await issued.text(), /id="new-token">cft_[0-9a-f]{64}</);
  await visit(a, '/account/tokens');
  assert.equal(await rows(), before + 1, 'the token was issued');

  // Signing out without the token does not sign out.
  const out = await a.page.request.post(url('/sign-out'), { form: {}, maxRedirects: 0 });
  assert.equal(out.status(), 403);
  await visit(a, '/');
  assert.equal(pathOf(a.page), '/', 'still signed in');

  // Breaking the glass from the browser with the token removed from the form: 403, and still no
  // access to the record.
  const b = await as('practitionerB');
  await visit(b, `/people/${personId}/break-glass`);
  await b.page.fill('#reason', 'Testing that a form without its token is refused.');
  await b.page.evaluate(() => {
    for (const input of document.querySelectorAll('main input[name="csrf"]')) input.remove();
  });
  const page403 = await submit(b.page, button(b.page, 'Break the glass'));
  assert.equal(page403.status(), 403);
  assert.equal(await heading(b.page), 'This form has expired');
  await check(b, 'the "form has expired" page');
  const still404 = await visit(b, `/people/${personId}`);
  assert.equal(still404.status(), 404, 'the glass was not broken');
  // The same through the request API (the context's cookies, no token).
  const direct = await b.page.request.post(url(`/people/${personId}/break-glass`), {
    form: { reason: 'Testing that a form without its token is refused.' },
    maxRedirects: 0,
  });
  assert.equal(direct.status(), 403);
  assert.equal((await visit(b, `/people/${personId}`)).status(), 404, 'still not broken');
  assertNoConsoleErrors(a, 'CSRF checks (worker A)');
  assertNoConsoleErrors(b, 'CSRF checks (worker B)');
}, { timeout: 60_000 });

// ----------------------------------------------------------------------------------------------
// d. Scope.

test('d. a worker of service B gets "Page not found" for a person of service A; worker A sees the record, their own earlier view and B\'s refused attempts in "who has seen"', async () => {
  const b = await as('practitionerB');
  const refused = await visit(b, `/people/${personId}`);
  assert.equal(refused.status(), 404);
  assert.equal(await heading(b.page), 'Page not found');
  assert.ok(!(await b.page.locator('#access-history').count()), 'no history shown');
  // The same answer as for a record that does not exist.
  const missing = await visit(b, '/people/00000000-0000-4000-8000-000000000000');
  assert.equal(missing.status(), 404);
  assert.equal(await heading(b.page), 'Page not found');

  const a = await as('practitionerA');
  assert.equal((await visit(a, `/people/${personId}`)).status(), 200);
  // A page's own reads go on the audit log as it is handed over, so the next visit lists them.
  const shown = await visit(a, `/people/${personId}`);
  assert.equal(shown.status(), 200);
  assert.equal(await heading(a.page), 'Ada Lovelace');
  const history = await a.page.locator('#access-history li').allInnerTexts();
  assert.ok(
    history.some((line) => line.includes(accounts.practitionerA.handle) && line.includes('Viewed the record')),
    `A's own view in who-has-seen: ${JSON.stringify(history)}`,
  );
  // B's attempts are in the audit, and show as refused.
  const byB = history.filter((line) => line.includes(accounts.practitionerB.handle));
  assert.ok(byB.length > 0, `B's refused attempts are listed: ${JSON.stringify(history)}`);
  assert.ok(
    byB.every((line) => line.includes('(refused)')),
    `B's attempts show as refused: ${JSON.stringify(history)}`,
  );
  assertNoConsoleErrors(a, 'the person page');
  assertNoConsoleErrors(b, 'the 404 person page');
});

// ----------------------------------------------------------------------------------------------
// e. Accessibility (axe, WCAG 2.2 AA) and no console errors on every main page.

test('e1. axe: sign-in, sign-in with errors, enrolment, two-factor', async () => {
  const context = await browser.newContext();
  try {
    const tab = await openTab(context);
    const { page } = tab;
    const signInPage = await page.goto(url('/sign-in'));
    assert.equal(signInPage.status(), 200);
    await check(tab, 'the sign-in page');

    await page.fill('#handle', 'nobody.here');
    await page.fill('#password', 'certainly not a password');
    const wrong = await submit(page, button(page, 'Sign in'));
    assert.equal(wrong.status(), 401);
    assert.match(await page.title(), /^Error: Sign in/);
    assert.match(await page.locator('.govuk-error-summary').innerText(), /Enter a correct user name and password/);
    await check(tab, 'the sign-in page with an error');

    await page.fill('#handle', '');
    await page.fill('#password', '');
    const empty = await submit(page, button(page, 'Sign in'));
    assert.equal(empty.status(), 422);
    await check(tab, 'the sign-in page with empty fields');
  } finally {
    await context.close();
  }

  // Enrolment, on an account that has not enrolled yet (the DPO; the secret stays the same until
  // confirmed). Only the password is given: the half-made session is left to expire.
  const enrolContext = await browser.newContext();
  try {
    const tab = await openTab(enrolContext);
    await givePassword(tab.page, 'dpo');
    assert.equal(pathOf(tab.page), '/sign-in/enrol');
    assert.match(await tab.page.locator('#totp-secret').innerText(), /^[A-Z2-7 ]+$/);
    assert.equal(await tab.page.locator('.app-qr svg').count(), 1, 'the QR code is inline SVG');
    await check(tab, 'the enrolment page');
  } finally {
    await enrolContext.close();
  }

  // The two-factor page, on an enrolled account.
  const secondContext = await browser.newContext();
  try {
    const tab = await openTab(secondContext);
    await givePassword(tab.page, 'practitionerA');
    assert.equal(pathOf(tab.page), '/sign-in/two-factor');
    await check(tab, 'the two-factor page');
  } finally {
    await secondContext.close();
  }
});

test('e2. axe: practitioner pages (dashboard, people, search results, person, API tokens, password)', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  for (const [path, title] of [
    ['/', 'Dashboard'],
    ['/people', 'My caseload'],
    [`/people/${personId}`, 'Ada Lovelace'],
    ['/account/tokens', 'API tokens'],
    ['/account/password', 'Change your password'],
  ]) {
    const response = await visit(a, path);
    assert.equal(response.status(), 200, path);
    assert.equal(await heading(page), title, path);
    await check(a, `${path} (practitioner)`);
  }

  await visit(a, '/people');
  await page.fill('#name', 'Lovel');
  const found = await submit(page, button(page, 'Search'));
  assert.equal(found.status(), 200);
  assert.equal(await heading(page), 'Search results');
  assert.deepEqual(await page.locator('#people-list li').allInnerTexts(), ['Ada Lovelace']);
  await check(a, 'search results');

  await visit(a, '/people');
  await page.fill('#identifier', '9434765919');
  await page.selectOption('#identifier-kind', 'nhs_number');
  const byNhs = await submit(page, button(page, 'Search'));
  assert.equal(byNhs.status(), 200);
  assert.deepEqual(await page.locator('#people-list li').allInnerTexts(), ['Ada Lovelace']);
  await check(a, 'search results by NHS number');

  await visit(a, '/people');
  await page.fill('#identifier', 'not a postcode');
  await page.selectOption('#identifier-kind', 'postcode');
  const invalid = await submit(page, button(page, 'Search'));
  assert.equal(invalid.status(), 422);
  assert.match(await page.title(), /^Error: /);
  await check(a, 'search with an error');

  await visit(a, '/account/tokens');
  await page.check('#scope-2');
  await page.fill('#days', '3');
  if (await page.locator('#password').count()) await page.fill('#password', accounts.practitionerA.password);
  const issued = await submit(page, button(page, 'Issue token'));
  assert.equal(issued.status(), 200);
  assert.match(await page.locator('#new-token').innerText(), /^cft_[0-9a-f]{64}$/);
  await check(a, 'API tokens after issuing one');

  await visit(a, '/account/tokens');
  await page.fill('#days', '365');
  const badDays = await submit(page, button(page, 'Issue token'));
  assert.equal(badDays.status(), 422);
  await check(a, 'API tokens with an error');
});

test('e3. axe: break the glass (404 with the link, the form, its errors), then the record opens', async () => {
  const b = await as('practitionerB');
  const { page } = b;
  await visit(b, '/');
  await check(b, 'the dashboard (practitioner B)');

  const notFound = await visit(b, `/people/${personId}`);
  assert.equal(notFound.status(), 404);
  const link = page.getByRole('link', { name: 'Break the glass for this record' });
  assert.equal(await link.getAttribute('href'), `/people/${personId}/break-glass`);
  await check(b, 'the person page answering 404, with the break-glass link');

  const form = await visit(b, `/people/${personId}/break-glass`);
  assert.equal(form.status(), 200);
  assert.equal(await heading(page), 'Break the glass');
  await check(b, 'the break-glass form');

  await visit(b, `/people/${personId}/break-glass`);
  await page.fill('#reason', 'short');
  const tooShort = await submit(page, button(page, 'Break the glass'));
  assert.equal(tooShort.status(), 422);
  assert.match(await page.title(), /^Error: /);
  await check(b, 'the break-glass form with an error');

  await visit(b, `/people/${personId}/break-glass`);
  await page.fill('#reason', 'Duty call at night: the person is at risk and their worker cannot be reached.');
  const opened = await submit(page, button(page, 'Break the glass'));
  assert.equal(opened.status(), 200);
  assert.equal(pathOf(page), `/people/${personId}`);
  assert.equal(await heading(page), 'Ada Lovelace');
  const history = await page.locator('#access-history li').allInnerTexts();
  assert.ok(
    history.some((line) => line.includes(accounts.practitionerB.handle) && /break the glass|Broke the glass/i.test(line)),
    `the break-glass access is in who-has-seen: ${JSON.stringify(history)}`,
  );
  await check(b, 'the person page opened by breaking the glass');
});

test('e4. axe: administration (staff accounts, new account form, an account)', async () => {
  const admin = await as('administrator');
  const { page } = admin;
  await check(admin, 'the dashboard (administrator)');
  const list = await visit(admin, '/admin/users');
  assert.equal(list.status(), 200);
  assert.equal(await heading(page), 'Staff accounts');
  await check(admin, 'staff accounts');

  const form = await visit(admin, '/admin/users/new');
  assert.equal(form.status(), 200);
  await check(admin, 'the new account form');

  await visit(admin, '/admin/users');
  const href = await page.getByRole('link', { name: accounts.practitionerA.handle, exact: true }).getAttribute('href');
  assert.match(href, /^\/admin\/users\/[0-9a-f-]{36}$/);
  const user = await visit(admin, href);
  assert.equal(user.status(), 200);
  assert.equal(await heading(page), accounts.practitionerA.handle);
  await check(admin, 'an account page');
  // Separation of duties: an administrator may disable a practitioner's account but not record
  // their training, set their password or reset their second factor.
  const main = page.locator('main');
  assert.equal(await main.getByRole('button', { name: 'Disable account (leaver)' }).count(), 1);
  assert.equal(await main.getByRole('button', { name: 'Record training' }).count(), 0);
  assert.equal(await main.getByRole('button', { name: 'Set a new password' }).count(), 0);
});

test('e5. axe: the DPO (dashboard, break-glass review with the access waiting)', async () => {
  const dpo = await as('dpo');
  const { page } = dpo;
  assert.match(await page.locator('main').innerText(), /1 waiting for review/);
  await check(dpo, 'the dashboard (DPO)');

  const review = await visit(dpo, '/break-glass/review');
  assert.equal(review.status(), 200);
  assert.equal(await heading(page), 'Break-glass review');
  const panel = page.locator('main .app-panel').first();
  assert.match(await panel.innerText(), new RegExp(`${accounts.practitionerB.handle} opened person ${personId}`));
  assert.match(await panel.innerText(), /Duty call at night/);
  await check(dpo, 'the break-glass review');

  await visit(dpo, '/break-glass/review');
  await page.locator('main textarea').first().fill('Justified: out-of-hours risk.');
  await submit(page, page.locator('main').getByRole('button', { name: /^Sign off/ }).first());
  assert.equal(pathOf(page), '/break-glass/review');
  assert.match(await page.locator('main .app-panel').first().innerText(), /Signed off/);
  await check(dpo, 'the break-glass review after signing off');

  const staff = await visit(dpo, '/admin/users');
  assert.equal(staff.status(), 200);
  await check(dpo, 'staff accounts (DPO)');

  // The DPO records training; a date that is not one is refused, naming the field.
  const href = await page.getByRole('link', { name: accounts.practitionerA.handle, exact: true }).getAttribute('href');
  await visit(dpo, href);
  await page.fill('#completed-on', 'yesterday');
  const bad = await submit(page, button(page, 'Record training'));
  assert.equal(bad.status(), 422);
  assert.match(await page.title(), /^Error: /);
  await check(dpo, 'an account page with an error');
});

// ----------------------------------------------------------------------------------------------
// f. The service-user record: referrals and their triage, a person's page by field group,
// corrections, case notes, documents, and the keyboard.

/** The id at the end of the current path, which must be `prefix/<uuid>`. */
function idIn(page, prefix) {
  const match = pathOf(page).match(new RegExp(`^${prefix}/([0-9a-f-]{36})$`));
  assert.ok(match, `expected ${prefix}/<id>, at ${pathOf(page)}`);
  return match[1];
}

/**
 * Records a referral from a professional through /referrals/new, as `session`; ends on the
 * referral's page and returns its id.
 */
async function recordReferral(session, { given, family, reason }) {
  const { page } = session;
  await visit(session, '/referrals/new');
  await page.getByRole('group', { name: 'Who made the referral?' }).getByLabel('A professional', { exact: true }).check();
  await page.fill('#given-name', given);
  await page.fill('#family-name', family);
  await page.fill('#referrer-name', 'Sam Okafor');
  await page.fill('#referrer-organisation', 'Chapeltown Health Centre');
  await page.fill('#reason', reason);
  const response = await submit(page, button(page, 'Record the referral'));
  assert.equal(response.status(), 200, `recording a referral: ${await heading(page)}`);
  return idIn(page, '/referrals');
}

/** A small, well-formed PDF (one blank A4 page), made here. */
function smallPdf() {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>',
  ];
  let text = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((object, i) => {
    offsets.push(text.length);
    text += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = text.length;
  text += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) text += `${String(offset).padStart(10, '0')} 00000 n \n`;
  text += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(text, 'latin1');
}

/** The start of a Windows executable (an MS-DOS stub and a PE header). */
function executableBytes() {
  const bytes = Buffer.alloc(512);
  bytes.write('MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff', 0, 'latin1');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\x00\x00', 0x80, 'latin1');
  return bytes;
}

/** Whether the focused element matches `selector`. */
const isFocused = (page, selector) => page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
const describeFocus = (page) => page.evaluate(() => document.activeElement?.outerHTML.slice(0, 160) ?? 'nothing');

/** Presses Tab until the focused element matches `selector`; fails if it is not reached. */
async function tabTo(page, selector, max = 80) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    if (await isFocused(page, selector)) return;
  }
  assert.fail(`Tab did not reach ${selector}; focus is on ${await describeFocus(page)}`);
}

/** Presses a key that follows a link or submits a form, and waits for the next document. */
async function pressToNavigate(page, key) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press(key)]);
  return response;
}

test('f1. a referral received, listed, contact attempted and accepted into a record; a field group changed (recipients banner, correction history); a third-party case note', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const form = await visit(a, '/referrals/new');
  assert.equal(form.status(), 200);
  assert.equal(await heading(page), 'Record a referral');
  await check(a, 'the new referral form');

  await visit(a, '/referrals/new');
  const empty = await submit(page, button(page, 'Record the referral'));
  assert.equal(empty.status(), 400);
  assert.match(await page.title(), /^Error: /);
  assert.match(await page.locator('.govuk-error-summary').innerText(), /Who made the referral/);
  await check(a, 'the new referral form with an error');

  const referralId = await recordReferral(a, {
    given: 'Grace',
    family: 'Hopper',
    reason: 'Asked for support after leaving an abusive relationship.',
  });
  assert.equal(await heading(page), 'Referral of Grace Hopper');
  assert.equal(await page.locator('#referral-state').innerText(), 'Received');
  await check(a, 'a referral just received');

  // The list: the referral is open, under the person's name.
  const list = await visit(a, '/referrals');
  assert.equal(list.status(), 200);
  assert.equal(await heading(page), 'Referrals');
  const listed = page.locator('#open-referrals').getByRole('link', { name: 'Grace Hopper', exact: true });
  assert.equal(await listed.getAttribute('href'), `/referrals/${referralId}`);
  await check(a, 'the referrals list');

  // Triage: a contact attempt, then acceptance.
  await visit(a, '/referrals');
  await submit(page, page.locator('#open-referrals').getByRole('link', { name: 'Grace Hopper', exact: true }));
  assert.equal(pathOf(page), `/referrals/${referralId}`);
  await submit(page, button(page, 'Record a contact attempt'));
  assert.equal(pathOf(page), `/referrals/${referralId}`);
  assert.equal(await page.locator('#referral-state').innerText(), 'Contact attempted');
  const steps = await page.locator('#triage-steps tbody tr').allInnerTexts();
  assert.ok(
    steps.some((s) => s.includes('Contact attempted') && s.includes(accounts.practitionerA.handle)),
    `the contact attempt is a step: ${JSON.stringify(steps)}`,
  );
  await check(a, 'a referral with a contact attempt');

  await visit(a, `/referrals/${referralId}`);
  const accepted = await submit(page, button(page, 'Accept and create their record'));
  assert.equal(accepted.status(), 200);
  const newId = idIn(page, '/people');
  assert.equal(await heading(page), 'Grace Hopper');
  const cases = await page.locator('#case-list tbody tr').allInnerTexts();
  assert.ok(
    cases.length === 1 && cases[0].includes('Open') && cases[0].includes(accounts.practitionerA.handle),
    `one open case with worker A as key worker: ${JSON.stringify(cases)}`,
  );
  // The field groups the service collects, one card each.
  const groups = await page.locator('main .govuk-summary-card__title').allInnerTexts();
  for (const group of ['Identity and contact', 'Safe contact', 'Language and communication', 'Health and disability']) {
    assert.ok(groups.includes(group), `a card for ${group}: ${JSON.stringify(groups)}`);
  }
  await check(a, "the new person's page");

  // A field group changed: the banner says whom to tell.
  await visit(a, `/people/${newId}`);
  await submit(page, page.getByRole('link', { name: 'Change language and communication' }));
  assert.equal(pathOf(page), `/people/${newId}/edit/communication`);
  assert.equal(await heading(page), 'Language and communication');
  await check(a, 'the edit form of a field group');

  await visit(a, `/people/${newId}/edit/communication`);
  await page.fill('#language', 'Polish');
  await page.getByRole('group', { name: 'Needs an interpreter' }).getByLabel('Yes', { exact: true }).check();
  await submit(page, button(page, 'Save changes'));
  assert.equal(pathOf(page), `/people/${newId}`);
  assert.match(await page.locator('#saved-banner').innerText(), /Language and communication saved/);
  assert.match(await page.locator('#recipients').innerText(), /not shared with any recipient, so no one needs to be told/);
  const card = await page.locator('#group-communication').innerText();
  assert.match(card, /First language\s+Polish/);
  assert.match(card, /Needs an interpreter\s+Yes/);
  await check(a, "the person's page with the saved banner");

  // Corrected: the earlier value is in the correction history.
  await visit(a, `/people/${newId}/edit/communication`);
  await page.fill('#language', 'Polish and English');
  await submit(page, button(page, 'Save changes'));
  assert.match(await page.locator('#recipients').innerText(), /not shared with any recipient, so no one needs to be told/);
  assert.match(await page.locator('#group-communication').innerText(), /First language\s+Polish and English/);
  await submit(page, page.getByRole('link', { name: 'See the correction history' }));
  assert.equal(pathOf(page), `/people/${newId}/history`);
  assert.equal(await heading(page), 'Correction history');
  const corrections = await page.locator('#corrections tbody tr').allInnerTexts();
  assert.ok(
    corrections.some((r) => r.includes('First language') && /\tPolish\t/.test(r) && r.includes(accounts.practitionerA.handle)),
    `the earlier first language in the history: ${JSON.stringify(corrections)}`,
  );
  await check(a, 'the correction history');

  // A case note supplied by a third party.
  await visit(a, `/people/${newId}/notes`);
  assert.equal(await heading(page), 'Case notes');
  await check(a, 'case notes, none yet');
  await visit(a, `/people/${newId}/notes`);
  await submit(page, button(page, 'Add a case note'));
  assert.equal(pathOf(page), `/people/${newId}/notes/new`);
  assert.equal(await heading(page), 'Add a case note');
  await check(a, 'the new case note form');

  await visit(a, `/people/${newId}/notes/new`);
  await page.getByRole('group', { name: 'Type of contact' }).getByLabel('Phone call', { exact: true }).check();
  await page.fill('#body', 'Her sister rang: Grace is staying with her and is safe there for now.');
  await page.getByLabel('Supplied by a third party (say who below)').check();
  await page.fill('#supplied-by', 'Ruth Hopper, her sister');
  await submit(page, button(page, 'Save the note'));
  assert.equal(pathOf(page), `/people/${newId}/notes`);
  const notes = await page.locator('#notes > li').allInnerTexts();
  assert.equal(notes.length, 1, JSON.stringify(notes));
  for (const part of ['Phone call', 'Third-party information', 'Grace is staying with her', 'Supplied by Ruth Hopper, her sister', `Written by ${accounts.practitionerA.handle}`]) {
    assert.ok(notes[0].includes(part), `the note shows "${part}": ${JSON.stringify(notes[0])}`);
  }
  await check(a, 'case notes with a third-party note');
}, { timeout: 90_000 });

test('f2. a declined referral is erased: its page and the list no longer show the referred person\'s name', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const id = await recordReferral(a, {
    given: 'Evelyn',
    family: 'Thistlewood',
    reason: 'Lives outside the area the service covers.',
  });
  assert.equal(await heading(page), 'Referral of Evelyn Thistlewood');
  await check(a, 'a referral before it is declined');

  await visit(a, `/referrals/${id}`);
  const declined = await submit(page, button(page, 'Decline and erase'));
  assert.equal(declined.status(), 200);
  assert.equal(pathOf(page), `/referrals/${id}`);
  assert.equal(await heading(page), 'Referral');
  assert.equal(await page.locator('#referral-state').innerText(), 'Declined (erased)');
  assert.equal(await page.locator('#received-erased').count(), 1, 'says what was received is erased');
  const html = await page.content();
  assert.ok(!/Evelyn|Thistlewood/.test(html), 'the referral page no longer holds the name');
  assert.equal(await button(page, 'Decline and erase').count(), 0, 'no further triage');
  await check(a, 'a declined referral');

  await visit(a, '/referrals');
  assert.ok(!/Evelyn|Thistlewood/.test(await page.content()), 'the list no longer holds the name');
  const row = page.locator('#decided-referrals tbody tr').filter({ has: page.locator(`a[href="/referrals/${id}"]`) });
  assert.match(await row.innerText(), /Not held \(erased\)/);
  await check(a, 'the referrals list with a declined referral');
});

test('f3. documents: a PDF uploaded through the page is listed and downloads as an attachment; an executable named .pdf is refused with the error on the page', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const path = `/people/${personId}/documents`;
  const shown = await visit(a, path);
  assert.equal(shown.status(), 200);
  assert.equal(await heading(page), 'Documents');
  await check(a, 'the documents page');

  const pdf = smallPdf();
  await visit(a, path);
  await page.setInputFiles('#file', { name: 'gp-letter.pdf', mimeType: 'application/pdf', buffer: pdf });
  await page.fill('#description', 'Letter from the GP');
  const uploaded = await submit(page, button(page, 'Upload the document'));
  assert.equal(uploaded.status(), 200);
  assert.equal(pathOf(page), path);
  const row = page.locator('#documents tbody tr').filter({ hasText: 'gp-letter.pdf' });
  assert.equal(await row.count(), 1, 'the PDF is listed once');
  assert.match(await row.innerText(), /Letter from the GP/);
  assert.match(await row.innerText(), /\bPDF\b/);
  const href = await row.locator('a[download]').getAttribute('href');
  assert.match(href, new RegExp(`^/people/${personId}/documents/[0-9a-f-]{36}$`));
  await check(a, 'the documents page listing a PDF');

  // The download link, fetched with the context's cookies (after a visit: the session may have
  // locked meanwhile).
  await visit(a, path);
  const download = await page.request.get(url(href), { maxRedirects: 0 });
  assert.equal(download.status(), 200);
  const headers = download.headers();
  assert.match(headers['content-disposition'] ?? '', /^attachment(;|$)/, 'served as an attachment');
  assert.equal(headers['content-type'], 'application/pdf');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.ok((await download.body()).equals(pdf), 'the bytes that were uploaded');

  // Executable bytes under a .pdf name: refused, the error on the page, nothing listed.
  await visit(a, path);
  const before = await page.locator('#documents tbody tr').count();
  await page.setInputFiles('#file', { name: 'invoice.pdf', mimeType: 'application/pdf', buffer: executableBytes() });
  const refused = await submit(page, button(page, 'Upload the document'));
  assert.equal(refused.status(), 400);
  assert.match(await page.title(), /^Error: /);
  assert.match(await page.locator('.govuk-error-summary').innerText(), /not an allowed type/);
  assert.match(await page.locator('#file-error').innerText(), /not an allowed type/);
  assert.equal(await page.locator('#documents tbody tr').count(), before, 'nothing was added');
  assert.equal(await page.locator('#documents').getByText('invoice.pdf').count(), 0);
  await check(a, 'the documents page refusing an executable');
});

/**
 * Runs `attempt` (keyboard steps that end by sending a form) until the form reaches the server
 * unlocked: keying through a form can outlast the seconds-long idle timeout on a busy machine, and a
 * locked session's form is answered with the lock page and changes nothing. At most three times.
 */
async function untilUnlocked(session, attempt) {
  for (let i = 0; i < 3; i += 1) {
    const response = await attempt();
    if (pathOf(session.page) !== '/lock') return response;
    idleUnlocks += 1;
    await unlock(session.tab, session.name);
  }
  return assert.fail('the session locked before the form was sent, three times');
}

test('f4. keyboard only: the add-note form is completed and sent with Tab, arrows, Space and Enter; on a validation error the error summary takes focus and its link leads to the field', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const formPath = `/people/${personId}/notes/new`;
  await visit(a, formPath);
  await check(a, 'the new case note form');

  // Sent without a type of contact: the error summary has focus, and the note typed is kept.
  const refused = await untilUnlocked(a, async () => {
    await visit(a, formPath);
    await tabTo(page, '#body');
    await page.keyboard.type('At home.');
    await tabTo(page, 'main form button[type="submit"]');
    return pressToNavigate(page, 'Enter');
  });
  assert.equal(refused.status(), 400);
  assert.match(await page.title(), /^Error: /);
  assert.ok(await isFocused(page, '.govuk-error-summary'), `the error summary has focus, not ${await describeFocus(page)}`);
  assert.equal(await page.inputValue('#body'), 'At home.');
  await check(a, 'the new case note form with an error');
  // Its link takes focus to the field (no request, so the idle lock cannot intervene).
  await page.keyboard.press('Tab');
  assert.ok(await isFocused(page, '.govuk-error-summary a[href="#contact-type"]'), `the error link has focus, not ${await describeFocus(page)}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'contact-type');
  await page.keyboard.press('Space');
  assert.ok(await page.isChecked('#contact-type'), 'Space chose the first type of contact');

  // The whole form by keyboard, from the list of notes.
  let before = 0;
  const saved = await untilUnlocked(a, async () => {
    await visit(a, `/people/${personId}/notes`);
    before = await page.locator('#notes > li').count();
    await tabTo(page, `main a[href="${formPath}"]`);
    await pressToNavigate(page, 'Enter');
    assert.equal(pathOf(page), formPath);
    await tabTo(page, 'input[name="contact_type"]');
    assert.ok(await isFocused(page, '#contact-type'), 'Tab enters the radios at the first');
    await page.keyboard.press('ArrowDown');
    assert.ok(await page.isChecked('#contact-type-2'), 'the arrow key chose the second type of contact');
    await tabTo(page, '#body');
    await page.keyboard.type('Rang Ada.');
    await tabTo(page, 'input[name="third_party"]');
    await page.keyboard.press('Space');
    assert.ok(await page.isChecked('input[name="third_party"]'), 'Space ticked "supplied by a third party"');
    await tabTo(page, '#supplied-by');
    await page.keyboard.type('Ruth');
    await tabTo(page, 'main form button[type="submit"]');
    return pressToNavigate(page, 'Enter');
  });
  assert.equal(saved.status(), 200);
  assert.equal(pathOf(page), `/people/${personId}/notes`);
  const notes = await page.locator('#notes > li').allInnerTexts();
  assert.equal(notes.length, before + 1, 'one note was added');
  const note = notes.find((n) => n.includes('Rang Ada.'));
  assert.ok(note, `the note is listed: ${JSON.stringify(notes)}`);
  assert.match(note, /Phone call/);
  assert.match(note, /Third-party information/);
  assert.match(note, /Supplied by Ruth/);
  await check(a, 'case notes after the keyboard-only note');
});

test('f5. axe: adding a person, and the rest of a record (support plans, appointments, paper records, the paper register), their forms with errors', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const form = await visit(a, '/people/new');
  assert.equal(form.status(), 200);
  assert.equal(await heading(page), 'Add a person');
  await check(a, 'the add a person form');

  await visit(a, '/people/new');
  const empty = await submit(page, button(page, 'Add the person'));
  assert.equal(empty.status(), 400);
  assert.match(await page.title(), /^Error: /);
  assert.match(await page.locator('.govuk-error-summary').innerText(), /Given name/);
  await check(a, 'the add a person form with errors');

  await visit(a, '/people/new');
  await page.fill('#given-name', 'Mary');
  await page.fill('#family-name', 'Seacole');
  await page.fill('#date-of-birth', '23');
  await page.fill('#date-of-birth-month', '11');
  await page.fill('#date-of-birth-year', '1985');
  const added = await submit(page, button(page, 'Add the person'));
  assert.equal(added.status(), 200);
  const id = idIn(page, '/people');
  assert.equal(await heading(page), 'Mary Seacole');
  await check(a, 'the page of a person just added');

  const inAWeek = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  const parts = [
    {
      part: 'plans', title: 'Support plans', form: 'Add a support plan', save: 'Add the plan', listed: 'Keep safe at home',
      fill: () => page.fill('#title', 'Keep safe at home'),
    },
    {
      part: 'appointments', title: 'Appointments', form: 'Add an appointment', save: 'Add the appointment', listed: 'Meet at the centre',
      fill: async () => {
        await page.fill('#title', 'Meet at the centre');
        await page.fill('#occurs-on', String(inAWeek.getUTCDate()));
        await page.fill('#occurs-on-month', String(inAWeek.getUTCMonth() + 1));
        await page.fill('#occurs-on-year', String(inAWeek.getUTCFullYear()));
        await page.fill('#occurs-time', '14:30');
      },
    },
    {
      part: 'paper', title: 'Paper records', form: 'Add a paper record', save: 'Add the paper record', listed: 'Signed consent form',
      fill: async () => {
        await page.getByRole('group', { name: 'What is it?' }).getByLabel(/^A paper note/).check();
        await page.fill('#description', 'Signed consent form');
      },
    },
  ];
  for (const { part, title, form: formHeading, save, listed, fill } of parts) {
    const path = `/people/${id}/${part}`;
    const shown = await visit(a, `${path}/new`);
    assert.equal(shown.status(), 200, `${path}/new`);
    assert.equal(await heading(page), formHeading);
    await check(a, `the form "${formHeading}"`);

    await visit(a, `${path}/new`);
    const refused = await submit(page, button(page, save));
    assert.equal(refused.status(), 400, `${formHeading}, sent empty`);
    assert.match(await page.title(), /^Error: /);
    await check(a, `the form "${formHeading}" with errors`);

    await visit(a, `${path}/new`);
    await fill();
    const saved = await submit(page, button(page, save));
    assert.equal(saved.status(), 200, `${formHeading}: ${await page.locator('.govuk-error-summary').allInnerTexts()}`);
    assert.equal(pathOf(page), path);
    assert.equal(await heading(page), title);
    assert.match(await page.locator('main').innerText(), new RegExp(listed));
    await check(a, `${title} with one`);
  }

  const register = await visit(a, '/paper');
  assert.equal(register.status(), 200);
  assert.equal(await heading(page), 'Paper register');
  assert.ok(
    (await page.locator('#paper-register tbody tr').allInnerTexts()).some((r) => r.includes('Paper note')),
    'the paper note is on the register',
  );
  await check(a, 'the paper register');

  // Recording the paper note's destruction once it is transcribed: the form, with its errors,
  // then the record of it.
  await visit(a, `/people/${id}/paper`);
  await submit(page, page.getByRole('button', { name: /^Mark transcribed/ }));
  await submit(page, page.getByRole('button', { name: /^Record its destruction/ }));
  assert.equal(await heading(page), "Record the paper's destruction");
  await check(a, "the form recording paper's destruction");
  const unsaid = await submit(page, button(page, 'Record the destruction'));
  assert.equal(unsaid.status(), 400);
  assert.match(await page.locator('.govuk-error-summary').innerText(), /Their reference is required/);
  await check(a, "the form recording paper's destruction with errors");
  await page.fill('#destroyed-by', 'Shred Co');
  await page.fill('#reference', 'Shred log 12');
  await page.fill('#destroyed-on', '1');
  await page.fill('#destroyed-on-month', '12');
  await page.fill('#destroyed-on-year', '2025');
  const recorded = await submit(page, button(page, 'Record the destruction'));
  assert.equal(recorded.status(), 200);
  assert.equal(pathOf(page), `/people/${id}/paper`);
  assert.match(await page.locator('main').innerText(), /By Shred Co, reference Shred log 12, on 01 Dec 2025/);
  await check(a, 'paper records with one recorded destroyed');
}, { timeout: 120_000 });

// ----------------------------------------------------------------------------------------------
// g. Sharing: a recipient added by the DPO, then the share wizard walked by keyboard alone.

test('g1. sharing: the DPO adds a recipient; the consent page, the five steps of a share walked by keyboard alone, the disclosure page and the contact preferences page pass axe', async () => {
  const dpo = await as('dpo');
  const d = dpo.page;
  await visit(dpo, '/admin/recipients/new');
  await d.fill('#name', 'Harbour Surgery');
  await d.getByLabel('Health (GP, hospital, pharmacy)', { exact: true }).check();
  await d.getByRole('group', { name: 'Data it may receive' }).getByLabel('Identity and contact', { exact: true }).check();
  await d.getByLabel('Legal obligation (Art. 6(1)(c))', { exact: true }).check();
  await d.fill('#secure-email', 'referrals@harbour.example.org');
  await submit(d, button(d, 'Add the recipient'));
  assert.match(pathOf(d), /^\/admin\/recipients\/[0-9a-f-]{36}$/);
  await visit(dpo, '/admin/recipients');
  assert.match(await d.locator('main').innerText(), /Harbour Surgery/);
  await check(dpo, 'the recipient register');

  const a = await as('practitionerA');
  const { page } = a;
  const sharing = `/people/${personId}/sharing`;
  const shown = await visit(a, sharing);
  assert.equal(shown.status(), 200);
  assert.equal(await heading(page), 'Consent and sharing');
  await check(a, 'the consent and sharing page');
  await visit(a, `/people/${personId}/share`);
  await check(a, 'the share wizard');

  const shared = await untilUnlocked(a, async () => {
    await visit(a, sharing);
    await tabTo(page, `main a[href="/people/${personId}/share"]`);
    await pressToNavigate(page, 'Enter');
    assert.equal(pathOf(page), `/people/${personId}/share`);
    // Step 1: the recipient, chosen with the arrow keys.
    const harbour = page.getByLabel('Harbour Surgery', { exact: true });
    const harbourId = await harbour.getAttribute('id');
    await tabTo(page, 'input[name="recipient_id"]');
    while (!(await isFocused(page, `#${harbourId}`))) await page.keyboard.press('ArrowDown');
    if (!(await harbour.isChecked())) await page.keyboard.press('Space');
    assert.ok(await harbour.isChecked(), 'the arrow keys chose Harbour Surgery');
    await tabTo(page, 'main form button[type="submit"]');
    await pressToNavigate(page, 'Enter');
    if (pathOf(page) === '/lock') return null;
    // Step 2: the basis.
    assert.equal(pathOf(page), `/people/${personId}/share/purpose`);
    // Harbour Surgery may receive under one basis only: Space chooses the radio Tab reaches.
    const legal = 'input[name="basis"][value="legal_obligation"]';
    await tabTo(page, 'input[name="basis"]');
    while (!(await isFocused(page, legal))) await page.keyboard.press('ArrowDown');
    if (!(await page.isChecked(legal))) await page.keyboard.press('Space');
    assert.ok(await page.isChecked(legal), 'the keyboard chose legal obligation');
    await tabTo(page, 'main form button[type="submit"]', 150);
    await pressToNavigate(page, 'Enter');
    if (pathOf(page) === '/lock') return null;
    // Step 3: what to send.
    assert.equal(pathOf(page), `/people/${personId}/share/data`);
    await tabTo(page, '#fields');
    await page.keyboard.press('Space');
    assert.ok(await page.isChecked('#fields'), 'Space ticked the first field');
    await tabTo(page, 'main form button[type="submit"]', 150);
    const checked = await pressToNavigate(page, 'Enter');
    if (pathOf(page) === '/lock') return checked;
    // Step 4: the check shows what will be sent; on to confirm.
    assert.equal(checked.status(), 200);
    assert.match(await page.locator('main').innerText(), /Exactly what will be sent/);
    await tabTo(page, 'main a.govuk-button', 150);
    await pressToNavigate(page, 'Enter');
    if (pathOf(page) === '/lock') return null;
    // Step 5: the reasons, then Share.
    assert.equal(pathOf(page), `/people/${personId}/share/confirm`);
    await tabTo(page, '#reason');
    await page.keyboard.type('The surgery asked for the details for a health review.');
    await tabTo(page, 'input[name="person_told"]');
    await page.keyboard.press('Space');
    assert.ok(await page.isChecked('#person-told'), 'Space chose "Yes"');
    // Send the package to the surgery's secure address, by keyboard.
    assert.match(await page.locator('main').innerText(), /Send the package by secure email to referrals@harbour\.example\.org/);
    await tabTo(page, '#send');
    await page.keyboard.press('Space');
    assert.ok(await page.isChecked('#send'), 'Space chose to send');
    await tabTo(page, 'main form button[value="share"]', 150);
    return pressToNavigate(page, 'Enter');
  });
  assert.equal(shared.status(), 200);
  assert.match(pathOf(page), new RegExp(`^/people/${personId}/disclosures/[0-9a-f-]{36}$`));
  assert.equal(await heading(page), 'Disclosure to Harbour Surgery');
  assert.match(await page.locator('#disclosure-entry').innerText(), /Legal obligation/);
  // Queued in the outbox with the share (no SMTP server here: it waits).
  assert.match(await page.locator('#disclosure-entry').innerText(), /Sent by secure email\s+Queued/);
  await check(a, 'the disclosure page');
  // The person's contact preferences page (F4, R16).
  const contact = await visit(a, `/people/${personId}/contact`);
  assert.equal(contact.status(), 200);
  await check(a, 'the contact preferences page');
}, { timeout: 90_000 });

// ----------------------------------------------------------------------------------------------
// h. Public pages.

test('h1. the accessibility statement is public, linked from every page\'s footer, and passes axe', async () => {
  const context = await browser.newContext();
  const tab = await openTab(context);
  const { page } = tab;
  await page.goto(url('/sign-in'));
  await submit(page, page.locator('footer').getByRole('link', { name: 'Accessibility', exact: true }));
  assert.equal(pathOf(page), '/accessibility');
  assert.equal(await heading(page), 'Accessibility statement');
  assert.match(await page.locator('main').innerText(), /WCAG\) version 2\.2 at level AA/);
  await check(tab, 'the accessibility statement');
  await context.close();
}, { timeout: 30_000 });

test('i1. the task inbox, and a case note corrected (refused without why) and marked as entered in error, pass axe', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  await recordReferral(a, { given: 'Ivy', family: 'Inbox', reason: 'Needs help with housing' });
  await visit(a, '/tasks');
  assert.equal(await heading(page), 'Your tasks');
  assert.ok((await page.locator('#open-tasks').innerText()).includes('Triage a referral'));
  await check(a, 'the task inbox');

  await visit(a, `/people/${personId}/notes`);
  const edit = await page.locator('#notes a', { hasText: 'Correct' }).first().getAttribute('href');
  assert.match(edit, /\/entries\/[0-9a-f-]{36}\/edit$/);
  await visit(a, edit);
  assert.equal(await heading(page), 'Correct the case note');
  await check(a, 'the correct-a-note form');
  await page.fill('#body', 'At home, corrected.');
  const refused = await submit(page, button(page, 'Save changes'));
  assert.equal(refused.status(), 400);
  assert.match(await page.title(), /^Error: /);
  await check(a, 'the correct-a-note form without why');
  await visit(a, edit);
  await page.fill('#body', 'At home, corrected.');
  await page.getByLabel('A typing mistake', { exact: true }).check();
  const saved = await submit(page, button(page, 'Save changes'));
  assert.equal(saved.status(), 200);
  assert.equal(pathOf(page), `/people/${personId}/notes`);
  await page.locator('details summary', { hasText: 'Earlier text' }).first().click();
  await check(a, 'the notes with an earlier text shown');

  const mark = edit.replace(/\/edit$/, '/error');
  await visit(a, mark);
  assert.equal(await heading(page), 'Mark as entered in error');
  await check(a, 'the mark-as-entered-in-error form');
  await page.getByLabel('Recorded twice', { exact: true }).check();
  const marked = await submit(page, button(page, 'Mark as entered in error'));
  assert.equal(marked.status(), 200);
  assert.ok((await page.locator('#notes').innerText()).includes('Entered in error: Recorded twice'));
  await check(a, 'the notes with one entered in error');
});

test('i2. caseloads: my caseload as a table, sorted by a column heading and chosen by case status; the manager\'s caseloads per worker; all pass axe', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  await visit(a, '/people');
  assert.equal(await heading(page), 'My caseload');
  const table = page.locator('#caseload');
  assert.ok((await table.innerText()).includes('Ada Lovelace'));
  assert.match(await table.locator('th[aria-sort="ascending"]').innerText(), /^Name\s*, sort in descending order$/);
  await check(a, 'my caseload');
  const byNumber = await table.locator('thead a', { hasText: 'Record number' }).getAttribute('href');
  assert.match(byNumber, /sort=record_number&order=asc$/);
  await visit(a, byNumber);
  assert.match(await table.locator('th[aria-sort="ascending"]').innerText(), /^Record number/);
  await check(a, 'my caseload sorted by record number');
  await page.selectOption('#status', 'none');
  const chosen = await submit(page, button(page, 'Show'));
  assert.equal(chosen.status(), 200);
  assert.match(page.url(), /status=none/);
  await check(a, 'my caseload of people without a case');

  const m = await as('managerA');
  await visit(m, '/caseloads');
  assert.equal(await heading(m.page), 'Caseloads in your service');
  assert.ok((await m.page.locator('#caseloads').innerText()).includes('worker.a'));
  await check(m, 'caseloads per worker');
  await visit(m, '/people?of=everyone');
  assert.equal(await heading(m.page), 'Everyone you can see');
  assert.ok((await m.page.locator('#caseload').innerText()).includes('Ada Lovelace'));
  await check(m, 'everyone, as a manager');
});

test('i3. adding someone already recorded warns with a link to them (passes axe), and "a different person" adds them', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const fill = async (given) => {
    await visit(a, '/people/new');
    await page.fill('#given-name', given);
    await page.fill('#family-name', 'Twinning');
    await page.fill('#date-of-birth', '9');
    await page.fill('#date-of-birth-month', '6');
    await page.fill('#date-of-birth-year', '1991');
  };
  await fill('Wren');
  const first = await submit(page, button(page, 'Add the person'));
  assert.equal(first.status(), 200);
  const wren = idIn(page, '/people');

  await fill('Robin');
  const warned = await submit(page, button(page, 'Add the person'));
  assert.equal(warned.status(), 409);
  assert.equal(pathOf(page), '/people/new');
  const banner = page.locator('.govuk-notification-banner[role="alert"]');
  assert.match(await banner.innerText(), /Wren Twinning: same family name and date of birth/);
  assert.equal(await banner.getByRole('link', { name: 'Wren Twinning' }).getAttribute('href'), `/people/${wren}`);
  assert.equal(await page.inputValue('#given-name'), 'Robin');
  await check(a, 'the add a person form warning of a possible duplicate');

  await page.getByLabel('This is a different person — add them anyway', { exact: true }).check();
  const added = await submit(page, button(page, 'Add the person'));
  assert.equal(added.status(), 200);
  assert.equal(await heading(page), 'Robin Twinning');
  assert.notEqual(idIn(page, '/people'), wren);
});

test('i5. the diary: this week and next week pass axe; a reminder of an appointment is asked for from the diary and the form (and its answer) pass axe', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  await visit(a, '/diary');
  assert.equal(await heading(page), 'My diary this week');
  assert.match(await page.locator('h2').first().innerText(), /^Today, /);
  await check(a, 'my diary this week');
  await visit(a, '/diary?week=next');
  assert.equal(await heading(page), 'My diary next week');
  const meeting = page.locator('tr', { hasText: 'Meet at the centre' });
  assert.equal(await meeting.count(), 1);
  await check(a, 'my diary next week');
  const remind = await meeting.getByRole('link', { name: /^Send a reminder/ }).getAttribute('href');
  assert.match(remind, /\/appointments\/[0-9a-f-]{36}\/reminder$/);
  await visit(a, remind);
  assert.equal(await heading(page), 'Send a reminder');
  await check(a, 'the reminder form');
  await page.getByLabel('Email', { exact: true }).check();
  const answer = await submit(page, button(page, 'Send the reminder'));
  if (answer.status() === 400) {
    // No email address on record: refused by name, on the form.
    assert.match(await page.locator('.govuk-error-summary').innerText(), /no email address/);
    await check(a, 'the reminder form refused');
  } else {
    assert.equal(answer.status(), 200);
    assert.match(pathOf(page), /\/contact$/);
    assert.ok((await page.locator('main').innerText()).includes('Appointment reminder'));
    await check(a, 'the contact page with the reminder queued');
  }
});

test('i6. correcting the record: a related person changed, a closed case reopened, and a document\'s move started (its steps and its refusal) pass axe', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  await visit(a, `/people/${personId}/related/new`);
  await page.getByLabel('Family member', { exact: true }).check();
  await page.fill('#given-name', 'Rowan');
  const added = await submit(page, button(page, 'Add the related person'));
  assert.equal(added.status(), 200);
  const change = await page.locator('a', { hasText: /^Change\s*Rowan/ }).first().getAttribute('href');
  assert.match(change, /\/related\/[0-9a-f-]{36}\/edit$/);
  await visit(a, change);
  assert.equal(await heading(page), 'Change a related person');
  assert.equal(await page.inputValue('#given-name'), 'Rowan');
  await check(a, 'the change-a-related-person form');
  await page.fill('#family-name', 'Ashdown');
  const changed = await submit(page, button(page, 'Save changes'));
  assert.equal(changed.status(), 200);
  assert.ok((await page.locator('main').innerText()).includes('Rowan Ashdown'));

  // A case to reopen: open one if none is open, close it, then reopen it with why.
  await visit(a, `/people/${personId}`);
  if (!(await page.locator('#case-list a', { hasText: /^Close/ }).count())) {
    await submit(page, button(page, 'Open a case'));
  }
  const close = await page.locator('#case-list a', { hasText: /^Close/ }).first().getAttribute('href');
  await visit(a, close);
  await page.getByLabel('Support completed', { exact: true }).check();
  await submit(page, button(page, 'Close the case'));
  const reopen = await page.locator('#case-list a', { hasText: /^Reopen/ }).first().getAttribute('href');
  assert.match(reopen, /\/cases\/[0-9a-f-]{36}\/reopen$/);
  await visit(a, reopen);
  assert.equal(await heading(page), 'Reopen the case');
  await check(a, 'the reopen-a-case form');
  await page.getByLabel('Support was not finished', { exact: true }).check();
  const reopened = await submit(page, button(page, 'Reopen the case'));
  assert.equal(reopened.status(), 200);
  assert.ok((await page.locator('#case-list').innerText()).includes('Open'));

  await visit(a, `/people/${personId}/documents`);
  const move = await page.locator('#documents a', { hasText: /^Move/ }).first().getAttribute('href');
  assert.match(move, /\/documents\/[0-9a-f-]{36}\/move$/);
  await visit(a, move);
  assert.equal(await heading(page), 'Move a document to the right record');
  await check(a, 'the move-a-document form');
  await page.fill('#record-number', '99999');
  const nobody = await submit(page, button(page, 'Continue'));
  assert.equal(nobody.status(), 400);
  assert.match(await page.title(), /^Error: /);
  await check(a, 'the move-a-document form with an unknown record number');
});

test('i7. merging a duplicate: the manager gives its record number, sees both records side by side (passes axe), is refused without saying how, merges, and the duplicate\'s page says where it went (passes axe)', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const add = async () => {
    await visit(a, '/people/new');
    await page.fill('#given-name', 'Quill');
    await page.fill('#family-name', 'Doubled');
    const added = await submit(page, button(page, 'Add the person'));
    assert.equal(added.status(), 200);
    const id = idIn(page, '/people');
    const number = (await page.locator('#record-number').innerText()).match(/^Record number (\d+)\./)[1];
    return { id, number };
  };
  const kept = await add();
  const dup = await add();

  const m = await as('managerA');
  await visit(m, `/people/${kept.id}`);
  const merge = await m.page.getByRole('link', { name: 'Merge a duplicate record into this one' }).getAttribute('href');
  assert.equal(merge, `/people/${kept.id}/merge`);
  await visit(m, merge);
  assert.equal(await heading(m.page), 'Merge a duplicate record into this one');
  await check(m, 'the merge form');
  await m.page.fill('#record-number', dup.number);
  const shown = await submit(m.page, button(m.page, 'Continue'));
  assert.equal(shown.status(), 200);
  assert.equal(await heading(m.page), 'Check the records are the same person');
  assert.ok((await m.page.locator('#compare').innerText()).includes('Doubled'));
  await check(m, 'both records side by side');
  const refused = await submit(m.page, button(m.page, 'Merge the records'));
  assert.equal(refused.status(), 400);
  assert.match(await m.page.title(), /^Error: /);
  await check(m, 'the merge check refused without saying how');
  await m.page.getByLabel('Checked with the person', { exact: true }).check();
  await m.page.getByLabel(`Yes: record ${dup.number} and record ${kept.number} are the same person`, { exact: true }).check();
  const merged = await submit(m.page, button(m.page, 'Merge the records'));
  assert.equal(merged.status(), 200);
  assert.equal(pathOf(m.page), `/people/${kept.id}/history`);
  assert.ok((await m.page.locator('#merges').innerText()).includes(`Record ${dup.number}`));
  await check(m, 'the history listing the merge');

  await visit(a, `/people/${dup.id}`);
  assert.equal(await heading(page), `Record ${dup.number} was merged into record ${kept.number}`);
  assert.equal(await page.locator('#to-survivor').getAttribute('href'), `/people/${kept.id}`);
  await check(a, 'a merged record\'s page');
});

test('i8. keeping: the DPO places a legal hold (refused empty, then listed), cannot destroy while it holds, releases it, destroys the record after seeing what it reaches, and reads the certificate; all pass axe', async () => {
  const a = await as('practitionerA');
  await visit(a, '/people/new');
  await a.page.fill('#given-name', 'Zqkeep');
  await a.page.fill('#family-name', 'Destroyed');
  const added = await submit(a.page, button(a.page, 'Add the person'));
  assert.equal(added.status(), 200);
  const id = idIn(a.page, '/people');

  const d = await as('dpo');
  const { page } = d;
  const holds = await visit(d, `/people/${id}/holds`);
  assert.equal(holds.status(), 200);
  assert.equal(await heading(page), 'Legal holds on this record');
  await check(d, 'a record\'s legal holds');
  const empty = await submit(page, button(page, 'Place the hold'));
  assert.equal(empty.status(), 400);
  assert.match(await page.title(), /^Error: /);
  await check(d, 'a legal hold refused without its kind and details');
  await page.getByLabel('A police investigation', { exact: true }).check();
  await page.fill('#reason', 'Investigation reference 12 under way');
  const placed = await submit(page, button(page, 'Place the hold'));
  assert.equal(placed.status(), 200);
  assert.ok((await page.locator('#holds').innerText()).includes('Investigation reference 12 under way'));
  assert.equal(await page.locator('#held').count(), 1, 'no way to destroy is offered while held');

  // Released with a reason, then destroyed.
  await page.locator('textarea[id^="release-"]').fill('The police closed the investigation');
  const released = await submit(page, page.locator('main form[action*="/release"] button'));
  assert.equal(released.status(), 200);
  await page.locator('#to-destroy').click();
  await page.waitForLoadState();
  assert.equal(await heading(page), 'Destroy this record');
  await check(d, 'what destroying a record reaches');
  await page.getByLabel('The Data Protection Officer\'s decision', { exact: true }).check();
  await page.fill('#reason', 'Created in error and reviewed');
  await page.fill('#password', accounts.dpo.password);
  await page.getByLabel('I understand the record, its keys and everything in it will be destroyed', { exact: true }).check();
  const destroyed = await submit(page, button(page, 'Destroy the record'));
  assert.equal(destroyed.status(), 200);
  assert.equal(await page.locator('.govuk-panel__title').innerText(), 'Record destroyed');
  const certificate = await page.locator('#certificate').innerText();
  assert.ok(certificate.includes(id) && !certificate.includes('Zqkeep'), 'the certificate names the record by id only');
  await check(d, 'the destruction certificate');
  const pdfLink = await page.getByRole('link', { name: 'Download the certificate as a PDF' }).getAttribute('href');
  const pdf = await page.request.get(new URL(pdfLink, page.url()).href);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
  await visit(d, '/admin/destruction-certificates');
  assert.equal(await page.locator('#certificates a').count() >= 1, true);
  await check(d, 'the destruction certificates');
  const gone = await visit(a, `/people/${id}`);
  assert.equal(gone.status(), 404);
});

test('i9. retention: the DPO finds a record whose retention has ended on the queue, sees what destroying it would reach, is refused a decision without its choice, keeps it until a date with a reason, and sees it leave the queue; all pass axe', async () => {
  assert.ok(reviewId, 'fixture: reviewId');
  const d = await as('dpo');
  const { page } = d;
  const queue = await visit(d, '/admin/retention');
  assert.equal(queue.status(), 200);
  assert.equal(await heading(page), 'Retention review');
  const waiting = await page.locator('#reviews').innerText();
  assert.ok(waiting.includes(personId) && !/Ada|Lovelace/.test(waiting), 'the queue names the record by id only');
  await check(d, 'the retention review queue');
  await page.locator(`a[href="/admin/retention/${reviewId}"]`).click();
  await page.waitForLoadState();
  assert.equal(await heading(page), 'Review a record whose retention has ended');
  assert.match(await page.locator('main').innerText(), /Destroying it reaches/);
  await check(d, 'a record on the retention review queue');
  const empty = await submit(page, button(page, 'Record the decision'));
  assert.equal(empty.status(), 400);
  assert.match(await page.title(), /^Error: /);
  await check(d, 'a retention decision refused without its choice');
  await page.getByLabel('Keep it until a date', { exact: true }).check();
  await page.fill('#keep-until', '31');
  await page.fill('#keep-until-month', '3');
  await page.fill('#keep-until-year', '2031');
  await page.fill('#reason', 'A public inquiry may ask for these records');
  const kept = await submit(page, button(page, 'Record the decision'));
  assert.equal(kept.status(), 200);
  assert.equal(await heading(page), 'Retention review');
  assert.equal(await page.locator('#no-reviews').count(), 1, 'nothing waits any more');
  assert.match(await page.locator('#closed-reviews').innerText(), /Kept for longer \(Kept until 2031-03-31\)/);
  await check(d, 'the retention review queue after a decision');
});

test('i10. holds on a query: the DPO opens the holds on a query, is refused a hold without its kind, service, dates and reason, places one over a service in a period, is refused its release without a reason, then releases it; all pass axe', async () => {
  const d = await as('dpo');
  const { page } = d;
  const list = await visit(d, '/admin/holds');
  assert.equal(list.status(), 200);
  assert.equal(await heading(page), 'Legal holds on a query');
  await check(d, 'the holds on a query');
  await page.locator('#new-hold').click();
  await page.waitForLoadState();
  assert.equal(await heading(page), 'Place a hold on a query');
  await check(d, 'the form of a hold on a query');
  const empty = await submit(page, button(page, 'Place the hold'));
  assert.equal(empty.status(), 400);
  assert.match(await page.title(), /^Error: /);
  assert.ok((await page.locator('.govuk-error-summary').innerText()).includes('Choose why the records must be kept'));
  await check(d, 'a hold on a query refused without its details');
  await page.getByLabel('A public inquiry', { exact: true }).check();
  await page.locator('input[name="service_id"]').first().check();
  await page.fill('#from-on', '1');
  await page.fill('#from-on-month', '11');
  await page.fill('#from-on-year', '2026');
  await page.fill('#to-on', '30');
  await page.fill('#to-on-month', '11');
  await page.fill('#to-on-year', '2026');
  await page.fill('#reason', 'The county inquiry into November');
  const placed = await submit(page, button(page, 'Place the hold'));
  assert.equal(placed.status(), 200);
  assert.equal(await heading(page), 'Legal holds on a query');
  const held = await page.locator('#query-holds').innerText();
  assert.ok(held.includes('2026-11-01 to 2026-11-30') && held.includes('The county inquiry into November'));
  await check(d, 'the holds on a query with one in force');
  const refused = await submit(page, page.locator('main form[action*="/release"] button'));
  assert.equal(refused.status(), 400);
  assert.ok((await page.locator('.govuk-error-summary').innerText()).includes('The reason for releasing it is required'));
  await check(d, 'a release refused without its reason');
  await page.locator('textarea[id^="release-"]').fill('The inquiry has reported');
  const released = await submit(page, page.locator('main form[action*="/release"] button'));
  assert.equal(released.status(), 200);
  assert.ok((await page.locator('#query-holds').innerText()).includes('The inquiry has reported'));
  assert.equal(await page.locator('main form[action*="/release"]').count(), 0, 'released: nothing left to release');
});

test('i11. rights requests: a practitioner is refused a request without its details, then logs one from the record; the DPO finds it on the list by its due date, is refused an extension without its reason, searches the record for the copy and opens an item to decide, and records the answer; a complaint is logged and acknowledged; a request for erasure is held to its confirmation and refused under an exemption, its letters PDFs; all pass axe', async () => {
  const a = await as('practitionerA');
  await visit(a, '/people/new');
  await a.page.fill('#given-name', 'Zqrights');
  await a.page.fill('#family-name', 'Asking');
  const added = await submit(a.page, button(a.page, 'Add the person'));
  assert.equal(added.status(), 200);
  const id = idIn(a.page, '/people');

  const onRecord = await visit(a, `/people/${id}/rights`);
  assert.equal(onRecord.status(), 200);
  assert.equal(await heading(a.page), 'Rights requests about this record');
  await check(a, 'the rights requests of a record, and the form to log one');
  const empty = await submit(a.page, button(a.page, 'Log the request'));
  assert.equal(empty.status(), 400);
  assert.match(await a.page.title(), /^Error: /);
  assert.ok((await a.page.locator('.govuk-error-summary').innerText()).includes('Choose what the request asks for'));
  await check(a, 'a rights request refused without its details');
  await a.page.getByLabel('Access: a copy of their data', { exact: true }).check();
  await a.page.getByLabel('By letter', { exact: true }).check();
  await a.page.getByLabel('The person themselves', { exact: true }).check();
  await a.page.getByLabel('Known to the member of staff who took the request', { exact: true }).check();
  const logged = await submit(a.page, button(a.page, 'Log the request'));
  assert.equal(logged.status(), 200);
  assert.equal(await heading(a.page), 'Rights requests about this record');
  assert.ok((await a.page.locator('#requests').innerText()).includes('Access: a copy of their data'));

  const d = await as('dpo');
  const { page } = d;
  const list = await visit(d, '/rights');
  assert.equal(list.status(), 200);
  assert.equal(await heading(page), 'Rights requests');
  const open = await page.locator('#open').innerText();
  assert.ok(open.includes(id) && !open.includes('Zqrights'), 'the list names the record by id only');
  await check(d, 'the rights requests');
  await page.locator('#open a').first().click();
  await page.waitForLoadState();
  const requestPath = new URL(page.url()).pathname;
  assert.equal(await heading(page), 'Rights request');
  assert.match(await page.locator('#due').innerText(), /^Due: /);
  await check(d, 'a rights request with its clock');
  await page.getByLabel('Extended by two months, the person told why', { exact: true }).check();
  const noReason = await submit(page, button(page, 'Record it'));
  assert.equal(noReason.status(), 400);
  assert.ok((await page.locator('.govuk-error-summary').innerText()).includes('give the reason for the extension'));
  await check(d, 'an extension refused without its reason');

  // The copy and its review: the record searched, each item shown as it would leave.
  await visit(d, `${requestPath}/bundle`);
  assert.equal(await heading(page), 'Access request: the copy and its review');
  await check(d, 'an access request not yet searched');
  const searched = await submit(page, button(page, 'Search the record'));
  assert.equal(searched.status(), 200);
  assert.ok((await page.locator('#searched').innerText()).includes('Case notes, plans, goals'));
  await check(d, 'an access request searched, its items to review');
  await page.locator('#items a').first().click();
  await page.waitForLoadState();
  assert.match(await heading(page), /^Item 1: /);
  await check(d, 'an item of the copy with its decision form');
  await visit(d, requestPath);
  await page.getByLabel('Answered', { exact: true }).check();
  const answered = await submit(page, button(page, 'Record it'));
  assert.equal(answered.status(), 200);
  assert.match(await page.locator('#facts').innerText(), /Answered/);
  assert.equal(await page.locator('#next').count(), 0, 'answered: nothing more to record');
  await check(d, 'an answered rights request');

  // A complaint, logged by the DPO from the record: acknowledged, then no date in law.
  await visit(d, `/people/${id}/rights`);
  await page.getByLabel('A complaint about how their data is used', { exact: true }).check();
  await page.getByLabel('By email', { exact: true }).check();
  const complained = await submit(page, button(page, 'Log the request'));
  assert.equal(complained.status(), 200);
  assert.equal(await heading(page), 'Rights request');
  assert.match(await page.locator('#due').innerText(), /30 days beginning with its receipt/);
  await check(d, 'a complaint with the day it must be acknowledged by');
  await page.getByLabel('Complaint acknowledged', { exact: true }).check();
  const acknowledged = await submit(page, button(page, 'Record it'));
  assert.equal(acknowledged.status(), 200);
  assert.match(await page.locator('#due').innerText(), /Without undue delay/);
  await check(d, 'an acknowledged complaint');

  // A request for erasure: its decision's page, erasing held to its confirmation, then refused
  // under an exemption, which the request's page names.
  await visit(d, `/people/${id}/rights`);
  await page.getByLabel('Erasure: deleting their data', { exact: true }).check();
  await page.getByLabel('By email', { exact: true }).check();
  await page.getByLabel('Known to the member of staff who took the request', { exact: true }).check();
  const erasure = await submit(page, button(page, 'Log the request'));
  assert.equal(erasure.status(), 200);
  assert.equal(await heading(page), 'Rights request');
  const erasurePath = new URL(page.url()).pathname;
  await submit(page, page.locator('#erasure-link'));
  assert.equal(await heading(page), 'Decide the request for erasure');
  await check(d, 'a request for erasure with its grounds and exemptions');
  await page.getByLabel('It was processed unlawfully (Art. 17(1)(d))', { exact: true }).check();
  const unconfirmed = await submit(page, button(page, 'Decide'));
  assert.equal(unconfirmed.status(), 400);
  assert.ok((await page.locator('.govuk-error-summary').innerText()).includes('Tick to say you understand'));
  await check(d, 'an erasure not confirmed');
  await page.getByLabel('It is needed to make or defend legal claims (Art. 17(3)(e))', { exact: true }).check();
  const refused = await submit(page, button(page, 'Decide'));
  assert.equal(refused.status(), 200);
  assert.equal(new URL(page.url()).pathname, erasurePath);
  assert.match(await page.locator('#steps').innerText(), /Erasure refused: It is needed to make or defend legal claims/);
  assert.match(await page.locator('#facts').innerText(), /Refused/);
  await check(d, 'a request for erasure refused under an exemption');
  // Each step the person must be told of has its letter, a PDF.
  const letters = page.locator('#steps a', { hasText: 'Letter (PDF)' });
  assert.equal(await letters.count(), 2, 'the acknowledgement and the refusal');
  const pdf = await page.request.get(new URL(await letters.last().getAttribute('href'), page.url()).href);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');
});

test('i4. administration: services with their scope and teams, a service and a team added, a scope change explained and asked to be confirmed, the staff form refusing a contradiction, and an account named (shown where the handle was); all pass axe', async () => {
  const admin = await as('administrator');
  const { page } = admin;
  const list = await visit(admin, '/admin/services');
  assert.equal(list.status(), 200);
  assert.equal(await heading(page), 'Services and teams');
  assert.match(await page.locator('#services').innerText(), /Service A\s+The whole service/);
  await check(admin, 'services and teams');

  // A name left empty is refused in the error summary; then the service is added.
  const refused = await submit(page, button(page, 'Add service'));
  assert.equal(refused.status(), 422);
  assert.equal(await page.locator('.govuk-error-summary a[href="#name"]').count(), 1);
  await check(admin, 'services and teams, a service without a name');
  await page.fill('#name', 'Browser Outreach');
  const added = await submit(page, button(page, 'Add service'));
  assert.equal(added.status(), 200);
  assert.equal(await heading(page), 'Browser Outreach');
  await page.fill('#name', 'East');
  const team = await submit(page, button(page, 'Add team'));
  assert.equal(team.status(), 200);
  assert.match(await page.locator('#teams').innerText(), /East/);
  await check(admin, 'a service with a team added');

  // Changing who can open the records is explained, then asked to be confirmed; "No" keeps it.
  await page.locator('main').getByRole('link', { name: 'Change scope' }).click();
  await page.waitForLoadState('load');
  assert.match(pathOf(page), /^\/admin\/services\/[0-9a-f-]{36}\/scope$/);
  await check(admin, 'who can open the records');
  await page.getByLabel('Their caseload', { exact: true }).check();
  const asked = await submit(page, button(page, 'Continue'));
  assert.equal(asked.status(), 200);
  assert.equal(await heading(page), 'Change who can open the records?');
  await check(admin, 'confirming a change of scope');
  await submit(page, page.locator('main').getByRole('link', { name: 'No, keep it as it is' }));
  assert.match(await page.locator('main').innerText(), /The whole service/);

  // The staff form refuses a team manager without a service, by field.
  await visit(admin, '/admin/users/new');
  await page.fill('#handle', 'tm.browser');
  await page.fill('#display-name', 'Tam Browser');
  await page.selectOption('#role', 'team_manager');
  const contradiction = await submit(page, button(page, 'Add account'));
  assert.equal(contradiction.status(), 422);
  assert.equal(await page.locator('.govuk-error-summary a[href="#service"]').count(), 1);
  assert.equal(await page.inputValue('#display-name'), 'Tam Browser');
  await check(admin, 'the new account form refusing a team manager without a service');

  // A practitioner's account named on its page, shown by that name.
  await visit(admin, '/admin/users');
  const href = await page.getByRole('link', { name: accounts.practitionerA.handle, exact: true }).getAttribute('href');
  await visit(admin, href);
  await page.fill('#display-name', 'Sam Patel');
  await page.fill('#job-title', 'Support worker\u0007');
  const bad = await submit(page, button(page, 'Save name, job title and team'));
  assert.equal(bad.status(), 422);
  assert.equal(await page.locator('.govuk-error-summary a[href="#job-title"]').count(), 1);
  await check(admin, 'an account page refusing a job title with a control character');
  await page.fill('#job-title', 'Support worker');
  const saved = await submit(page, button(page, 'Save name, job title and team'));
  assert.equal(saved.status(), 200);
  assert.equal(await heading(page), 'Sam Patel');
  assert.match(await page.locator('#account-details').innerText(), new RegExp(`${accounts.practitionerA.handle.replace('.', '\\.')}[\\s\\S]*Support worker`));
  await check(admin, 'an account with a display name');
  await visit(admin, '/admin/users');
  assert.match(await page.locator('main table').innerText(), /Sam Patel, Support worker/);

  const a = await as('practitionerA');
  await visit(a, '/');
  assert.match(await a.page.locator('.app-account').innerText(), /Signed in as Sam Patel/);
  await check(a, 'the dashboard of a named account');
});

// ----------------------------------------------------------------------------------------------
// j. Sharing as steps.

test('j1. a share in five steps (recipient, purpose and basis, what to send, check, confirm), each passing axe at full width and 390 px, with the step said in words; a refusal names its true cause; the disclosure offers its package as a PDF', async () => {
  const a = await as('practitionerA');
  const { page } = a;
  const stepIs = async (n) => assert.match(await page.locator('#share-step').innerText(), new RegExp(`^Step ${n} of 5$`));
  const shared = await untilUnlocked(a, async () => {
    await visit(a, `/people/${personId}/share`);
    await stepIs(1);
    assert.equal(await page.locator('[aria-current="step"]').count(), 1);
    await check(a, 'share step 1: the recipient');
    await page.getByLabel('Harbour Surgery', { exact: true }).check();
    await submit(page, button(page, 'Continue'));
    if (pathOf(page) === '/lock') return null;
    await stepIs(2);
    await check(a, 'share step 2: purpose and lawful basis');
    await page.locator('input[name="basis"][value="legal_obligation"]').check();
    await submit(page, button(page, 'Continue'));
    if (pathOf(page) === '/lock') return null;
    await stepIs(3);
    assert.match(await page.locator('main').innerText(), /safe contact details never leave the record/);
    await check(a, 'share step 3: what to send');
    await page.check('#fields');
    await submit(page, button(page, 'Check the rules'));
    if (pathOf(page) === '/lock') return null;
    await stepIs(4);
    assert.match(await page.locator('main').innerText(), /Exactly what will be sent/);
    // No address carries a person's value: only ids and codes.
    assert.match(page.url(), /^[^?]*\?(recipient_id|basis|fields|entries)=[\w-]+(&(recipient_id|basis|fields|entries)=[\w-]+)*$/);
    await check(a, 'share step 4: the check');
    // A basis the recipient may not receive under: refused by its true cause, nothing shared.
    const refusedAt = page.url().replace('basis=legal_obligation', 'basis=consent');
    await visit(a, new URL(refusedAt).pathname + new URL(refusedAt).search);
    assert.equal(await page.locator('[data-rule="basis_not_for_recipient"]').count(), 1);
    assert.equal(await page.locator('[data-rule="no_consent_purpose_for_recipient"]').count(), 1);
    await check(a, 'share step 4: a refusal named by its causes');
    await page.goBack();
    await page.locator('main a.govuk-button', { hasText: 'Continue to confirm' }).click();
    await page.waitForLoadState('load');
    if (pathOf(page) === '/lock') return null;
    await stepIs(5);
    await check(a, 'share step 5: confirm');
    const invalid = await submit(page, button(page, 'Share'));
    if (pathOf(page) === '/lock') return invalid;
    assert.equal(invalid.status(), 400);
    assert.match(await page.title(), /^Error: /);
    await check(a, 'share step 5 with its errors');
    await page.fill('#reason', 'The surgery asked for the details again for a review.');
    await page.check('#person-told');
    return submit(page, button(page, 'Share'));
  });
  assert.equal(shared.status(), 200);
  assert.match(pathOf(page), new RegExp(`^/people/${personId}/disclosures/[0-9a-f-]{36}$`));
  const pdf = await page.locator('#package-pdf').getAttribute('href');
  assert.equal(pdf, `${pathOf(page)}/package.pdf`);
  await check(a, 'the disclosure page with its PDF link');
}, { timeout: 120_000 });

await run();
