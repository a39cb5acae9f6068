// Drives the API explorer in headless Chromium, as a developer would:
//   node explorer.mjs URL SCREENSHOT.png
// loads URL (a location's explorer page), waits for the resource list,
// opens GET /products, "Try it out", "Execute", and prints what the page
// then shows as JSON: {"tags": [...], "status": "200", "rows": [...]}.
import puppeteer from 'puppeteer-core';

const [url, shot] = process.argv.slice(2);
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
  const tags = await page.$$eval('.opblock-tag', (els) =>
    els.map((e) => e.getAttribute('data-tag')));
  const path = await page.waitForSelector(
    '.opblock-get .opblock-summary-path[data-path="/products"]');
  await path.click();
  const tryIt = await page.waitForSelector('.opblock-get.is-open .try-out__btn');
  await tryIt.click();
  const execute = await page.waitForSelector('.opblock-get.is-open .execute');
  await execute.click();
  const row = '.opblock-get.is-open .live-responses-table tr.response';
  await page.waitForSelector(row, { timeout: 30000 });
  const status = await page.$eval(`${row} .response-col_status`,
    (e) => e.textContent.trim());
  const text = await page.$eval(`${row} .response-col_description pre`,
    (e) => e.textContent);
  await page.screenshot({ path: shot, fullPage: false });
  console.log(JSON.stringify({ tags, status, rows: JSON.parse(text) }));
} finally {
  await browser.close();
}
