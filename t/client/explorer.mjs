// Drives the API explorer in headless Chromium, as a developer would:
//   node explorer.mjs URL SCREENSHOT.png [USER PASSWORD]
// loads URL (a location's explorer page), waits for the resource list,
// tries GET /products ("Try it out", "Execute") and reads the rows the
// page shows.  With USER and PASSWORD it then gets a token from the token
// endpoint in the page, gives it to "Authorize", and tries GET /notes, a
// resource that needs it.  Prints what it saw as JSON.
import puppeteer from 'puppeteer-core';

const [url, shot, user, password] = process.argv.slice(2);

// The operation block of METHOD PATH, opened, tried with body (or none):
// the status and the response body it then shows.
async function tryIt(page, method, path, body) {
  const summary = await page.waitForSelector(
    `.opblock-${method} .opblock-summary-path[data-path="${path}"]`);
  const block = await summary.evaluateHandle((e) => e.closest('.opblock'));
  await summary.click();
  await (await block.waitForSelector('.try-out__btn')).click();
  if (body !== undefined) {
    const text = await block.waitForSelector('textarea.body-param__text');
    await text.click();
    await page.keyboard.down('Control');
    await page.keyboard.press('a');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await text.type(JSON.stringify(body));
  }
  await (await block.waitForSelector('.execute')).click();
  const row = await block.waitForSelector(
    '.live-responses-table tr.response', { timeout: 30000 });
  const status = await row.$eval('.response-col_status',
    (e) => e.textContent.trim());
  const text = await row.$eval('.response-col_description pre',
    (e) => e.textContent);
  return [status, JSON.parse(text)];
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1600 });
  await page.goto(url, { waitUntil: 'networkidle0', timeout: 60000 });
  await page.waitForSelector('.opblock-tag', { timeout: 30000 });
  const seen = {
    tags: await page.$$eval('.opblock-tag',
      (els) => els.map((e) => e.getAttribute('data-tag'))),
  };
  const [status, rows] = await tryIt(page, 'get', '/products');
  Object.assign(seen, { status, rows });
  await page.screenshot({ path: shot, fullPage: false });
  if (user) {
    const [tokenStatus, token] = await tryIt(page, 'post', '/token',
      { username: user, password });
    seen.token = tokenStatus;
    await (await page.waitForSelector('.auth-wrapper .authorize')).click();
    const bearer = await page.waitForSelector(
      '.modal-ux .auth-container input[type="text"]:not([id*="username"])');
    const box = await bearer.evaluateHandle(
      (e) => e.closest('.auth-container'));
    await bearer.type(token.access_token);
    await (await box.$('button.authorize')).click();
    await (await page.waitForSelector('.modal-ux .btn-done')).click();
    seen.notes = await tryIt(page, 'get', '/notes');
  }
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
