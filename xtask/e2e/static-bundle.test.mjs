// The static bundle (`cargo xtask dist`) on a plain static host: served by a small Node server that
// sends no COOP/COEP headers, under a sub-path, on loopback. The page reloads once through its
// service worker (web/coi.js), becomes cross-origin isolated, runs the boot set and says what
// happened; a normal reload needs no second one; a hard reload is explained; a share link opened as
// a first visit keeps its query through that reload and opens its lesson at its step; file:// is
// explained; and where the server sends the headers the worker is never registered.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { ARTIFACTS, CHROMIUM_ARGS, URL as ISOLATED_URL, checker, launch, waitFor } from "./lib.mjs";

const SITE = process.env.ORBITAL_SITE;
const PREFIX = "/some/path/";
const { check, finish } = checker("static-bundle");
if (!SITE) {
  console.log("  FAIL  ORBITAL_SITE is not set (run through `cargo xtask test`)");
  process.exit(1);
}

/**
 * What any static host does and no more: files under PREFIX with a MIME type by extension, a
 * redirect from the prefix without its slash, 404 elsewhere; no COOP/COEP/CORP, no brotli.
 */
async function plainServer(root, extraHeaders = {}) {
  const types = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".css": "text/css; charset=utf-8",
    ".ron": "text/plain; charset=utf-8",
    ".json": "application/json",
  };
  const requests = [];
  const server = createServer(async (req, res) => {
    const { pathname } = new globalThis.URL(req.url, "http://x");
    requests.push(pathname);
    if (pathname === PREFIX.slice(0, -1)) return res.writeHead(301, { Location: PREFIX }).end();
    if (!pathname.startsWith(PREFIX)) return res.writeHead(404).end();
    let file = resolve(root, decodeURIComponent(pathname.slice(PREFIX.length)));
    if (file !== resolve(root) && !file.startsWith(resolve(root) + sep)) return res.writeHead(404).end();
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream", ...extraHeaders });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, requests, base: `http://127.0.0.1:${server.address().port}${PREFIX}` };
}

const isolationOf = (page) =>
  page.evaluate(async () => {
    const iso = window.orbitalIsolation;
    if (!iso || iso.status === "unknown" || iso.status === "reloading") return null;
    const registrations = navigator.serviceWorker ? await navigator.serviceWorker.getRegistrations() : [];
    return {
      status: iso.status,
      isolated: self.crossOriginIsolated,
      controller: navigator.serviceWorker?.controller?.scriptURL ?? null,
      scopes: registrations.map((r) => r.scope),
      state: window.orbital?.state,
    };
  });
const waitForState = (page, what, timeoutMs = 180_000) =>
  waitFor(
    what,
    () => page.evaluate(() => (window.orbital && window.orbital.state !== "loading" ? { ...window.orbital } : null)),
    { timeoutMs, intervalMs: 200 },
  );
async function shot(page, file) {
  const path = join(ARTIFACTS, file);
  await page.screenshot({ path });
  console.log(`  screenshot: ${path}`);
}

/** A page in a fresh browser context (no service worker, no cache), counting its loads and errors. */
async function freshPage(b, contextOptions = {}) {
  const ctx = await b.newContext({ viewport: { width: 1024, height: 640 }, deviceScaleFactor: 1, ...contextOptions });
  const p = await ctx.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e?.stack ?? e)));
  let loads = 0;
  p.on("framenavigated", (frame) => {
    if (frame === p.mainFrame()) loads++;
  });
  return { ctx, p, errors, loads: () => loads };
}

const { server, requests, base } = await plainServer(SITE);
const browser = await launch();
const { ctx: context, p: page, errors: pageErrors, loads: navigations } = await freshPage(browser, { viewport: { width: 1280, height: 800 } });
const pageRequests = () => requests.filter((p) => p === PREFIX || p === `${PREFIX}index.html`).length;

