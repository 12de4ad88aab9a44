// Appointments on /meetings: create (a refusal keeps what was typed),
// change and delete; the conflict queue and the conflict policy.
import { test, expect } from "@playwright/test";
import { cspViolations, ensureConnected, shot } from "./support";

test("appointments on /meetings: create (a refusal keeps what was typed), change, delete; the conflict queue", async ({ page }) => {
  const violations = cspViolations(page);
  await ensureConnected(page, "google");
  await ensureConnected(page, "microsoft");
  await page.goto("/meetings");

  await page.getByRole("link", { name: "New appointment" }).click();
  await expect(page).toHaveURL(/\/meetings\/new$/);
  const day = new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel("Title").fill("Planning with Bo");
  await page.getByLabel("Starts").fill(`${day}T06:00`);
  // The end before the start: refused, and every field keeps what was typed.
  await page.getByLabel("Ends").fill(`${day}T05:30`);
  await page.getByLabel("Attendees").fill("bo@example.com, cy@example.com");
  await page.getByLabel("Location").fill("Room 7");
  await page.getByLabel("Notes").fill("Bring the roadmap");
  await page.getByRole("button", { name: "Create appointment" }).click();
  await expect(page.getByText("Give a start and an end that exist in your time zone")).toBeVisible();
  await expect(page.getByLabel("Title")).toHaveValue("Planning with Bo");
  await expect(page.getByLabel("Attendees")).toHaveValue("bo@example.com, cy@example.com");
  await expect(page.getByLabel("Notes")).toHaveValue("Bring the roadmap");
  await expect(page.getByLabel("Ends")).toHaveValue(`${day}T05:30`);
  await shot(page, "40-appointment-refused");

  await page.getByLabel("Ends").fill(`${day}T06:45`);
  await page.getByRole("button", { name: "Create appointment" }).click();
  await expect(page).toHaveURL(/\/meetings\?notice=appointment_created/);
  const item = page.locator("li.meeting", { hasText: "Planning with Bo" });
  await expect(item).toContainText("06:00");
  await expect(item).toContainText("Room 7");

  // Its page: written to the calendar, then changed.
  await item.getByRole("link", { name: "Planning with Bo" }).click();
  await expect(page).toHaveURL(/\/meetings\/appointments\//);
  await expect(async () => {
    await page.reload();
    await expect(page.locator("[data-sync-state]")).toHaveAttribute("data-sync-state", "synced", { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByRole("link", { name: "Open in calendar" })).toHaveAttribute("href", /^https?:\/\//);
  await shot(page, "41-appointment");
  await page.getByLabel("Title").fill("Planning with Bo and Cy");
  await page.getByLabel("Ends").fill(`${day}T07:00`);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Appointment saved.")).toBeVisible();
  await expect(page.getByLabel("Title")).toHaveValue("Planning with Bo and Cy");
  await expect(page.getByLabel("Ends")).toHaveValue(`${day}T07:00`);

  // Deleted: gone from the calendar, shown as canceled on the list.
  await page.getByRole("button", { name: "Delete appointment" }).click();
  await expect(page).toHaveURL(/\/meetings\?notice=appointment_deleted/);
  await expect(page.getByText("Appointment deleted.")).toBeVisible();
  await expect(page.locator("li.meeting", { hasText: "Planning with Bo and Cy" })).toHaveClass(/status-canceled/);

  // The admin's conflict queue and the owner's conflict policy are on their pages.
  await page.goto("/admin/sync");
  await expect(page.getByRole("heading", { name: "Conflicts" })).toBeVisible();
  await expect(page.getByTestId("no-conflicts")).toBeVisible();
  await page.goto("/settings/calendars");
  const policy = page.getByTestId("your-syncs").locator("select[name='policy']").first();
  await policy.selectOption("calendar_wins");
  await policy.locator("xpath=ancestor::form").getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved: this is what happens")).toBeVisible();
  await expect(page.getByTestId("your-syncs").locator("select[name='policy']").first()).toHaveValue("calendar_wins");
  await shot(page, "42-calendars-conflict-policy");
  expect(violations).toEqual([]);
});

