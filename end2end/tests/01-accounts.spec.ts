// Logging in and out, a password manager's login, the profile form, what a
// member may not open, the team's members and the 404 page. Starts signed
// out: it logs Ada out, which must not end the session the other flows use.
import { test, expect } from "@playwright/test";
import { bobState, cspViolations, openWithoutWasm, password, shot } from "./support";

test.use({ storageState: { cookies: [], origins: [] } });

test("log in, log out, a wrong password, a password manager; the profile; what a member sees", async ({ page, browser }) => {
  const violations = cspViolations(page);
  await page.goto("/login");
  await page.getByLabel("Email").fill("ada@acme.test");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/meetings$/);

  // Log out through the user menu.
  await page.getByLabel("Account menu").click();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?notice=logged_out/);
  await expect(page.getByText("You have been logged out.")).toBeVisible();

  // A wrong password gets one clear message.
  await page.getByLabel("Email").fill("ada@acme.test");
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByText("Email or password is incorrect.")).toBeVisible();
  await shot(page, "04-login-error");

  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/meetings$/);

  // The login form (no WASM on this page), filled by a password manager, logs in.
  await page.getByLabel("Account menu").click();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login\?notice=logged_out/);
  const loadedLogin = await openWithoutWasm(page, "/login?next=%2Fsettings");
  await page.getByLabel("Email").fill("ada@acme.test");
  await page.getByLabel("Password").fill(password);
  await loadedLogin();
  await expect(page.getByLabel("Email")).toHaveValue("ada@acme.test");
  await expect(page.getByLabel("Password")).toHaveValue(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/settings$/);

  // The profile form keeps what was typed too.
  const loadedProfile = await openWithoutWasm(page, "/settings");
  await page.getByLabel("Name", { exact: true }).fill("Ada Lovelace");
  await page.getByLabel("Time zone").fill("Europe/Paris");
  await loadedProfile();
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Ada Lovelace");
  await expect(page.getByLabel("Time zone")).toHaveValue("Europe/Paris");
  await page.getByRole("button", { name: "Save profile" }).click();
  await expect(page).toHaveURL(/notice=profile_saved/);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("Ada Lovelace");
  await expect(page.getByLabel("Time zone")).toHaveValue("Europe/Paris");

  // Members see no Admin area, and cannot open it by URL.
  const member = await browser.newContext({ storageState: bobState });
  const bob = await member.newPage();
  await bob.goto("/meetings");
  await expect(bob.getByText("Bob Builder").first()).toBeVisible();
  await expect(bob.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
  const forbidden = await bob.goto("/admin/users");
  expect(forbidden?.status()).toBe(403);
  await expect(bob.getByRole("heading", { name: "Admins only", exact: true })).toBeVisible();
  await shot(bob, "07-member-forbidden");
  await bob.goto("/settings");
  await expect(bob.getByRole("heading", { name: "Profile", exact: true })).toBeVisible();
  await expect(bob.getByLabel("Time zone")).toHaveValue("Asia/Tokyo");
  await shot(bob, "08-settings");
  await member.close();

  // The admin's list: two members, no pending invite.
  await page.goto("/admin/users");
  await expect(page.locator("tr[data-member]")).toHaveCount(2);
  await expect(page.locator("tr[data-member='bob@acme.test']")).toContainText("member");
  await expect(page.getByLabel("Invite link")).toHaveCount(0);
  await shot(page, "09-admin-users-members");

  // Unknown pages get a proper 404 inside the app shell.
  const missing = await page.goto("/no/such/page");
  expect(missing?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found", exact: true })).toBeVisible();
  await shot(page, "10-not-found");
  expect(violations).toEqual([]);
});
