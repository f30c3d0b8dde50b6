/**
 * The web app in a real Chromium (Debian's, driven by playwright-core) on a real devnet: sign up,
 * create an API key, run cowsay from the form and see the cow, run a job through the API with the key
 * and see it in the history, revoke the key and see the API refuse it. Screenshots of the main pages
 * are saved under test-artifacts/web/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/modules/registry.js';
import { createClient, WebApiError } from '../../src/web/client.js';
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

  it('shows the network: the provider that ran the jobs, prices and the last hour', async () => {
    await nav().getByRole('link', { name: 'Network' }).click();
    await page.getByRole('img', { name: /2 jobs in the last hour/ }).waitFor();
    expect(await page.getByText('Providers online').count()).toBe(1);
    await shot('network');
    await page.setViewportSize({ width: 390, height: 800 });
    await shot('network-phone');
  });
});
