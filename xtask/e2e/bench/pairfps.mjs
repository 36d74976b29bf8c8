// Two builds' frame rates, paired: ABBA pairs of fresh page loads of two served sites, frames/s
// over 5 s of requestAnimationFrame each, at 1280x800 (a probe for a drawing change; not part of
// `cargo xtask bench`'s table). Serve each site on its own port, then:
//
//   cargo xtask serve --no-build --out DIR_A --port 8011 &
//   cargo xtask serve --no-build --out DIR_B --port 8012 &
//   cd xtask/e2e && A=http://127.0.0.1:8011/ B=http://127.0.0.1:8012/ MODE=crowd PAUSE=1 N=4 node bench/pairfps.mjs
//
// MODE: default (as loaded), crowd, or empty (every user process killed); PAUSE=1 pauses the
// guests (Space); N pairs (4); SHOT=prefix saves each site's last page as prefix-A.png/-B.png.
// Prints each pair and the median of the pairs' B/A ratios.
import { launch, prepareDrawingPage } from "../lib.mjs";
const A = process.env.A, B = process.env.B, MODE = process.env.MODE ?? "crowd", N = +(process.env.N ?? 4);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const browser = await launch();
async function measure(url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.addInitScript(() => { window.__f = 0; const t = () => { window.__f++; requestAnimationFrame(t); }; requestAnimationFrame(t); });
  await page.goto(url);
  await prepareDrawingPage(page, { scenario: MODE, pause: process.env.PAUSE === "1" });
  const a = await page.evaluate(() => [window.__f, performance.now()]);
  await sleep(5000);
  const b = await page.evaluate(() => [window.__f, performance.now()]);
  if (process.env.SHOT) await page.screenshot({ path: `${process.env.SHOT}-${url === A ? "A" : "B"}.png` });
  await context.close();
  return ((b[0] - a[0]) * 1000) / (b[1] - a[1]);
}
const ra = [], rb = [], ratios = [];
for (let i = 0; i < N; i++) {
  const order = i % 2 ? [B, A] : [A, B];
  const r = {};
  for (const u of order) r[u] = await measure(u);
  ra.push(r[A]); rb.push(r[B]); ratios.push(r[B] / r[A]);
  console.log(`pair ${i + 1}: A ${r[A].toFixed(2)}  B ${r[B].toFixed(2)}  B/A ${(r[B] / r[A]).toFixed(3)}`);
}
const med = (x) => { const s = [...x].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(`${MODE}${process.env.PAUSE === "1" ? " paused" : ""}: A ${med(ra).toFixed(2)}  B ${med(rb).toFixed(2)}  paired B/A median ${med(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(" ")})`);
await browser.close();
