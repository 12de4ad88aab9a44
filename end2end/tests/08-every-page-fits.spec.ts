// Every page fits a phone (390 × 844) and a laptop (1280 × 800), and the
// phone's menu works.
import { test, expect } from "@playwright/test";
import { ensureBookingPage, fitsTheWindow, shot } from "./support";

test("every page fits a phone (390 × 844) and a laptop (1280 × 800)", async ({ page, browser }) => {
  await ensureBookingPage(page);
  const pages: [string, string][] = [
    ["meetings", "/meetings"],
    ["new-appointment", "/meetings/new"],
    ["settings", "/settings"],
    ["calendars", "/settings/calendars"],
    ["booking-settings", "/settings/booking"],
    ["admin-overview", "/admin"],
    ["admin-overview-week", "/admin?range=7d"],
    ["admin-users", "/admin/users"],
    ["admin-connections", "/admin/connections"],
    ["admin-webhooks", "/admin/webhooks"],
    ["admin-jobs", "/admin/jobs"],
    ["admin-apps", "/admin/apps"],
    ["admin-api-keys", "/admin/api-keys"],
    ["admin-sync", "/admin/sync"],
    ["admin-audit", "/admin/audit"],
    ["not-found", "/no-such-page"],
  ];
  const visitor = await browser.newPage();
  const publicPages: [string, string][] = [
    ["book", "/book/ada"],
    ["book-intro", "/book/ada/intro"],
    ["login", "/login"],
    ["signup", "/signup"],
  ];
  for (const [width, height] of [
    [390, 844],
    [1280, 800],
  ]) {
    for (const [tab, size] of [
      [page, { width, height }],
      [visitor, { width, height }],
    ] as const) {
      await tab.setViewportSize(size);
    }
    for (const [name, url] of pages) {
      await page.goto(url);
      await page.waitForLoadState("networkidle");
      await fitsTheWindow(page, url);
      await shot(page, `50-${name}-${width}`);
    }
    for (const [name, url] of publicPages) {
      await visitor.goto(url);
      await visitor.waitForLoadState("networkidle");
      await fitsTheWindow(visitor, url);
      await shot(visitor, `50-${name}-${width}`);
    }
  }

  // On the phone the links are behind the Menu button, inside the window.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/meetings");
  await expect(page.getByRole("navigation", { name: "Main", exact: true })).toBeHidden();
  const menu = page.locator(".navmenu summary");
  const box = await menu.boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(40);
  await menu.click();
  const admin = page.getByRole("navigation", { name: "Main (menu)" }).getByRole("link", { name: "Admin" });
  await expect(admin).toBeVisible();
  const link = await admin.boundingBox();
  expect(link!.x + link!.width).toBeLessThanOrEqual(390);
  expect(link!.height).toBeGreaterThanOrEqual(40);
  await shot(page, "51-menu-open-390");
  await admin.click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  await fitsTheWindow(page, "/admin/users with the menu used");
  await visitor.close();
});
