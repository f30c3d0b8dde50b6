/**
 * The web app in a real Chromium (Debian's, driven by playwright-core) on a real devnet: sign up,
 * create an API key, run cowsay from the form and see the cow, upload a PNG to image-edit and see the
 * edited image, run a job through the API with the key and see it in the history, revoke the key and
 * see the API refuse it, and see a job run with the command line counted on the network page.
 * Screenshots of the main pages are saved under test-artifacts/web/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/dev-accounts.js';
import { packageRoot } from '../../src/modules/registry.js';
import { createClient, WebApiError } from '../../src/web/client.js';
import { runCli } from '../e2e/cli.js';
import { encodePng, rgba } from '../modules/catalogue/png.js';
import { startWebFixture, type WebFixture } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'web');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`skipping the browser tests: ${CHROMIUM} is absent (apt-get install chromium)`);

describe.skipIf(!hasChromium)('the web app in Chromium', () => {
  let fixture: WebFixture;
  let browser: Browser;
  let page: Page;
  let apiKey: string;

  const nav = () => page.getByRole('navigation', { name: 'Main' });
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    fixture = await startWebFixture();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
  });

  it('shows the catalogue from the registry, and asks for an account to run a module', async () => {
    await page.goto(fixture.web.url);
    await expect.poll(() => page.getByRole('heading', { name: 'cowsay', exact: true }).count()).toBe(1);
    await shot('catalogue');
    await page.getByRole('link', { name: 'Run cowsay:v0.0.1' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await shot('sign-up');
  });

  it('signs up, and creates an API key shown once', async () => {
    await page.getByLabel('Email').fill('ada@example.org');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.locator('form').getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await nav().getByRole('link', { name: 'Account' }).click();
    await page.getByLabel('Key name').fill('script');
    await page.getByRole('button', { name: 'Create key' }).click();
    apiKey = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(apiKey).toMatch(/^lp_/);
    await expect.poll(() => page.getByText('100 LP').count()).toBeGreaterThan(0);
    await shot('account');
  });

  it('runs cowsay from the form and shows the cow on the live timeline', async () => {
    await nav().getByRole('link', { name: 'Modules' }).click();
    await page.getByRole('link', { name: 'Run cowsay:v0.0.1' }).click();
    const message = page.getByLabel('Message');
    await expect.poll(() => message.inputValue()).toBe('Hello, Lilypad!');
    await shot('run-form');
    await message.fill('moo from the browser');
    await page.getByRole('button', { name: 'Run job' }).click();
    const stdout = page.getByTestId('stdout');
    await stdout.waitFor({ timeout: 90_000 });
    expect(await stdout.textContent()).toContain('moo from the browser');
    expect(await stdout.textContent()).toContain('(oo)');
    await page.locator('.badge.status-paid').waitFor({ timeout: 30_000 });
    expect(await page.locator('.step.done').count()).toBe(5);
    await shot('job');
  }, 120_000);

  it('uploads a PNG to image-edit from the form and shows the edited image inline', async () => {
    // 12 × 6, red growing along x, blue along y: inverted, pixel (x, y) is (255 - 20x, 255, 255 - 40y).
    const png = encodePng(rgba(12, 6, (x, y) => [x * 20, 0, y * 40, 255]));
    await nav().getByRole('link', { name: 'Modules' }).click();
    await page.getByRole('link', { name: 'Run image-edit:v0.1.0' }).click();
    await page.getByLabel('Image').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png });
    await page.getByLabel('Operation').fill('invert');
    await page.getByRole('button', { name: 'Run job' }).click();
    const image = page.getByRole('img', { name: 'result file outputs/output.png' });
    await image.waitFor({ timeout: 90_000 });
    expect(await page.getByTestId('stdout').textContent()).toBe('invert: 12x6 -> 12x6\n');
    // The browser decoded the PNG the module wrote: read its pixels back through a canvas.
    await expect
      .poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBe(12);
    const pixels = await image.evaluate((img: HTMLImageElement) => {
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const context = canvas.getContext('2d') as CanvasRenderingContext2D;
      context.drawImage(img, 0, 0);
      return [
        [img.naturalWidth, img.naturalHeight],
        [...context.getImageData(0, 0, 1, 1).data],
        [...context.getImageData(11, 5, 1, 1).data],
      ];
    });
    expect(pixels).toEqual([
      [12, 6],
      [255, 255, 255, 255],
      [255 - 220, 255, 255 - 200, 255],
    ]);
    await page.locator('.badge.status-paid').waitFor({ timeout: 30_000 });
    await shot('job-image');
  }, 120_000);

  it('runs a job through the API with the key and lists it in the history', async () => {
    const client = createClient({ url: fixture.web.url, apiKey });
    const job = await client.submitJob({ module: 'cowsay:v0.0.1', inputs: { Message: 'sent by a script' } });
    expect((await client.followJob(job.id)).status).toBe('paid');
    await nav().getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('cell', { name: 'Message=sent by a script' }).waitFor();
    expect(await page.getByRole('cell', { name: 'Message=moo from the browser' }).count()).toBe(1);
    await shot('history');
  }, 120_000);

  it('revokes the key, after which the API refuses it', async () => {
    await nav().getByRole('link', { name: 'Account' }).click();
    await page.getByRole('button', { name: 'Revoke key script' }).click();
    await page.getByText('revoked').waitFor();
    const error = await createClient({ url: fixture.web.url, apiKey })
      .jobs()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebApiError);
    expect((error as WebApiError).status).toBe(401);
  });

  it('shows the network from the solver: a job run with the command line counts too', async () => {
    await nav().getByRole('link', { name: 'Network' }).click();
    const chart = page.getByRole('img', { name: /jobs in the last hour/ });
    const jobsInChart = async () =>
      Number(/^(\d+) jobs/.exec((await chart.getAttribute('aria-label').catch(() => null)) ?? '')?.[1]);
    // The app's three jobs: the cow, the image and the script's.
    await expect.poll(jobsInChart, { timeout: 30_000 }).toBe(3);
    expect(Number(await page.getByTestId('providers-online').textContent())).toBeGreaterThanOrEqual(1);
    expect(await page.getByRole('table').getByRole('row').count()).toBeGreaterThan(1); // header + offers

    const cliDir = join(fixture.dataDir, 'cli');
    const run = await runCli(
      ['run', 'cowsay:v0.0.1', '-i', 'Message=from the command line', '--json'],
      {
        LILYPAD_DATA_DIR: cliDir,
        WEB3_RPC_URL: fixture.devnet.network.rpcUrl,
        LILYPAD_SOLVER_URL: fixture.devnet.network.solverUrl,
        WEB3_PRIVATE_KEY: devAccount('jobCreator').privateKey,
      },
      90_000,
    );
    expect(run.code, run.stderr).toBe(0);
    // The page reloads its figures by itself.
    await expect.poll(jobsInChart, { timeout: 60_000 }).toBe(4);
    await shot('network');
    await page.setViewportSize({ width: 390, height: 800 });
    await shot('network-phone');
  }, 150_000);
});
