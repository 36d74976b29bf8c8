// Shared helpers for the browser tests and benchmarks. `cargo xtask test` serves the site and runs
// every `*.test.mjs` in this folder with ORBITAL_URL, ORBITAL_ARTIFACTS and CHROMIUM set.
// A test script: `const t = await openPlayground("name")`, then `await t.check("what", async () => ..)`
// for each assertion, then `await t.finish()` (exits non-zero if any check failed).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const URL = process.env.ORBITAL_URL ?? "http://127.0.0.1:8000/";
export const ARTIFACTS = process.env.ORBITAL_ARTIFACTS ?? "../../target/e2e";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Flags measured to work headless as root with software WebGL2 (see shared/BROWSER.md). */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--use-gl=angle",
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
  "--disable-backgrounding-occluded-windows",
  "--disable-renderer-backgrounding",
  "--disable-background-timer-throttling",
];

/** True if node `n` (centre x, y and radius, CSS pixels, as in the layout JSON) overlaps rect `r` {x, y, width, height}. */
export function discTouchesRect(n, r) {
  const cx = Math.min(Math.max(n.x, r.x), r.x + r.width);
  const cy = Math.min(Math.max(n.y, r.y), r.y + r.height);
  return Math.hypot(n.x - cx, n.y - cy) < n.radius;
}

/** A point on the canvas of layout `l` at least 30 CSS pixels clear of every node (for clicks that must hit nothing). */
export function emptySpot(l) {
  const c = l.canvas;
  for (let fy = 0.2; fy <= 0.8; fy += 0.15) {
    for (let fx = 0.1; fx <= 0.6; fx += 0.1) {
      const p = { x: c.x + c.width * fx, y: c.y + c.height * fy };
      if (l.nodes.every((n) => Math.hypot(n.x - p.x, n.y - p.y) > n.radius + 30)) return p;
    }
  }
  return { x: c.x + 10, y: c.y + c.height / 2 };
}

/** The nodes of layout `l` that overlap rect `r`, as "name (pid)". */
export function nodesUnder(l, r) {
  return l.nodes.filter((n) => discTouchesRect(n, r)).map((n) => `${n.name} (${n.pid})`);
}

/** Calls `window.supervisor[name](...args)` in `page`; what a `*_json` function returns is parsed. */
export function supervisorOf(page) {
  return (name, ...args) => page.evaluate(([n, a]) => {
    const v = window.supervisor[n](...a);
    return n.endsWith("_json") ? JSON.parse(v) : v;
  }, [name, args]);
}

/** The median of `xs` (the lower of the two middle values for an even count); null if empty. */
export function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Waits until `list()` (an async function returning processes) keeps the same pids for `quietMs`. */
export async function waitForSettledProcesses(list, { quietMs = 3000, timeoutMs = 90_000 } = {}) {
  let last = "";
  let stableSince = Date.now();
  await waitFor(`the process list to settle for ${quietMs / 1000} s`, async () => {
    const pids = (await list()).map((p) => p.pid).join(" ");
    if (pids !== last) [last, stableSince] = [pids, Date.now()];
    return Date.now() - stableSince > quietMs;
  }, { timeoutMs, intervalMs: 200 });
}

/**
 * Waits until the startup scenario (`default`) has started: it spawns its programs once the boot
 * has settled, which on a slow machine can be seconds after the boot set is up (and after the page
 * says "running"). `layout` returns `get_canvas_layout_json()`, parsed.
 */
export async function waitForStartupScenario(layout) {
  await waitFor("the startup scenario to start", async () => (await layout()).ui.scenario === "default", { timeoutMs: 120_000, intervalMs: 200 });
}

/**
 * The order to kill processes in for a clean slate (a sort comparator): senders first (killing a
 * receiver first can end its senders by themselves, as Zombies that stay listed), newest first.
 */
export function killOrder(a, b) {
  return (a.name === "sender" ? 0 : 1) - (b.name === "sender" ? 0 : 1) || b.pid - a.pid;
}

/**
 * For probes that want the page to themselves: once the startup scenario has started and the
 * process list has settled, kills every live unprotected process through `sv`
 * (`supervisorOf(page)`) and waits until none is left but Zombies.
 */
export async function clearUserProcesses(sv) {
  const list = () => sv("get_process_list_json");
  await waitForStartupScenario(() => sv("get_canvas_layout_json"));
  await waitForSettledProcesses(list, { quietMs: 2000 });
  const alive = async () => (await list()).filter((p) => !p.protected && p.state !== "zombie");
  for (const p of (await alive()).sort(killOrder)) await sv("send_input", `kill ${p.pid}`);
  await waitFor("every user process to be gone", async () => (await alive()).length === 0, { timeoutMs: 30_000 });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * For the drawing probes (`bench/draws.mjs`, `bench/pairfps.mjs`): once `page` has loaded the app,
 * waits for the startup scenario, then sets up what is measured. `scenario`: "default" (as loaded),
 * "empty" (every user process killed, `clearUserProcesses`) or a scenario's name (loaded, then 10 s
 * to spawn and settle); `pause` then pauses the guests (a click on an empty spot, then Space).
 * Returns `sv` (`supervisorOf(page)`).
 */
