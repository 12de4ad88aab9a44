// The admin overview: charts drawn on the server, the island going live,
// the deliveries table and the 7-day range.
import { test, expect } from "@playwright/test";
import { shot } from "./support";

test("the admin overview draws its charts on the server and goes live", async ({ page }) => {
  await page.goto("/admin");
  await expect(page.getByRole("link", { name: "Overview" })).toHaveAttribute("aria-current", "page");
  const charts = page.locator("section.chart svg[role=img]");
  await expect(charts).toHaveCount(3);
  await expect(charts.first()).toHaveAttribute("aria-label", /Webhook deliveries per hour \(UTC\), last 24 hours: [\d,]+ received/);
  await expect(page.getByTestId("attention")).toBeVisible();
  // Once hydrated, the island follows the live stream.
  await expect(page.getByTestId("overview-live")).toContainText("Live · updated", { timeout: 15_000 });
  const table = page.locator("section.chart[data-chart=deliveries] details");
  await table.locator("summary").click();
  await expect(table.locator("tbody tr")).toHaveCount(24);
  await shot(page, "52-admin-overview-table-open");
  await page.getByRole("link", { name: "Last 7 days" }).click();
  await expect(page).toHaveURL(/range=7d/);
  await expect(charts.first()).toHaveAttribute("aria-label", /per 6 hours \(UTC\), last 7 days/);
});
