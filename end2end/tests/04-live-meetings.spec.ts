// The live meetings page: a booking appears for its owner only and a
// cancellation strikes it through, without a reload; the filters and the week
// view; what the admin sees of the deliveries, connections and jobs behind it.
import { test, expect } from "@playwright/test";
import { bobState, cspViolations, ensureConnected, openBeforeHydration, openWithoutWasm, shot } from "./support";

test("live meetings: a booking appears for its owner only, and a cancellation strikes it through", async ({ page, browser }) => {
  const violations = cspViolations(page);
  // Ada (admin) has alice@sandbox.test's Calendly connected.
  await ensureConnected(page, "calendly");

  // Bob connects his own Calendly, then watches his meetings page.
  const bobContext = await browser.newContext({ storageState: bobState });
  const bob = await bobContext.newPage();
  await bob.goto("/settings/calendars");
  await expect(bob.locator("html[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
  const popupPromise = bob.waitForEvent("popup");
  await bob.getByRole("link", { name: "Connect Calendly" }).click();
  const popup = await popupPromise;
  await popup.getByLabel("bob@sandbox.test").check();
  const closed = popup.waitForEvent("close");
  await popup.getByRole("button", { name: "Allow" }).click();
  await closed;
  await expect(bob.locator("tr[data-provider='calendly']")).toContainText("bob@sandbox.test");
  await bob.goto("/meetings");
  await expect(bob.getByTestId("live-indicator")).toHaveText("Live");

  await page.goto("/meetings");
  await expect(page.getByTestId("live-indicator")).toHaveText("Live");

  // An invitee books Alice's Calendly (ada's connection) in the sandbox.
  const start = new Date(Date.now() + 2 * 24 * 3600 * 1000);
  start.setUTCHours(10, 0, 0, 0);
  const end = new Date(start.getTime() + 30 * 60 * 1000);
  const booked = await page.request.post("/sandbox/_control/calendly/bookings", {
    data: {
      host_email: "alice@sandbox.test",
      invitee_name: "Priya Patel",
      invitee_email: "priya@example.com",
      start_time: start.toISOString(),
      end_time: end.toISOString(),
      event_name: "Discovery call",
    },
  });
  expect(booked.status()).toBe(201);
  const booking = await booked.json();
  const item = page.locator("li.meeting", { hasText: "Priya Patel" });
  // Live: no reload, within a second.
  await expect(item).toBeVisible({ timeout: 1000 });
  await expect(item).toContainText("Discovery call");
  await expect(page).toHaveURL(/\/meetings$/);
  await shot(page, "18-meetings-live");
  // Never on Bob's page.
  await bob.waitForTimeout(500);
  await expect(bob.locator("li.meeting", { hasText: "Priya Patel" })).toHaveCount(0);
  await shot(bob, "19-meetings-other-user");

  // The host cancels: the meeting is struck through in place.
  const canceled = await page.request.post(`/sandbox/_control/calendly/bookings/${booking.event.uuid}/cancel`, {
    data: { reason: "Conflict" },
  });
  expect(canceled.ok()).toBeTruthy();
  await expect(page.locator("li.meeting.status-canceled", { hasText: "Priya Patel" })).toBeVisible({ timeout: 1000 });
  await shot(page, "20-meetings-canceled");

  // The invitee filter, typed before hydration, filters once hydrated.
  const hydrateMeetings = await openBeforeHydration(page, "/meetings");
  await page.getByLabel("Invitee").fill("nobody-by-this-name");
  await hydrateMeetings();
  await expect(page.getByLabel("Invitee")).toHaveValue("nobody-by-this-name");
  await expect(page.locator("li.meeting", { hasText: "Priya Patel" })).toHaveCount(0);
  await page.getByLabel("Invitee").fill("priya");
  await expect(page.locator("li.meeting", { hasText: "Priya Patel" })).toBeVisible();

  // The week view places the meeting in its day column.
  await page.getByRole("link", { name: "Week" }).click();
  await expect(page.locator(".week-column .block", { hasText: "Discovery call" })).toBeVisible();
  await shot(page, "21-meetings-week");
  await bobContext.close();

  // The admin sees the deliveries, the connections' webhooks and the jobs
  // behind them; the filter form is plain HTML (this page loads no WASM).
  const loadedWebhooks = await openWithoutWasm(page, "/admin/webhooks");
  await page.getByLabel("Search").fill("invitee.created");
  await loadedWebhooks();
  await expect(page.getByLabel("Search")).toHaveValue("invitee.created");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/q=invitee\.created/);
  await expect(page.locator("tr[data-result='processed']").first()).toBeVisible();
  await page.goto("/admin/webhooks?provider=calendly");
  await expect(page.locator("tr[data-result='processed']").first()).toBeVisible();
  await page.locator("tr[data-result='processed'] summary").first().click();
  await expect(page.locator("pre.payload").first()).toContainText("invitee");
  await expect(page.getByRole("button", { name: "Replay" }).first()).toBeInViewport();
  await shot(page, "22-admin-webhooks");
  await page.goto("/admin/connections");
  await expect(page.getByTestId("scheduler")).toContainText("next run");
  await expect(page.locator("tr[data-provider='calendly'] [data-testid='subscription-state']").first()).toHaveText("1 active");
  await shot(page, "23-admin-connections");
  await page.goto("/admin/jobs?status=done");
  await expect(page.locator("tr[data-job='webhook.process']").first()).toBeVisible();
  await expect(page.getByTestId("housekeeping")).toContainText("Housekeeping: last run");
  await shot(page, "24-admin-jobs");
  expect(violations).toEqual([]);
});