export async function prepareDrawingPage(page, { scenario = "default", pause = false } = {}) {
  await page.waitForFunction(() => typeof window.supervisor?.load_scenario === "function", null, { timeout: 120_000 });
  const sv = supervisorOf(page);
  await waitForStartupScenario(() => sv("get_canvas_layout_json"));
  await sleep(3000);
  if (scenario === "empty") {
    await clearUserProcesses(sv);
    await sleep(3000);
  } else if (scenario !== "default") {
    await sv("load_scenario", scenario);
    await sleep(10_000);
  }
  if (pause) {
    const spot = emptySpot(await sv("get_canvas_layout_json"));
    await page.mouse.click(spot.x, spot.y, { delay: 150 });
    await page.keyboard.press("Space");
    await sleep(2000);
  }
  return sv;
}

/**
 * For the IPC probes: opens `url` in a new context of `browser` at 1280x800 (the layout the
 * probes click in), waits until the app runs, resizes to `width` x `height`, lifts the guests'
 * pacing and clears the user processes. Returns `{ context, page, sv }`.
 */
export async function openForIpc(browser, url, { width = 1280, height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.orbital?.state === "running", null, { timeout: 120_000 });
  const sv = supervisorOf(page);
  await page.setViewportSize({ width, height });
  await sv("set_guest_pacing", "off");
  await clearUserProcesses(sv);
  return { context, page, sv };
}

/** The page's screenshot pixels at `points` ([x, y] in CSS pixels), as [r, g, b]. */
export async function screenshotPixels(page, points) {
  const png = await page.screenshot();
  return page.evaluate(async ([b64, points]) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([data], { type: "image/png" }));
    const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    return points.map(([x, y]) => [...ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data.slice(0, 3)]);
  }, [png.toString("base64"), points]);
}

/** Polls `condition` (an async function returning a truthy value) until it holds; returns its value. */
export async function waitFor(what, condition, { timeoutMs = 60_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastError;
  while (Date.now() < deadline) {
    try {
      last = await condition();
      if (last) return last;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ""}`);
}

/**
 * Named assertions for a test script: `check(what, body)` runs `body`, reports "ok" (with the
 * note it returns) or "FAIL" with the error, counts it, and lets the script go on; `finish()`
 * prints "<name>: N passed, M failed" and exits non-zero if any failed.
 */
export function checker(name) {
  let passed = 0;
  let failed = 0;
  const started = Date.now();
  const count = (ok) => (ok ? passed++ : failed++);
  return {
    count,
    async check(what, body) {
      const t0 = Date.now();
      try {
        const note = await body();
        count(true);
        console.log(`  ok    ${what} (${Date.now() - t0} ms)${note ? `: ${note}` : ""}`);
        return true;
      } catch (e) {
        count(false);
        console.log(`  FAIL  ${what} (${Date.now() - t0} ms): ${e?.message ?? e}`);
        return false;
      }
    },
    finish() {
      console.log(`${name}: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      process.exit(failed ? 1 : 0);
    },
  };
}

/**
 * Opens the playground in a fresh browser and page and waits until the app runs; `query`
 * (`?lesson=syscall&step=3`) is appended to the address, as a share link does.
 * Collects page errors and console errors; `finish()` fails the test if any appeared.
 */
