// OAuth apps on /admin/apps (the instance default, a team's own, a refused
// one) and the sandbox's consent page and panel.
import { test, expect } from "@playwright/test";
import { shot } from "./support";

test("admin checks OAuth apps; the sandbox panel books a meeting", async ({ page }) => {
  await page.goto("/meetings");
  await expect(page.getByText("Sandbox providers")).toBeVisible();

  await page.goto("/admin/apps");
  const calendly = page.locator("section[data-provider='calendly']");
  await expect(calendly.getByText("Instance default")).toBeVisible();
  await expect(calendly.getByLabel("Redirect URI")).toHaveValue(/\/oauth\/calendly\/callback$/);
  await calendly.getByRole("button", { name: "Test" }).click();
  await expect(page.getByText("The provider accepted these credentials.")).toBeVisible();
  await shot(page, "11-admin-apps");

  // A wrong team app is refused by the provider, with its own words.
  const google = page.locator("section[data-provider='google']");
  await google.getByText("Use your team's own app").click();
  await google.getByLabel("Client ID").fill("not-registered");
  await google.getByLabel("Client secret").fill("nope");
  await google.getByRole("button", { name: "Save app" }).click();
  await expect(page.getByText("OAuth app saved.")).toBeVisible();
  await page.locator("section[data-provider='google']").getByRole("button", { name: "Test" }).click();
  await expect(page.getByText("The provider refused these credentials.")).toBeVisible();
  await expect(page.locator("section[data-provider='google']")).toContainText("Client authentication failed.");
  await shot(page, "12-admin-apps-error");
  await page.locator("section[data-provider='google']").getByRole("button", { name: "Use instance default" }).click();
  await expect(page.getByText("the instance default applies again")).toBeVisible();

  // The sandbox's consent screen, as a user connecting a calendar will see it.
  const redirect = encodeURIComponent(new URL("/oauth/calendly/callback", page.url()).toString());
  await page.goto(`/sandbox/calendly-auth/oauth/authorize?client_id=calbridge-calendly&redirect_uri=${redirect}&response_type=code&state=s`);
  await expect(page.getByRole("button", { name: "Allow" })).toBeVisible();
  await expect(page.getByText("alice@sandbox.test")).toBeVisible();
  await shot(page, "13-sandbox-consent");

  // The panel: book a meeting as an invitee and see it listed.
  await page.goto("/sandbox");
  await expect(page.getByRole("heading", { name: "Calendly: book as an invitee" })).toBeVisible();
  await page.getByLabel("Invitee name").fill("Ivy Invitee");
  await page.getByRole("button", { name: "Book" }).click();
  await expect(page).toHaveURL(/\/sandbox$/);
  await expect(page.locator("table").filter({ hasText: "Ivy Invitee" })).toBeVisible();
  await shot(page, "14-sandbox-panel");
});
