// The review console in headless Chromium (Debian's `chromium`, driven by playwright-core).
//
// Expects a running `ferry` seeded by `ferry-demo seed` (tests/console/run.sh does both):
//   FERRY_URL             the server, e.g. http://127.0.0.1:40123
//   FERRY_ADMIN_PASSWORD  the bootstrap admin's password
//   CHROMIUM              the browser binary (default /usr/bin/chromium)
//   SCREENSHOT_DIR        where queue.png and item.png go (default ../docs/screenshots)
//
// An admin signs in, opens the queue, filters it, opens the date-of-birth conflict, keeps one
// of the values, and sees the decision on the item and in the record's field history.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.FERRY_URL || '').replace(/\/$/, '');
const PASSWORD = process.env.FERRY_ADMIN_PASSWORD || '';
const SHOTS = process.env.SCREENSHOT_DIR || join(here, '..', 'docs', 'screenshots');
const CHOSEN = '1985-02-03';

let context;
let page;
let profile;

before(async () => {
  assert.ok(BASE, 'FERRY_URL is required');
  assert.ok(PASSWORD, 'FERRY_ADMIN_PASSWORD is required');
  mkdirSync(SHOTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'ferry-chromium-'));
  // A persistent context gives Chromium a fresh --user-data-dir of our own.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--lang=vi-VN',
    ],
    viewport: { width: 1366, height: 860 },
    locale: 'vi-VN',
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15000);
});

after(async () => {
  if (context) await context.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the queue needs a sign-in and refuses a wrong password', async () => {
  await page.goto(`${BASE}/console/queue`);
  assert.match(page.url(), /\/console\/login\?next=/);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button.primary');
  assert.match(await page.textContent('p.error'), /Sai tên đăng nhập hoặc mật khẩu/);
});

test('an admin signs in and sees the queue with counts and filters', async () => {
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/queue/), page.click('button.primary')]);
  assert.equal(await page.textContent('h1'), 'Hàng đợi rà soát');
  const total = Number(await page.textContent('#total'));
  assert.ok(total >= 4, `expected the seeded items, got ${total}`);
  const rows = page.locator('table.queue tbody tr');
  assert.equal(await rows.count(), total);
  for (const type of ['t-field_conflict', 't-duplicate_id_number', 't-household_head', 't-edit_during_withdrawal']) {
    assert.ok(await page.locator(`table.queue tbody tr.${type}`).count() >= 1, `${type} in the queue`);
  }
  await page.screenshot({ path: join(SHOTS, 'queue.png'), fullPage: true });

  // Filter by item type.
  await page.selectOption('select[name=type]', 'field_conflict');
  await Promise.all([page.waitForURL(/type=field_conflict/), page.click('form.filters button.primary')]);
  assert.equal(await page.locator('table.queue tbody tr').count(), 1);
  assert.equal(await page.textContent('#total'), '1');
});

test('the item page shows the values side by side and keeping one resolves the item', async () => {
  await Promise.all([page.waitForURL(/\/console\/items\/\d+$/), page.click('a.open-item')]);
  const values = await page.locator('table.side tr.value-row td').allTextContents();
  assert.equal(values.length, 2, `two competing values: ${values}`);
  const index = values.findIndex((v) => v.includes(CHOSEN));
  assert.ok(index >= 0, `one of ${values} is ${CHOSEN}`);
  const body = await page.textContent('table.side');
  assert.match(body, /\ban\b/);
  assert.match(body, /\bbinh\b/);
  assert.match(body, /Điện thoại A \(an\)/);
  await page.screenshot({ path: join(SHOTS, 'item.png'), fullPage: true });

  await page.check(`input[name=choice][value="${index}"]`);
  await Promise.all([page.waitForURL(/\?done=1$/), page.click('#resolve-choose')]);
  assert.match(await page.textContent('#item-status'), /Đã xử lý/);
  assert.equal((await page.textContent('#resolved-by')).trim(), 'admin');
  assert.match(await page.textContent('#chosen'), new RegExp(CHOSEN));
  assert.equal(await page.locator('#resolve-choose').count(), 0, 'no more actions on a resolved item');
});

