// The page explains what is wrong instead of showing a blank canvas: served without the
// cross-origin isolation headers in a browser without service workers (so web/coi.js cannot add
// them), in a browser without WebGL2, and in one without WebAssembly SIMD. static-bundle.test.mjs covers the service worker route.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";
import { ARTIFACTS, CHROMIUM_ARGS, URL as ISOLATED_URL, waitFor } from "./lib.mjs";

const SITE = process.env.ORBITAL_SITE;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
let passed = 0;
let failed = 0;
async function check(what, body) {
  try {
    const note = await body();
    passed++;
    console.log(`  ok    ${what}${note ? `: ${note}` : ""}`);
  } catch (e) {
    failed++;
    console.log(`  FAIL  ${what}: ${e?.message ?? e}`);
  }
}

/** A plain static server for the built site, deliberately without COOP/COEP. */
async function plainServer() {
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".css": "text/css" };
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new globalThis.URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = join(SITE, path === "/" ? "index.html" : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

async function noticeOf(browser, url, screenshot, { noServiceWorkers = false, noWasmSimd = false } = {}) {
  const page = await browser.newPage({ viewport: { width: 1024, height: 640 }, deviceScaleFactor: 1 });
  // As in some private-browsing windows and old browsers: no navigator.serviceWorker at all.
  if (noServiceWorkers) await page.addInitScript(() => delete Navigator.prototype.serviceWorker);
  // As in a browser whose WebAssembly predates SIMD (V8 has no switch to turn it off): such a
  // browser rejects any module with an SIMD opcode (the 0xfd prefix) or the v128 type (0x7b).
  if (noWasmSimd) {
    await page.addInitScript(() => {
      const validate = WebAssembly.validate;
      WebAssembly.validate = (bytes) => {
        const u = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
        return u.includes(0xfd) || u.includes(0x7b) ? false : validate(bytes);
      };
    });
  }
  const appModule = [];
  page.on("request", (r) => {
    if (r.url().endsWith("_bg.wasm")) appModule.push(r.url());
  });
  await page.goto(url);
  const state = await waitFor("window.orbital.state = failed", () =>
    page.evaluate(() => (window.orbital?.state === "failed" ? window.orbital : null)),
  );
  const text = await page.locator("#notice").innerText();
  const visible = await page.locator("#notice").isVisible();
  await page.screenshot({ path: join(ARTIFACTS, screenshot) });
  console.log(`  screenshot: ${join(ARTIFACTS, screenshot)}`);
  await page.close();
  return { state, text, visible, appModuleRequests: appModule.length };
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
await check("without COOP/COEP and without service workers the page says why, and what to do", async () => {
  if (!SITE) throw new Error("ORBITAL_SITE is not set (run through `cargo xtask test`)");
  const server = await plainServer();
  try {
    const url = `http://127.0.0.1:${server.address().port}/`;
    const { state, text, visible } = await noticeOf(browser, url, "notice-not-isolated.png", { noServiceWorkers: true });
    if (!visible) throw new Error("the notice is hidden");
    if (!state.error.includes("no-service-worker")) throw new Error(`error ${state.error}, expected the no-service-worker case`);
    for (const needle of ["cross-origin isolated", "service workers", "private-browsing", "Cross-Origin-Opener-Policy: same-origin", "Cross-Origin-Embedder-Policy: require-corp", "cargo xtask serve"]) {
      if (!text.includes(needle)) throw new Error(`the notice does not mention "${needle}": ${text}`);
    }
    return state.error;
  } finally {
    server.close();
  }
});
await browser.close();

// A browser with WebGL turned off.
const noGl = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, "--disable-3d-apis"] });
await check("without WebGL2 the page says so and how to enable it", async () => {
  const { state, text, visible } = await noticeOf(noGl, ISOLATED_URL, "notice-no-webgl2.png");
  if (!visible) throw new Error("the notice is hidden");
  for (const needle of ["WebGL2", "hardware acceleration"]) {
    if (!text.includes(needle)) throw new Error(`the notice does not mention "${needle}": ${text}`);
  }
  return state.error;
});
await noGl.close();

const noSimd = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
await check("without WebAssembly SIMD the page says so, and which browsers have it, before fetching the app", async () => {
  const { state, text, visible, appModuleRequests } = await noticeOf(noSimd, ISOLATED_URL, "notice-no-wasm-simd.png", { noWasmSimd: true });
  if (!visible) throw new Error("the notice is hidden");
  if (state.error !== "no WebAssembly SIMD") throw new Error(`error ${state.error}, expected the no-SIMD case`);
  for (const needle of ["SIMD", "Chrome or Edge (91+)", "Firefox (89+)", "Safari (16.4+)"]) {
    if (!text.includes(needle)) throw new Error(`the notice does not mention "${needle}": ${text}`);
  }
  if (appModuleRequests) throw new Error(`the app's module was requested ${appModuleRequests} time(s) anyway`);
  return state.error;
});
await noSimd.close();

console.log(`notices: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
