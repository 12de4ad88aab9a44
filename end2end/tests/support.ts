// What the browser flows share: the team's people, screenshots, pages opened
// before hydration or without WASM, and set-ups a flow needs but does not test
// (a connected calendar, a booking page), made only when missing, so each
// flow also runs alone: `npx playwright test 05-booking-page`.
import { expect, Page } from "@playwright/test";
import * as path from "path";

export const password = "correct horse battery staple";

/** Storage states the set-up project writes: Ada (the admin) and Bob (a member), signed in. */
export const adaState = path.join(__dirname, "..", ".auth", "ada.json");
export const bobState = path.join(__dirname, "..", ".auth", "bob.json");

export async function shot(page: Page, name: string) {
  const file = path.join(__dirname, "..", "test-results", "screenshots", `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
}

/**
 * Opens `url` with the WASM held back, so whatever the test types happens
 * before hydration, as for a fast hand or a password manager on a slow
 * machine. The returned function lets the WASM load and waits until the
 * page is hydrated.
 */
export async function openBeforeHydration(page: Page, url: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const pattern = "**/pkg/*.wasm";
  await page.route(pattern, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await expect(page.locator("html[data-hydrated]")).toHaveCount(0);
  return async () => {
    release();
    await expect(page.locator("html[data-hydrated]")).toHaveCount(1);
    await page.unroute(pattern);
  };
}

/**
 * Opens `url`, a page without islands: it loads no WASM at all, so nothing
 * can reset what is typed there. The returned function checks that the page
 * fetched no WASM and was never hydrated.
 */
export async function openWithoutWasm(page: Page, url: string): Promise<() => Promise<void>> {
  const wasm: string[] = [];
  const seen = (request: { url(): string }) => {
    if (request.url().includes(".wasm")) wasm.push(request.url());
  };
  page.on("request", seen);
  await page.goto(url, { waitUntil: "load" });
  return async () => {
    await page.waitForLoadState("networkidle");
    page.off("request", seen);
    expect(wasm).toEqual([]);
    await expect(page.locator("html[data-hydrated]")).toHaveCount(0);
  };
}

/** Logs in through the form; lands on /meetings. */
export async function logIn(page: Page, email: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/meetings$/);
}

/** Collects every Content-Security-Policy violation the page reports. */
export function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) seen.push(message.text());
  });
  return seen;
}

/** The page is no wider than the window: nothing scrolls sideways. */
export async function fitsTheWindow(page: Page, where: string) {
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    window: window.innerWidth,
  }));
  expect(widths.page, `${where} is ${widths.page} px wide in a ${widths.window} px window`).toBeLessThanOrEqual(
    widths.window,
  );
}

const connectButtons = {
  calendly: "Connect Calendly",
  google: "Connect Google Calendar",
  microsoft: "Connect Outlook",
} as const;

/**
 * Makes sure the signed-in person has `provider` connected as
 * alice@sandbox.test with its webhook subscription active; connects it
 * (the whole-page way, no popup) only when it is not.
 */
export async function ensureConnected(page: Page, provider: keyof typeof connectButtons) {
  await page.goto("/settings/calendars");
  const live = page
    .locator(`tr[data-provider='${provider}']`)
    .filter({ hasText: "alice@sandbox.test" })
    .filter({ hasNotText: "disconnected" });
  if ((await live.count()) === 0) {
    const href = await page.getByRole("link", { name: connectButtons[provider] }).getAttribute("href");
    await page.goto(href!);
    await page.getByRole("button", { name: "Allow" }).click();
    await expect(page).toHaveURL(/\/settings\/calendars\?notice=connected/);
  }
  await expect(async () => {
    await page.reload();
    await expect(live.locator("[data-testid='subscription-state']").first()).toHaveText("1 active", {
      timeout: 1000,
    });
  }).toPass();
}

/** Makes sure Ada has the booking page /book/ada with the event type "Intro call" (/book/ada/intro). */
export async function ensureBookingPage(page: Page) {
  const intro = await page.request.get("/book/ada/intro");
  if (intro.ok()) return;
  await page.goto("/settings/booking");
  const profile = page.locator("form[action='/settings/booking/profile']");
  await profile.getByLabel("Address").fill("ada");
  await profile.getByLabel("Time zone").fill("Europe/Berlin");
  await profile.getByRole("button", { name: /Create booking page|Save/ }).click();
  await expect(page.getByText("Booking page saved.")).toBeVisible();
  await page.locator("details.new-event-type summary").click();
  const newType = page.locator("details.new-event-type form");
  await newType.getByLabel("Name").fill("Intro call");
  await newType.getByLabel("Address").fill("intro");
  await newType.getByRole("button", { name: "Add event type" }).click();
  await expect(page.getByText("Event type saved.")).toBeVisible();
}