test('the record page shows the chosen value and the decision in the field history', async () => {
  await Promise.all([page.waitForURL(/\/console\/records\//), page.click('dl.meta a[href^="/console/records/"]')]);
  const row = page.locator('tr[data-field=date_of_birth]');
  assert.match(await row.textContent(), new RegExp(CHOSEN));
  assert.equal(await row.locator('.conflict').count(), 0, 'no conflict left');
  const history = await page.textContent('table.history');
  assert.match(history, /admin/);
  assert.match(history, /1985-03-12/);
  assert.match(await page.textContent('ul.items'), /Đã xử lý/);
});

test('English is one click away', async () => {
  await page.goto(`${BASE}/console/queue`);
  await Promise.all([page.waitForURL(/lang=en/), page.click('a.lang')]);
  assert.equal(await page.textContent('h1'), 'Review queue');
  await page.goto(`${BASE}/console/queue`);
  assert.equal(await page.textContent('h1'), 'Review queue', 'the choice is remembered');
  await Promise.all([page.waitForURL(/lang=vi/), page.click('a.lang')]);
  assert.equal(await page.textContent('h1'), 'Hàng đợi rà soát');
});

test('a form posted without the session token is refused', async () => {
  await page.goto(`${BASE}/console/queue?type=duplicate_id_number`);
  const href = await page.getAttribute('a.open-item', 'href');
  const id = href.split('/').pop();
  const refused = await page.request.post(`${BASE}/console/items/${id}/dismiss`, {
    form: { reason: 'forged', csrf: 'not-the-token' },
    maxRedirects: 0,
  });
  assert.equal(refused.status(), 403);
  await page.goto(`${BASE}${href}`);
  assert.match(await page.textContent('#item-status'), /Chờ xử lý/, 'still open');
});

test('the progress report shows a chart beside its numbers and downloads as XLSX', async () => {
  await page.goto(`${BASE}/console/reports/progress`);
  assert.match(await page.textContent('h1'), /Báo cáo tiến độ giải quyết hồ sơ/);
  // The demo's residence declaration (no filing day: counted on the day the server saw it).
  const total = page.locator('#progress-table tbody tr:last-child td');
  assert.equal(await total.nth(0).textContent(), 'Tổng cộng');
  assert.ok(Number(await total.nth(3).textContent()) >= 1, 'at least the demo declaration');
  assert.ok((await page.locator('#chart-status svg rect title').count()) >= 1, 'a bar segment per outcome');
  assert.ok((await page.locator('#chart-trend svg polyline').count()) >= 1, 'a trend line per unit');
  assert.ok((await page.locator('#trend-figures tbody tr').count()) >= 1, 'the trend numbers beside the chart');
  const href = await page.getAttribute('#download-xlsx', 'href');
  const xlsx = await page.request.get(`${BASE}${href}`);
  assert.equal(xlsx.status(), 200);
  assert.match(xlsx.headers()['content-type'], /spreadsheetml/);
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK', 'an XLSX file is a zip');
  await page.screenshot({ path: join(SHOTS, 'report-progress.png'), fullPage: true });
});

test('the data-quality report draws the findings by type beside their numbers', async () => {
  await page.goto(`${BASE}/console/reports/quality`);
  assert.match(await page.textContent('h1'), /Báo cáo chất lượng dữ liệu/);
  assert.equal(await page.locator('#chart-findings svg').count(), 1, 'the findings-by-type chart');
  assert.equal(await page.locator('#findings-by-type').count(), 1, 'its numbers beside it');
  assert.equal(await page.locator('#completeness-table').count(), 1);
  assert.equal(await page.locator('#review-table').count(), 1);
  const xlsx = await page.request.get(`${BASE}${await page.getAttribute('#download-xlsx', 'href')}`);
  assert.equal(xlsx.status(), 200);
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK');
  await page.screenshot({ path: join(SHOTS, 'report-quality.png'), fullPage: true });
});

test('the officers and data-use reports list each account with its figures and download', async () => {
  for (const [path, table, shot] of [
    ['officers', '#officers-table', 'report-officers.png'],
    ['data-use', '#data-use-table', 'report-data-use.png'],
  ]) {
    await page.goto(`${BASE}/console/reports/${path}?period=year`);
    assert.equal(await page.locator(table).count(), 1, `${path}: the table`);
    // The demo's officers pushed edits this year: at least one account row besides the total.
    assert.ok((await page.locator(`${table} tbody tr`).count()) >= 1, `${path}: account rows`);
    const xlsx = await page.request.get(`${BASE}${await page.getAttribute('#download-xlsx', 'href')}`);
    assert.equal(xlsx.status(), 200);
    assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK');
    const csv = await page.request.get(`${BASE}${await page.getAttribute('#download-csv', 'href')}`);
    assert.equal(csv.status(), 200);
    assert.match(await csv.text(), /theo cán bộ|Kiểm tra việc khai thác/);
    await page.screenshot({ path: join(SHOTS, shot), fullPage: true });
  }
});

test('the coverage report draws its totals beside their numbers, the ID-number notice and VNeID among them', async () => {
  await page.goto(`${BASE}/console/reports/coverage?months=12`);
  assert.match(await page.textContent('h1'), /Báo cáo độ phủ/);
  assert.equal(await page.locator('#chart-coverage svg').count(), 1, 'the totals chart');
  assert.equal(await page.locator('#coverage-totals').count(), 1, 'its numbers beside it');
  assert.equal(await page.locator('#coverage-table').count(), 1);
  assert.equal(await page.locator('#cards-due-table').count(), 1);
  assert.match(await page.textContent('#coverage-table thead'), /Thẻ đến hạn đổi trong 12 tháng/);
  assert.match(await page.textContent('#coverage-totals'), /Chưa được thông báo số định danh cá nhân/);
  assert.match(await page.textContent('#coverage-totals'), /VNeID/);
  assert.equal(await page.locator('#not-recorded').count(), 0, 'every figure is counted');
  const xlsx = await page.request.get(`${BASE}${await page.getAttribute('#download-xlsx', 'href')}`);
  assert.equal(xlsx.status(), 200);
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK');
  await page.screenshot({ path: join(SHOTS, 'report-coverage.png'), fullPage: true });
});

test('an admin sees a phone marked stalled after its pushes failed', async () => {
  // A phone of the demo officer `an` signs in, then three of its pushes arrive broken.
  const id = '018f0000-0000-7000-8000-' + Date.now().toString(16).padStart(12, '0').slice(-12);
  const login = await page.request.post(`${BASE}/v1/login`, {
    data: {
      username: 'an', password: 'demo-officer-1', device_id: id,
      actor_id: id.replace(/-/g, ''), device_name: 'Điện thoại hỏng mạng',
    },
  });
  assert.equal(login.status(), 200, await login.text());
  const { token } = await login.json();
  for (let i = 0; i < 3; i++) {
    const push = await page.request.post(`${BASE}/v1/sync`, {
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cbor' },
      data: Buffer.from([0xa7, 0x61, 0x76, 0x01]),
    });
    assert.equal(push.status(), 400);
  }
  await page.goto(`${BASE}/console/reports/devices`);
  const row = page.locator('#device-list tr[data-state=stalled]');
  assert.equal(await row.count(), 1, 'the broken phone is stalled');
  assert.match(await row.textContent(), /Điện thoại hỏng mạng/);
  assert.match(await row.textContent(), /Tắc đồng bộ/);
  assert.ok((await page.locator('#device-list tr[data-state=ok]').count()) >= 2, 'the demo phones are ok');
  assert.equal(await page.locator('#chart-states svg').count(), 1);
  await page.screenshot({ path: join(SHOTS, 'report-devices.png'), fullPage: true });
});

test('a leader lands on the reports and is refused the queue', async () => {
  // Sign the admin out and the leader (added by run.sh) in on the same page.
  await page.goto(`${BASE}/console/queue`);
  await Promise.all([page.waitForURL(/\/console\/login/), page.click('header form button')]);
  await page.fill('input[name=username]', 'chutich');
  await page.fill('input[name=password]', process.env.FERRY_LEADER_PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/reports/), page.click('button.primary')]);
  await page.goto(`${BASE}/console/reports/progress`);
  assert.match(await page.textContent('dl.report-meta'), /07132/);
  assert.equal(await page.locator('#chart-trend svg').count(), 1);
  const queue = await page.request.get(`${BASE}/console/queue`, { maxRedirects: 0 });
  assert.equal(queue.status(), 403);
  await page.screenshot({ path: join(SHOTS, 'report-leader.png'), fullPage: true });
  // Device health: the roll-up of the ward, no list of devices or users.
  await page.goto(`${BASE}/console/reports/devices`);
  assert.equal(await page.locator('#device-list').count(), 0);
  assert.equal(await page.locator('#no-list').count(), 1);
  assert.match(await page.textContent('#device-rollup'), /07132/);
  // Back to the admin for the last test.
  await Promise.all([page.waitForURL(/\/console\/login/), page.click('header form button')]);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForURL(/\/console\/queue/), page.click('button.primary')]);
});

test('signing out ends the session', async () => {
  await page.goto(`${BASE}/console/queue`);
  await Promise.all([page.waitForURL(/\/console\/login/), page.click('header form button')]);
  await page.goto(`${BASE}/console/queue`);
  assert.match(page.url(), /\/console\/login/);
});