export async function openPlayground(name, { width = 1280, height = 800, query = "", initScript = null } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await launch();
  // Device scale factor 1: Bevy 0.19's 2D coordinates break at other ratios (bevyengine/bevy#25306).
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
  // A script the test runs in the page before the page's own (e.g. to watch what the app does first).
  if (initScript) await page.addInitScript(initScript);
  const pageErrors = [];
  const consoleErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e?.stack ?? e)));
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  const checks = checker(name);
  const t = {
    browser,
    page,
    pageErrors,
    consoleErrors,
    check: checks.check,
    /** Runs `fn` inside the page; `fn` gets `window.supervisor` (with JSON getters parsed). */
    async sv(fn, arg) {
      return page.evaluate(
        ([source, arg]) => {
          const s = window.supervisor;
          const json = new Proxy(s, {
            get: (target, key) =>
              typeof key === "string" && key.endsWith("_json")
                ? (...a) => JSON.parse(target[key](...a))
                : target[key],
          });
          return new Function("s", "arg", `return (${source})(s, arg);`)(json, arg);
        },
        [fn.toString(), arg],
      );
    },
    processes() {
      return t.sv((s) => s.get_process_list_json());
    },
    /** `window.supervisor.get_canvas_layout_json()`: nodes on screen, named UI controls, theme, speed... */
    layout() {
      return t.sv((s) => s.get_canvas_layout_json());
    },
    /** Waits until the app has drawn `n` more frames (a software renderer draws a few a second). */
    async frames(n = 2) {
      const start = (await t.layout()).frame;
      await waitFor(`${n} frames`, async () => (await t.layout()).frame >= start + n, { timeoutMs: 30_000, intervalMs: 50 });
    },
    /**
     * Clicks an egui control by its name in the layout's `ui.controls` (where the app drew it).
     * egui must see the pointer arrive, and counts a click only if the release follows the press
     * within 0.8 s: move, wait two frames, then press and release together.
     */
    async clickControl(name) {
      const c = await waitFor(`control ${name}`, async () => (await t.layout()).ui.controls.find((c) => c.name === name), { timeoutMs: 30_000 });
      const x = c.rect.x + c.rect.width / 2;
      const y = c.rect.y + c.rect.height / 2;
      await page.mouse.move(x, y);
      await t.frames(2);
      await page.mouse.click(x, y);
      await t.frames(2);
    },
    /**
     * Clicks the control `name` until the browser starts a download (a button whose place moves as
     * the figures before it change width may be missed once), at most four tries; returns it.
     */
    async downloadFrom(name) {
      for (let attempt = 0; ; attempt++) {
        const download = page.waitForEvent("download", { timeout: 20_000 });
        await t.clickControl(name);
        try {
          const file = await download;
          if (attempt > 0) console.log(`  note: the download from ${name} came on click ${attempt + 1}`);
          return file;
        } catch (e) {
          if (attempt === 3) throw e;
        }
      }
    },
    /**
     * Waits until the startup scenario (`default`) has started: it spawns its programs once the
     * boot has settled, which on a slow machine can be seconds after the boot set is up.
     */
    async waitForStartupScenario() {
      await waitForStartupScenario(() => t.layout());
    },
    /**
     * What a test kills for a clean slate: once the startup scenario has started and the process
     * list has settled, every live unprotected process except idle, senders first (killing a
     * receiver first can end its senders by themselves, as Zombies that stay listed), newest first.
     */
    async startupVictims() {
      await t.waitForStartupScenario();
      await waitForSettledProcesses(() => t.processes());
      const list = await t.processes();
      const idle = list.find((p) => p.name === "idle" && p.state !== "zombie");
      const victims = list.filter((p) => !p.protected && p.state !== "zombie" && p.pid !== idle?.pid);
      return victims.sort(killOrder);
    },
    /** Loads a scenario through `window.supervisor.load_scenario` and waits until it is current. */
    async loadScenario(name) {
      await t.sv((s, name) => s.load_scenario(name), name);
      await waitFor(`scenario ${name} to be current`, async () => (await t.layout()).ui.scenario === name, { timeoutMs: 60_000, intervalMs: 200 });
    },
    async screenshot(file) {
      const path = join(ARTIFACTS, file);
      await page.screenshot({ path });
      console.log(`  screenshot: ${path}`);
      return path;
    },
    async finish() {
      if (pageErrors.length) {
        checks.count(false);
        console.log(`  FAIL  no page errors: ${pageErrors.length}:\n    ${pageErrors.join("\n    ")}`);
      } else {
        checks.count(true);
        console.log("  ok    no page errors");
      }
      if (consoleErrors.length) console.log(`  note  console errors:\n    ${consoleErrors.join("\n    ")}`);
      await browser.close();
      checks.finish();
    },
  };
  const navigationStarted = Date.now();
  await page.goto(URL + query, { waitUntil: "load" });
  await t.check("the page is cross-origin isolated", async () => {
    const isolated = await page.evaluate(() => self.crossOriginIsolated);
    if (!isolated) throw new Error("crossOriginIsolated is false: the server did not send COOP/COEP");
  });
  const started_ok = await t.check("the app starts and draws its first frame", async () => {
    const state = await waitFor(
      "window.orbital.state to leave 'loading'",
      () => page.evaluate(() => (window.orbital?.state !== "loading" ? window.orbital : null)),
      { timeoutMs: 120_000 },
    );
    if (state.state !== "running") throw new Error(`the app did not start: ${state.error}`);
    return `first frame ${Math.round(state.navigationToFirstFrameMs)} ms after navigation (${Date.now() - navigationStarted} ms wall)`;
  });
  if (!started_ok) {
    await t.screenshot(`${name}-failed-start.png`);
    await t.finish();
  }
  return t;
}
