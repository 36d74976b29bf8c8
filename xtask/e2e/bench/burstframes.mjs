// Probe: where the sender burst's slow round trips come from. Sender bursts (1000 SENDs to a new
// receiver, the bench's `back_to_back` workload) in alternating pairs (ABBA): with the app's
// frames running, and with its frames held (requestAnimationFrame's callbacks kept back by a
// script the page runs first; the servicer, which runs on the doorbell's waitAsync and a 4 ms
// interval, goes on). Prints each burst's median and p99 and how many frames ran during it.
// Not part of `cargo xtask bench`.
//   cd xtask/e2e && ORBITAL_URL=http://127.0.0.1:8020/ N=6 node bench/burstframes.mjs
import { clearUserProcesses, launch, median, supervisorOf, URL, waitFor } from "../lib.mjs";
import { schedDelta, schedSnapshot } from "./sched.mjs";

const N = Number(process.env.N ?? 6);
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const page = await context.newPage();
await page.addInitScript(() => {
  const raf = window.requestAnimationFrame.bind(window);
  const held = [];
  window.__frames = 0;
  window.__hold = false;
  window.requestAnimationFrame = (cb) => {
    if (window.__hold) {
      held.push(cb);
      return 0;
    }
    return raf((t) => {
      window.__frames++;
      cb(t);
    });
  };
  window.__release = () => {
    window.__hold = false;
    for (const cb of held.splice(0)) window.requestAnimationFrame(cb);
  };
});
await page.goto(URL);
await page.waitForFunction(() => window.orbital?.state === "running", null, { timeout: 120_000 });
const sv = supervisorOf(page);
await sv("set_guest_pacing", "off");
await clearUserProcesses(sv);
const processes = () => sv("get_process_list_json");
const command = (line) => sv("send_input", line);

async function burst(hold) {
  const before = new Set((await processes()).map((p) => p.pid));
  const fresh = async (name) => (await processes()).find((p) => p.name === name && !before.has(p.pid));
  await command("spawn receiver");
  await waitFor("the receiver to wait", async () => (await fresh("receiver"))?.state === "blocked", { timeoutMs: 30_000 });
  await sv("reset_syscall_latency");
  const f0 = await page.evaluate((hold) => {
    window.__hold = hold;
    // The main thread's stalls: a chain of 0 ms timers (4 ms apart once nested), and its gaps.
    window.__gaps = [];
    window.__watch = true;
    let last = performance.now();
    const tick = () => {
      const now = performance.now();
      window.__gaps.push(now - last);
      last = now;
      if (window.__watch) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    return window.__frames;
  }, hold);
  const s0 = schedSnapshot();
  const t0 = Date.now();
  await command("spawn sender");
  const sender = (await waitFor("the sender", () => fresh("sender"), { timeoutMs: 30_000 })).pid;
  const s = await waitFor("three batches", async () => {
    const s = await sv("get_syscall_latency_json", sender);
    return s.count >= 768 && s;
  }, { timeoutMs: 30_000, intervalMs: 20 });
  const [framesNow, gaps] = await page.evaluate(() => {
    window.__watch = false;
    return [window.__frames, window.__gaps];
  });
  const frames = framesNow - f0;
  const wall = Date.now() - t0;
  const sched = schedDelta(s0, schedSnapshot());
  const cpu = sched && Object.fromEntries(Object.entries(sched).map(([k, v]) => [k, Math.round(v)]));
  const stalls = gaps.filter((g) => g > 8).map((g) => Math.round(g));
  await page.evaluate(() => window.__release());
  await clearUserProcesses(sv);
  return { median: s.median_us, p99: s.p99_us, max: s.max_us, mean: Math.round(s.mean_us), frames, timers: gaps.length, stalls, wall, cpu };
}

const rows = { running: [], held: [] };
for (let i = 0; i < N; i++) {
  for (const k of i % 2 ? ["held", "running"] : ["running", "held"]) {
    const r = await burst(k === "held");
    rows[k].push(r);
    console.log(k.padEnd(8), JSON.stringify(r));
  }
}
for (const k of ["running", "held"]) {
  console.log(k.padEnd(8), "median of medians", median(rows[k].map((r) => r.median)), "median p99", median(rows[k].map((r) => r.p99)));
}
await browser.close();
