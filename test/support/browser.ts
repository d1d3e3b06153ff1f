// A real headless browser for the page tests: Debian's chromium (test/system-packages.sh installs it) driven by playwright-core.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium), as .ci/run does.`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** An app served on a loopback port and a browser to open it, for the whole test file: started before its tests, closed after. */
export interface PageTestBed {
  /** The browser, once the tests run. */
  readonly browser: Browser;
  /** http://127.0.0.1:<port>, once the tests run. */
  readonly base: string;
}

export function pageTestBed(app: { listen(): Promise<Server> }): PageTestBed {
  let server: Server | undefined;
  const bed = {} as { browser: Browser; base: string };
  beforeAll(async () => {
    server = await app.listen();
    bed.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    bed.browser = await launchChromium();
  });
  afterAll(async () => {
    await bed.browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });
  return bed;
}
