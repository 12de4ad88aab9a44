import { defineConfig } from "@playwright/test";
import { adaState } from "./tests/support";

const port = Number(process.env.E2E_PORT ?? 3100);

export default defineConfig({
  testDir: "./tests",
  outputDir: "./test-results",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      // Debian's Chromium; Playwright never downloads a browser here.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
  // One fresh server for the run. The set-up project creates the team once
  // and saves Ada's and Bob's signed-in states; each flow is its own spec on
  // top of it and makes what else it needs, so a failing flow hides no other.
  projects: [
    { name: "team", testMatch: /team\.setup\.ts$/ },
    { name: "flows", dependencies: ["team"], testMatch: /\.spec\.ts$/, use: { storageState: adaState } },
  ],
  webServer: {
    command: `bash ../scripts/e2e-server.sh ${port}`,
    url: `http://127.0.0.1:${port}/readyz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
  },
});
