// The sync log: filter the runs, open one, and Sync now with a progress bar
// that reaches done, as an admin and on a person's own calendars page.
import { test, expect } from "@playwright/test";
import { cspViolations, ensureConnected, shot } from "./support";

test("the sync log: filter the runs, open one, Sync now with a progress bar that reaches done", async ({ page }) => {
  const violations = cspViolations(page);
  await ensureConnected(page, "google");

  await page.goto("/admin/sync");
  await expect(page.getByRole("link", { name: "Sync", exact: true })).toHaveAttribute("aria-current", "page");
  const runs = page.locator("[data-testid='sync-runs'] tbody tr");
  await expect(runs.first()).toBeVisible();
  // Every connection's first import is in the log; filter to them.
  await page.getByLabel("Trigger").selectOption("setup");
  await page.getByLabel("Outcome").selectOption("succeeded");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/trigger=setup/);
  await expect(page).toHaveURL(/outcome=succeeded/);
  await expect(runs.first()).toBeVisible();
  const triggers = await runs.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-trigger")));
  expect(new Set(triggers)).toEqual(new Set(["setup"]));
  await expect(page.getByLabel("Trigger")).toHaveValue("setup");
  await shot(page, "30-admin-sync-filtered");

  // A run's page: its counts and the items it changed.
  await runs.first().getByRole("link").click();
  await expect(page).toHaveURL(/\/admin\/sync\/runs\//);
  await expect(page.getByTestId("sync-counts")).toBeVisible();
  await shot(page, "31-admin-sync-run");

  // Sync now, hydrated: the bar follows the run until it is done.
  await page.goto("/admin/sync");
  await expect(page.locator("html[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
  const row = page.locator("[data-testid='sync-health'] tr[data-provider='google']");
  await row.getByRole("button", { name: "Sync now" }).click();
  const bar = row.locator(".sync-progress");
  await expect(bar).toBeVisible();
  await expect(bar).toHaveAttribute("data-state", "succeeded", { timeout: 20_000 });
  await expect(bar).toContainText("Done");
  const max = await bar.locator("progress").getAttribute("max");
  await expect(bar.locator("progress")).toHaveAttribute("value", max!);
  await shot(page, "32-admin-sync-now-done");
  // The run is in the log as a manual one.
  await page.goto("/admin/sync?trigger=manual");
  await expect(runs.first()).toHaveAttribute("data-outcome", "succeeded");

  // The user's own view: last sync, Sync now, their runs.
  await page.goto("/settings/calendars");
  await expect(page.locator("html[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
  const mine = page.getByTestId("your-syncs").locator("tbody tr").first();
  await mine.getByRole("button", { name: "Sync now" }).click();
  await expect(mine.locator(".sync-progress")).toHaveAttribute("data-state", "succeeded", { timeout: 20_000 });
  await expect(page.locator("[data-testid='sync-runs'] tbody tr").first()).toBeVisible();
  await shot(page, "33-calendars-sync");
  expect(violations).toEqual([]);
});
