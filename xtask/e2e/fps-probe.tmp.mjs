// Temporary probe (not committed): frames/s of the release site in several configurations.
import { launch } from "./lib.mjs";
const URL = process.env.ORBITAL_URL;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const configs = (process.env.CONFIGS ?? "default,paused,empty").split(",");
const browser = await launch();
for (const c of configs) {
  const ctx = await browser.newContext({ viewport: { width: Number(process.env.VW ?? 1280), height: Number(process.env.VH ?? 800) }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    window.__draws = {};
    const P = WebGL2RenderingContext.prototype;
    for (const f of ["drawElements", "drawArrays", "drawElementsInstanced", "drawArraysInstanced", "drawRangeElements", "bufferData", "bufferSubData", "texSubImage2D", "useProgram"]) {
      const orig = P[f];
      P[f] = function (...a) { window.__draws[f] = (window.__draws[f] ?? 0) + 1; return orig.apply(this, a); };
    }
  });
  const q = c === "paused" ? "?speed=paused" : c === "crowd" ? "?scenario=crowd" : c === "crowdpaused" ? "?scenario=crowd&speed=paused" : "";
  await page.goto(URL + q, { waitUntil: "load" });
  await page.waitForFunction(() => window.orbital && window.orbital.state === "running", null, { timeout: 240000 });
  await page.waitForFunction(() => typeof window.supervisor?.get_process_list_json === "function", null, { timeout: 60000 });
  await sleep(c.startsWith("crowd") ? 25000 : 12000);
  if (c === "empty") {
    const ps = JSON.parse(await page.evaluate(() => window.supervisor.get_process_list_json()));
    for (const p of ps.filter((p) => !p.protected).sort((a, b) => b.pid - a.pid)) await page.evaluate((l) => window.supervisor.send_input(l), `kill ${p.pid}`).catch(() => {});
    await sleep(5000);
  }
  const n = JSON.parse(await page.evaluate(() => window.supervisor.get_process_list_json())).length;
  const fps = await page.evaluate(async () => {
    let f = 0; let go = true;
    const tick = () => { f++; if (go) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 10000));
    go = false;
    return (f * 1000) / (performance.now() - t0);
  });
  const d0 = await page.evaluate(() => ({ ...window.__draws }));
  const f0 = await page.evaluate(async () => { let f = 0; await new Promise((r) => { const t = () => { if (++f < 20) requestAnimationFrame(t); else r(); }; requestAnimationFrame(t); }); return f; });
  const d1 = await page.evaluate(() => ({ ...window.__draws }));
  const per = Object.fromEntries(Object.keys(d1).map((k) => [k, ((d1[k] - (d0[k] ?? 0)) / f0).toFixed(1)]));
  console.log(`${c}: per frame ${JSON.stringify(per)}`);
  await page.evaluate(() => window.supervisor.reset_frame_timing?.());
  await new Promise((r) => setTimeout(r, 15000));
  const ft = JSON.parse(await page.evaluate(() => window.supervisor.get_frame_timing_json()));
  console.log(`${c}: update ${JSON.stringify({ frames: ft.frames, median: ft.median_ms, p95: ft.p95_ms, phases: ft.phases.map((p) => `${p.name}:${p.median_ms.toFixed(1)}`).join(" ") })}`);
  await page.screenshot({ path: `/tmp/fx/${c}.png` });
  console.log(`${c}: ${n} processes, ${fps.toFixed(2)} frames/s`);
  await ctx.close();
}
await browser.close();
