// The set-up every flow shares, run once before them: on the fresh server
// the first visitor creates the team (Ada, its admin) and invites Bob, who
// joins. Both are typed before hydration, so this is also the test that
// sign-up and joining keep what a person typed. Writes their signed-in
// states for the flows.
import { test as setup, expect } from "@playwright/test";
import { adaState, bobState, cspViolations, openBeforeHydration, password, shot } from "./support";

setup("the first visitor creates the team; a teammate joins through an invite link", async ({ page, browser }) => {
  const violations = cspViolations(page);
  // An empty instance: the first visitor creates the team and becomes its admin.
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Log in", exact: true })).toBeVisible();
  await shot(page, "01-login");

  // Everything typed before hydration survives it.
  const hydrateSignup = await openBeforeHydration(page, "/signup");
  await expect(page.getByRole("heading", { name: "Create your team", exact: true })).toBeVisible();
  await page.getByLabel("Team name").fill("Acme Scheduling");
  await page.getByLabel("Your name").fill("Ada Admin");
  await page.getByLabel("Email").fill("ada@acme.test");
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("Time zone").fill("Europe/Berlin");
  await hydrateSignup();
  await expect(page.getByLabel("Team name")).toHaveValue("Acme Scheduling");
  await expect(page.getByLabel("Your name")).toHaveValue("Ada Admin");
  await expect(page.getByLabel("Email")).toHaveValue("ada@acme.test");
  await expect(page.getByLabel("Password")).toHaveValue(password);
  await expect(page.getByLabel("Time zone")).toHaveValue("Europe/Berlin");
  await shot(page, "02-signup");
  await page.getByRole("button", { name: "Create team" }).click();

  await expect(page).toHaveURL(/\/meetings/);
  await expect(page.getByText("Welcome to calbridge.")).toBeVisible();
  await expect(page.getByRole("heading", { name: "Meetings", exact: true })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toBeVisible();
  await shot(page, "03-meetings-empty");

  // The admin creates an invite link for a teammate, typed before hydration.
  const hydrateUsers = await openBeforeHydration(page, "/admin/users");
  await page.getByLabel("Email (optional)").fill("bob@acme.test");
  await hydrateUsers();
  await expect(page.getByLabel("Email (optional)")).toHaveValue("bob@acme.test");
  await page.getByRole("button", { name: "Create invite link" }).click();
  await expect(page.getByText("Invite link created.")).toBeVisible();
  const linkField = page.getByLabel("Invite link");
  await expect(linkField).toHaveCount(1);
  const link = await linkField.inputValue();
  expect(link).toContain("/signup?invite=");
  await shot(page, "05-admin-users-invite");

  // The teammate opens the link in their own browser (in Chicago) and
  // joins; the time zone field takes the browser's zone once hydrated.
  const invitee = await browser.newContext({ timezoneId: "America/Chicago" });
  const bob = await invitee.newPage();
  await bob.goto(link);
  await expect(bob.getByRole("heading", { name: "Join Acme Scheduling", exact: true })).toBeVisible();
  await expect(bob.getByLabel("Email")).toHaveValue("bob@acme.test");
  await expect(bob.locator("html[data-hydrated]")).toHaveCount(1);
  await expect(bob.getByLabel("Time zone")).toHaveValue("America/Chicago");
  // …but what the person typed before hydration wins over the browser's zone.
  const hydrateInvite = await openBeforeHydration(bob, link);
  await bob.getByLabel("Your name").fill("Bob Builder");
  await bob.getByLabel("Password").fill(password);
  await bob.getByLabel("Time zone").fill("Asia/Tokyo");
  await hydrateInvite();
  await expect(bob.getByLabel("Your name")).toHaveValue("Bob Builder");
  await expect(bob.getByLabel("Password")).toHaveValue(password);
  await expect(bob.getByLabel("Time zone")).toHaveValue("Asia/Tokyo");
  await shot(bob, "06-invite-signup");
  await bob.getByRole("button", { name: "Join team" }).click();
  await expect(bob).toHaveURL(/\/meetings/);
  await expect(bob.getByText("Bob Builder").first()).toBeVisible();

  await page.context().storageState({ path: adaState });
  await invitee.storageState({ path: bobState });
  await invitee.close();
  expect(violations).toEqual([]);
});
