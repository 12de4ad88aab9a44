import { test, expect, Page } from "@playwright/test";
import * as path from "path";

const password = "correct horse battery staple";

async function shot(page: Page, name: string) {
  const file = path.join(__dirname, "..", "test-results", "screenshots", `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: "disabled" });
}

/**
 * Opens `url` with the WASM held back, so whatever the test types happens
 * before hydration, as for a fast hand or a password manager on a slow
 * machine. The returned function lets the WASM load and waits until the
 * page is hydrated.
 */
async function openBeforeHydration(page: Page, url: string): Promise<() => Promise<void>> {
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
async function openWithoutWasm(page: Page, url: string): Promise<() => Promise<void>> {
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

/** Logs in as the team's admin, whom the first test signed up; lands on /meetings. */
async function logInAsAda(page: Page) {
  await page.goto("/login");
  await page.getByLabel("Email").fill("ada@acme.test");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/meetings$/);
}

/** Collects every Content-Security-Policy violation the page reports. */
function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) seen.push(message.text());
  });
  return seen;
}

// The tests share one fresh server: the first one creates the team.
test.describe.configure({ mode: "serial" });

test("sign up, log out, log in, invite a teammate who signs up", async ({ page, browser }) => {
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
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Admin" })).toBeVisible();
  await shot(page, "03-meetings-empty");

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
  // Members see no Admin area, and cannot open it by URL.
  await expect(bob.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
  const forbidden = await bob.goto("/admin/users");
  expect(forbidden?.status()).toBe(403);
  await expect(bob.getByRole("heading", { name: "Admins only", exact: true })).toBeVisible();
  await shot(bob, "07-member-forbidden");
  await bob.goto("/settings");
  await expect(bob.getByRole("heading", { name: "Profile", exact: true })).toBeVisible();
  await expect(bob.getByLabel("Time zone")).toHaveValue("Asia/Tokyo");
  await shot(bob, "08-settings");
  await invitee.close();

  // Back in the admin's browser: two members, no pending invite.
  await page.reload();
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

test("admin checks OAuth apps; the sandbox panel books a meeting", async ({ page }) => {
  await logInAsAda(page);
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

test("connect calendars in a popup, fall back when popups are blocked, disconnect", async ({ page }) => {
  const violations = cspViolations(page);
  await logInAsAda(page);
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

test("live meetings: a booking appears for its owner only, and a cancellation strikes it through", async ({ page, browser }) => {
  const violations = cspViolations(page);
  // Ada (admin) has alice@sandbox.test's Calendly connected from the previous test.
  await logInAsAda(page);

  // Bob connects his own Calendly, then watches his meetings page.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await bob.goto("/login");
  await bob.getByLabel("Email").fill("bob@acme.test");
  await bob.getByLabel("Password").fill(password);
  await bob.getByRole("button", { name: "Log in" }).click();
  await expect(bob).toHaveURL(/\/meetings$/);
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

test("a host sets up a booking page; a visitor in another zone books, without an account or WASM", async ({ page, browser }) => {
  await logInAsAda(page);

  await page.goto("/admin/api-keys");
  await expect(page).toHaveTitle(/API keys/);
  await shot(page, "25-admin-api-keys");

  // The profile: address, zone, the default weekday hours.
  await page.goto("/settings/booking");
  const profile = page.locator("form[action='/settings/booking/profile']");
  await profile.getByLabel("Address").fill("ada");
  await profile.getByLabel("Time zone").fill("Europe/Berlin");
  await profile.getByRole("button", { name: "Create booking page" }).click();
  await expect(page.getByText("Booking page saved.")).toBeVisible();
  await page.locator("details.new-event-type summary").click();
  const newType = page.locator("details.new-event-type form");
  await newType.getByLabel("Name").fill("Intro call");
  await newType.getByLabel("Address").fill("intro");
  await newType.locator("select[name=location]").selectOption("google_meet");
  await newType.getByRole("button", { name: "Add event type" }).click();
  await expect(page.getByText("Event type saved.")).toBeVisible();
  await expect(page.getByRole("link", { name: "/book/ada/intro" })).toBeVisible();
  await shot(page, "26-settings-booking");

  // Ada connects Google again (the Meet links come from it) and watches
  // her meetings page.
  await page.goto("/settings/calendars");
  await expect(page.locator("html[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
  const popupPromise = page.waitForEvent("popup");
  await page.getByRole("link", { name: "Connect Google Calendar" }).click();
  const popup = await popupPromise;
  const closed = popup.waitForEvent("close");
  await popup.getByRole("button", { name: "Allow" }).click();
  await closed;
  await expect(page.getByTestId("connect-result")).toContainText("connected as alice@sandbox.test");
  await page.goto("/meetings");
  await expect(page.getByTestId("live-indicator")).toHaveText("Live", { timeout: 30_000 });

  // A visitor in New York: the page asks the browser for its zone.
  const visitorContext = await browser.newContext({ timezoneId: "America/New_York" });
  const visitor = await visitorContext.newPage();
  const violations = cspViolations(visitor);
  const loaded = await openWithoutWasm(visitor, "/book/ada");
  await visitor.getByRole("link", { name: /Intro call/ }).click();
  await expect(visitor).toHaveURL(/tz=America%2FNew_York/);
  await expect(visitor.getByText("Times in America/New_York")).toBeVisible();
  await shot(visitor, "27-book-month");
  await visitor.locator("a.day.open").nth(1).click();
  await visitor.locator("a.slot").first().click();
  await expect(visitor).toHaveURL(/start=/);
  await visitor.getByLabel("Name").fill("Vera Visitor");
  await visitor.getByLabel("Email").fill("vera-at-example");
  await visitor.getByRole("button", { name: "Book this time" }).click();
  await expect(visitor.getByText("Enter a valid email address.")).toBeVisible();
  await expect(visitor.getByLabel("Name")).toHaveValue("Vera Visitor");
  await visitor.getByLabel("Email").fill("vera@example.com");
  await visitor.getByRole("button", { name: "Book this time" }).click();
  await expect(visitor.getByRole("heading", { name: "You are booked" })).toBeVisible();
  await expect(visitor.locator(".booking")).toContainText("(America/New_York)");
  await expect(visitor.locator(".booking")).toContainText(/09:00–09:30 for Ada \w+ \(Europe\/Berlin\)/);
  await expect(visitor.getByRole("link", { name: "Add to calendar (.ics)" })).toBeVisible();
  // The event went to Ada's Google calendar with a Meet.
  const meet = visitor.locator(".booking a[href^='https://meet.google.com/']");
  await expect(meet).toBeVisible();
  const meetUrl = await meet.getAttribute("href");
  await shot(visitor, "28-booked");

  // Ada's open page shows the booking without a reload, with its Meet.
  const booked = page.locator("li.meeting", { hasText: "vera@example.com" });
  await expect(booked).toBeVisible();
  await expect(booked).toContainText("Intro call");
  await expect(booked.getByRole("link", { name: "Join" })).toHaveAttribute("href", meetUrl!);
  await shot(page, "29-meetings-booking-live");
  await loaded();
  expect(violations).toEqual([]);
  await visitorContext.close();
});

test("the sync log: filter the runs, open one, Sync now with a progress bar that reaches done", async ({ page }) => {
  const violations = cspViolations(page);
  await logInAsAda(page);

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

test("appointments on /meetings: create (a refusal keeps what was typed), change, delete; the conflict queue", async ({ page }) => {
  const violations = cspViolations(page);
  await logInAsAda(page);

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

/** The page is no wider than the window: nothing scrolls sideways. */
async function fitsTheWindow(page: Page, where: string) {
  const widths = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    window: window.innerWidth,
  }));
  expect(widths.page, `${where} is ${widths.page} px wide in a ${widths.window} px window`).toBeLessThanOrEqual(
    widths.window,
  );
}

test("every page fits a phone (390 × 844) and a laptop (1280 × 800)", async ({ page, browser }) => {
  await logInAsAda(page);
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

test("the admin overview draws its charts on the server and goes live", async ({ page }) => {
  await logInAsAda(page);
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