console.log(`  serving ${SITE} at ${base} (no COOP/COEP headers)`);
const t0 = Date.now();
await page.goto(base);
const first = await check("the first visit reloads once and becomes cross-origin isolated through the service worker", async () => {
  const state = await waitForState(page, "the app to start after the reload");
  if (state.state !== "running") throw new Error(`the app did not start: ${state.error}`);
  const iso = await isolationOf(page);
  if (!iso.isolated) throw new Error(`not isolated: ${JSON.stringify(iso)}`);
  if (iso.status !== "enabled-by-worker") throw new Error(`status ${iso.status}, expected enabled-by-worker`);
  if (iso.controller !== `${base}coi.js`) throw new Error(`controlled by ${iso.controller}, expected ${base}coi.js`);
  if (iso.scopes.join() !== base) throw new Error(`service worker scopes ${iso.scopes}, expected ${base}`);
  if (navigations() !== 2) throw new Error(`${navigations()} navigations of the page, expected 2 (the visit and one reload)`);
  if (pageRequests() !== 2) throw new Error(`the server got ${pageRequests()} requests for the page, expected 2`);
  return `first frame ${((Date.now() - t0) / 1000).toFixed(1)} s after the visit, ${navigations()} page loads`;
});
if (first) {
  await check("the first-visit notice says the page reloaded once to enable isolation", async () => {
    const note = page.locator("#isolation-note");
    if (!(await note.isVisible())) throw new Error("#isolation-note is not visible");
    const text = await note.innerText();
    for (const needle of ["cross-origin isolation", "service worker", "reloaded once"]) {
      if (!text.includes(needle)) throw new Error(`the note does not say "${needle}": ${text}`);
    }
    await shot(page, "static-first-visit.png");
    return text.replace(/\s+/g, " ").trim();
  });
  await check("the boot set runs (init, terminal, idle)", async () => {
    const names = await waitFor(
      "init, terminal and idle in the process list",
      async () => {
        const list = await page.evaluate(() => JSON.parse(window.supervisor.get_process_list_json()));
        const live = list.filter((p) => p.state !== "zombie").map((p) => p.name);
        return ["init", "terminal", "idle"].every((n) => live.includes(n)) ? live : null;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    return names.join(", ");
  });
}
await check("every request stayed under the sub-path", async () => {
  const outside = requests.filter((p) => !p.startsWith(PREFIX));
  if (outside.length) throw new Error(`requests outside ${PREFIX}: ${[...new Set(outside)].join(", ")}`);
  return `${requests.length} requests`;
});

await check("a normal reload is isolated at once (no second reload, no notice)", async () => {
  const before = navigations();
  await page.reload();
  const iso = await waitFor("coi.js to settle", () => isolationOf(page), { timeoutMs: 30_000 });
  if (!iso.isolated || iso.status !== "worker") throw new Error(JSON.stringify(iso));
  if (await page.locator("#isolation-note").isVisible()) throw new Error("the first-visit notice is shown again");
  const state = await waitForState(page, "the app to start");
  if (state.state !== "running") throw new Error(`the app did not start: ${state.error}`);
  if (navigations() !== before + 1) throw new Error(`${navigations() - before} navigations for one reload`);
});

await check("a hard reload (bypassing the service worker) is explained, and the Reload button recovers", async () => {
  const cdp = await context.newCDPSession(page);
  const before = navigations();
  await cdp.send("Page.reload", { ignoreCache: true });
  await waitFor("the hard reload", async () => navigations() > before, { timeoutMs: 30_000 });
  const state = await waitForState(page, "the page to give up", 60_000);
  const iso = await isolationOf(page);
  if (state.state !== "failed" || iso.status !== "not-controlled") throw new Error(`state ${state.state}, ${JSON.stringify(iso)}`);
  const text = await page.locator("#notice").innerText();
  for (const needle of ["hard reload", "Reload normally"]) {
    if (!text.includes(needle)) throw new Error(`the notice does not say "${needle}": ${text}`);
  }
  if (navigations() !== before + 1) throw new Error(`the page reloaded by itself after the hard reload (${navigations() - before} navigations)`);
  await shot(page, "static-hard-reload.png");
  await page.click("#notice-reload");
  const after = await waitFor("isolation after pressing Reload", async () => {
    const i = await isolationOf(page);
    return i?.isolated ? i : null;
  }, { timeoutMs: 30_000, intervalMs: 200 });
  if (after.status !== "worker") throw new Error(JSON.stringify(after));
  const again = await waitForState(page, "the app to start");
  if (again.state !== "running") throw new Error(`the app did not start: ${again.error}`);
});

await check("no page errors on the static host", async () => {
  if (pageErrors.length) throw new Error(pageErrors.join("\n    "));
});
await context.close();

// A fresh browser context, as a student's browser that never saw the site (the first context's
// page is closed, so it does not compete for the CPU).
await check("a share link, opened as a first visit (a link on a slide), reloads once and opens its lesson at its step", async () => {
  const { ctx, p, errors, loads } = await freshPage(browser, { viewport: { width: 1280, height: 800 } });
  const link = `${base}?lesson=messages&step=2&theme=projector`;
  const opened = Date.now();
  await p.goto(link);
  const state = await waitForState(p, "the app to start after the reload");
  if (state.state !== "running") throw new Error(`the app did not start: ${state.error}`);
  const lesson = await waitFor(
    "the lesson at step 2",
    async () => {
      const l = await p.evaluate(() => JSON.parse(window.supervisor.get_lesson_json()));
      return l.name === "messages" && l.step === 2 ? l : null;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  const secs = ((Date.now() - opened) / 1000).toFixed(1);
  const iso = await isolationOf(p);
  if (!iso.isolated || iso.status !== "enabled-by-worker") throw new Error(JSON.stringify(iso));
  if (loads() !== 2) throw new Error(`${loads()} page loads, expected 2 (the visit and one reload)`);
  if (!p.url().endsWith("?lesson=messages&step=2&theme=projector")) throw new Error(`the reload lost the link: ${p.url()}`);
  await new Promise((r) => setTimeout(r, 1500));
  await shot(p, "static-share-link.png");
  await ctx.close();
  if (errors.length) throw new Error(errors.join("\n    "));
  return `step ${lesson.step} of ${lesson.steps} shown ${secs} s after opening the link (${loads()} page loads): ${lesson.caption.slice(0, 50)}...`;
});

/** Opens `url` in a fresh context and waits until the page gives up; returns what it shows. */
async function refusal(b, url, contextOptions = {}) {
  const { ctx, p, loads } = await freshPage(b, contextOptions);
  await p.goto(url);
  const state = await waitForState(p, "the page to give up", 30_000);
  const status = await p.evaluate(() => window.orbitalIsolation?.status);
  const text = (await p.locator("#notice").isVisible()) ? await p.locator("#notice").innerText() : "(notice hidden)";
  return { ctx, p, state, status, text, loads };
}

await check("a service worker that never activates: no reload, the page says why", async () => {
  // Playwright's "block" turns register() into a no-op, as a browser that refuses the worker would.
  const { ctx, state, status, text, loads } = await refusal(browser, base, { serviceWorkers: "block" });
  await new Promise((r) => setTimeout(r, 1000));
  await ctx.close();
  if (state.state !== "failed" || status !== "register-failed") throw new Error(`state ${state.state}, isolation ${status}`);
  if (loads() !== 1) throw new Error(`${loads()} page loads: the page reloaded without a worker`);
  for (const needle of ["could not be installed", "private browsing", "cargo xtask serve"]) {
    if (!text.includes(needle)) throw new Error(`the notice does not say "${needle}": ${text}`);
  }
});

await check("plain http from a host other than localhost: the page says to use HTTPS", async () => {
  // Chromium maps the name to loopback, but the page is not a secure context.
  const port = new globalThis.URL(base).port;
  const b = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [...CHROMIUM_ARGS, "--host-resolver-rules=MAP school.example 127.0.0.1"],
  });
  try {
    const { state, status, text } = await refusal(b, `http://school.example:${port}${PREFIX}`);
    if (state.state !== "failed" || status !== "insecure") throw new Error(`state ${state.state}, isolation ${status}`);
    for (const needle of ["HTTPS", "localhost"]) {
      if (!text.includes(needle)) throw new Error(`the notice does not say "${needle}": ${text}`);
    }
  } finally {
    await b.close();
  }
});
server.close();

await check("still not isolated after the one reload: no second reload (no loop), the page explains", async () => {
  // A host that sends COOP/COEP values that do not isolate: the worker leaves them alone, as it
  // does any response that has both headers, so the reload cannot help; the page must not loop.
  const odd = await plainServer(SITE, { "Cross-Origin-Opener-Policy": "unsafe-none", "Cross-Origin-Embedder-Policy": "unsafe-none" });
  try {
    const { ctx, state, status, text, loads } = await refusal(browser, odd.base);
    await new Promise((r) => setTimeout(r, 2000)); // time for a (wrong) second reload
    const later = loads();
    await ctx.close();
    if (state.state !== "failed" || status !== "worker-not-enough") throw new Error(`state ${state.state}, isolation ${status}`);
    if (later !== 2) throw new Error(`${later} page loads, expected 2 (the visit and one reload)`);
    if (!text.includes("still did not isolate")) throw new Error(`the notice: ${text}`);
    return `${later} page loads`;
  } finally {
    odd.server.close();
  }
});

await check("from file:// the page explains to serve the folder over http", async () => {
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 640 }, deviceScaleFactor: 1 });
  const p = await ctx.newPage();
  await p.goto(pathToFileURL(join(SITE, "index.html")).href);
  const state = await waitForState(p, "the page to give up", 30_000);
  const iso = await p.evaluate(() => window.orbitalIsolation?.status);
  if (state.state !== "failed" || iso !== "file") throw new Error(`state ${state.state}, isolation ${iso}`);
  if (!(await p.locator("#notice").isVisible())) throw new Error("the notice is hidden");
  const text = await p.locator("#notice").innerText();
  for (const needle of ["file://", "python3 -m http.server", "http://localhost:8000/"]) {
    if (!text.includes(needle)) throw new Error(`the notice does not mention "${needle}": ${text}`);
  }
  await shot(p, "static-file.png");
  await ctx.close();
  return state.error;
});

await check("where the server sends COOP/COEP, the service worker stays out of the way", async () => {
  const { ctx, p, loads } = await freshPage(browser);
  await p.goto(ISOLATED_URL);
  const iso = await waitFor("coi.js to settle", () => isolationOf(p), { timeoutMs: 30_000 });
  if (iso.status !== "headers" || !iso.isolated) throw new Error(JSON.stringify(iso));
  if (iso.scopes.length || iso.controller) throw new Error(`a service worker was registered: ${JSON.stringify(iso)}`);
  if (loads() !== 1) throw new Error(`${loads()} page loads`);
  await ctx.close();
});

await browser.close();
finish();
