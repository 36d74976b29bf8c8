// Two builds' pingpong in one browser, in alternating windows: a probe for changes to the IPC path,
// whose run-to-run drift on this machine (the paired ratio against the relay read 0.30-0.57 for one
// build in six runs) is larger than most changes. Not part of `cargo xtask bench`'s table.
//
//   (at each of the two commits: cargo xtask dist, then cp -r target/site DIR_A, resp. DIR_B)
//   cargo xtask serve --no-build --out DIR_A --port 8012 &
//   cargo xtask serve --no-build --out DIR_B --port 8013 &
//   cd xtask/e2e && A=http://127.0.0.1:8012/ B=http://127.0.0.1:8013/ node bench/ab_pingpong.mjs
//
// Both pages stay open and drawn the whole time (the same load on the cores for both). Each starts
// one pingpong pair with the guests at full speed and is paused (Space) while the other measures.
// SIZE (default 1280x800) is both pages' viewport. PAIRS (default 12) pairs of WINDOW_MS (1500) windows in ABBA order; prints each side's median
// round trips/s and the median of the pairs' B/A ratios.
import { emptySpot, launch, openForIpc, waitFor } from "../lib.mjs";

const A = process.env.A, B = process.env.B;
if (!A || !B) throw new Error("set A and B to the two sites' URLs (see the comment at the top)");
const PAIRS = Number(process.env.PAIRS ?? 12);
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 1500);
// SIZE=320x200 makes each frame short, so the software rasteriser leaves the cores to the IPC.
const [WIDTH, HEIGHT] = (process.env.SIZE ?? "1280x800").split("x").map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const browser = await launch();

/** The main thread's busy time in a CPU profile, us: every sample but "(idle)". */
function busyUs(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let busy = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id).callFrame.functionName !== "(idle)") busy += profile.timeDeltas[i] ?? 0;
  });
  return busy;
}

async function open(url) {
  const { context, page, sv } = await openForIpc(browser, url, { width: WIDTH, height: HEIGHT });
  const before = new Set((await sv("get_process_list_json")).map((p) => p.pid));
  await sv("send_input", "spawn pingpong");
  await sleep(1000);
  await sv("send_input", "spawn pingpong");
  const received = async () => {
    const ps = (await sv("get_process_list_json")).filter((p) => p.name === "pingpong" && p.state !== "zombie" && !before.has(p.pid));
    if (ps.length !== 2) throw new Error(`${url}: ${ps.length} pingpong processes, expected 2`);
    return { n: ps.reduce((s, p) => s + p.metrics.ipc_received, 0), at: await page.evaluate(() => performance.now()) };
  };
  const isPaused = async () => (await sv("get_system_metrics_json")).time_control === "paused";
  const setPaused = async (paused) => {
    if ((await isPaused()) === paused) return;
    // The click that hands the keys to the canvas needs the full layout (a small page is mostly panels).
    const resize = WIDTH !== 1280 || HEIGHT !== 800;
    if (resize) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await sleep(500);
    }
    const spot = emptySpot(await sv("get_canvas_layout_json"));
    await page.mouse.click(spot.x, spot.y, { delay: 150 });
    await page.keyboard.press("Space");
    if (resize) await page.setViewportSize({ width: WIDTH, height: HEIGHT });
    await waitFor(`${url}: the system to ${paused ? "pause" : "resume"}`, async () => (await isPaused()) === paused, { timeoutMs: 20_000 });
  };
  const cdp = await context.newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  const window_ = async () => {
    await setPaused(false);
    await sleep(300);
    await cdp.send("Profiler.start");
    const a = await received();
    await sleep(WINDOW_MS);
    const b = await received();
    const { profile } = await cdp.send("Profiler.stop");
    await setPaused(true);
    const hops = b.n - a.n;
    return { rate: (hops / 2) * 1000 / (b.at - a.at), busy: busyUs(profile) / hops };
  };
  return { window: window_, setPaused };
}

const pageA = await open(A);
const pageB = await open(B);
// Warm-up: each pair runs alone for 6 s (a new pair's first seconds run at a fraction of its rate).
await pageB.setPaused(true);
await sleep(6000);
await pageA.setPaused(true);
await pageB.setPaused(false);
await sleep(6000);
await pageB.setPaused(true);

const a = [], b = [];
for (let i = 0; i < PAIRS; i++) {
  if (i % 2 === 0) { a.push(await pageA.window()); b.push(await pageB.window()); }
  else { b.push(await pageB.window()); a.push(await pageA.window()); }
}
for (const [key, what, digits] of [["rate", "round trips/s", 0], ["busy", "us of main-thread busy time per hop", 1]]) {
  const xa = a.map((w) => w[key]), xb = b.map((w) => w[key]);
  const ratios = xa.map((x, i) => xb[i] / x);
  console.log(`${what}:`);
  console.log(`  A ${A}: median ${median(xa).toFixed(digits)} (${xa.map((x) => x.toFixed(digits)).join(" ")})`);
  console.log(`  B ${B}: median ${median(xb).toFixed(digits)} (${xb.map((x) => x.toFixed(digits)).join(" ")})`);
  console.log(`  B/A per pair: median ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(" ")})`);
}
await browser.close();
