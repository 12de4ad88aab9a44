// A host sets up a booking page; a visitor in another zone books it without
// an account or WASM, and the host's open meetings page shows the booking.
import { test, expect } from "@playwright/test";
import { cspViolations, ensureConnected, openWithoutWasm, shot } from "./support";

test("a host sets up a booking page; a visitor in another zone books, without an account or WASM", async ({ page, browser }) => {
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

  // Ada's Google calendar (the Meet links come from it); she watches her
  // meetings page.
  await ensureConnected(page, "google");
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
