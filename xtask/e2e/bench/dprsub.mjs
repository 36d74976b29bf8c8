// What a lower internal resolution would give, on a site built before web/render_scale.js: paired
// page loads, A with devicePixelRatio as is, B with it reported as S (winit then sizes the canvas's
// drawing buffer at its CSS size x S), frames/s over 5 s each (docs/BENCHMARKS.md, 2026-12-04).
// On a site with render_scale.js, pick the resolution with `?resolution=` instead.
//
//   cd xtask/e2e && ORBITAL_URL=http://127.0.0.1:8011/ S=0.75 MODE=crowd PAUSE=1 N=2 SHOT=/tmp/dpr node bench/dprsub.mjs
import { launch, prepareDrawingPage } from "../lib.mjs";
const URL_ = process.env.ORBITAL_URL, MODE = process.env.MODE ?? "empty", N = +(process.env.N ?? 4), S = +(process.env.S ?? 0.5);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const browser = await launch();
async function measure(s) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.addInitScript((s) => {
    window.__f = 0; const t = () => { window.__f++; requestAnimationFrame(t); }; requestAnimationFrame(t);
    Object.defineProperty(window, "devicePixelRatio", { get: () => s, configurable: true });
    delete ResizeObserverEntry.prototype.devicePixelContentBoxSize;
  }, s);
  await page.goto(URL_);
  await prepareDrawingPage(page, { scenario: MODE, pause: process.env.PAUSE === "1" });
  const a = await page.evaluate(() => [window.__f, performance.now()]);
  await sleep(5000);
  const b = await page.evaluate(() => { const c = document.querySelector("#orbital-canvas"); return [window.__f, performance.now(), `${c.width}x${c.height}`]; });
  if (process.env.SHOT) await page.screenshot({ path: `${process.env.SHOT}-${s}.png` });
  await context.close();
  return [((b[0] - a[0]) * 1000) / (b[1] - a[1]), b[2]];
}
const ratios = [];
for (let i = 0; i < N; i++) {
  const order = i % 2 ? [S, 1] : [1, S];
  const r = {};
  for (const s of order) r[s] = await measure(s);
  ratios.push(r[S][0] / r[1][0]);
  console.log(`pair ${i + 1}: A ${r[1][0].toFixed(2)} (${r[1][1]})  B ${r[S][0].toFixed(2)} (${r[S][1]})  B/A ${(r[S][0] / r[1][0]).toFixed(3)}`);
}
const med = (x) => { const s = [...x].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(`S=${S} ${MODE}${process.env.PAUSE === "1" ? " paused" : ""}: paired B/A median ${med(ratios).toFixed(3)}`);
await browser.close();
