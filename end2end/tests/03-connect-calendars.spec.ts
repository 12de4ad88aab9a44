// Connecting calendars in a popup, the whole-page fallback when popups are
// blocked, and disconnecting.
import { test, expect } from "@playwright/test";
import { cspViolations, shot } from "./support";

test("connect calendars in a popup, fall back when popups are blocked, disconnect", async ({ page }) => {
  const violations = cspViolations(page);
  await page.goto("/meetings");
  await page.getByRole("link", { name: "Connect a calendar" }).click();
  await expect(page).toHaveURL(/\/settings\/calendars$/);
  await expect(page.getByText("No calendars connected yet")).toBeVisible();
  // Let the page hydrate so the buttons open popups (a link opened before
  // that has no opener to report back to).
  await expect(page.locator("html[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });

  for (const [button, provider] of [
    ["Connect Calendly", "calendly"],
    ["Connect Google Calendar", "google"],
    ["Connect Outlook", "microsoft"],
  ]) {
    const popupPromise = page.waitForEvent("popup");
    await page.getByRole("link", { name: button }).click();
    const popup = await popupPromise;
    await expect(popup.getByRole("button", { name: "Allow" })).toBeVisible();
    if (provider === "calendly") await shot(popup, "15-connect-popup");
    // Listen before clicking: the popup may close before the click returns.
    const closed = popup.waitForEvent("close");
    await popup.getByRole("button", { name: "Allow" }).click();
    await closed;
    // The list updates in place: no reload, the URL is unchanged.
    await expect(page.locator(`tr[data-provider='${provider}']`)).toContainText("alice@sandbox.test");
    await expect(page.getByTestId("connect-result")).toContainText("connected as alice@sandbox.test");
    await expect(page).toHaveURL(/\/settings\/calendars$/);
  }
  // Webhook subscriptions are created in the background.
  await expect(async () => {
    await page.reload();
    for (const provider of ["calendly", "google", "microsoft"]) {
      await expect(page.locator(`tr[data-provider='${provider}'] [data-testid='subscription-state']`)).toHaveText(
        "1 active",
        { timeout: 1000 },
      );
    }
  }).toPass();
  await expect(page.locator("[data-calendars='alice@sandbox.test']").first()).toContainText("Counts as busy");
  await shot(page, "16-calendars-connected");

  // Popups blocked: the button navigates the whole page and comes back with a message.
  await page.evaluate(() => {
    window.open = () => null;
  });
  await page.getByRole("link", { name: "Connect Outlook" }).click();
  await expect(page.getByRole("button", { name: "Allow" })).toBeVisible();
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page).toHaveURL(/\/settings\/calendars\?notice=connected/);
  await expect(page.getByText("Calendar connected.")).toBeVisible();
  await expect(page.locator("tr[data-provider='microsoft']")).toHaveCount(1);
  await expect(page.locator("tr[data-provider='microsoft']")).toContainText("alice@sandbox.test");

  // Disconnect.
  await page.locator("tr[data-provider='google']").getByRole("button", { name: "Disconnect" }).click();
  await expect(page.getByText("Calendar disconnected.")).toBeVisible();
  await expect(page.locator("tr[data-provider='google']")).toContainText("disconnected");
  await shot(page, "17-calendars-disconnected");
  expect(violations).toEqual([]);
});
