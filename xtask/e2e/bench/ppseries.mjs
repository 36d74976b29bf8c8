// Pingpong's rate over time in short windows, then the relay through the main thread in short
// runs on the same page: a probe for how far the rates swing within a run (docs/BENCHMARKS.md).
// Not part of `cargo xtask bench`'s table.
//
//   cargo xtask serve --no-build --port 8012 &
//   cd xtask/e2e && ORBITAL_URL=http://127.0.0.1:8012/ node bench/ppseries.mjs
//
// Kills the user processes, starts one pingpong pair with the guests at full speed, and after
// WARM_MS (2000) prints one line per WINDOW_MS (500) window for SECS (20) seconds: round trips/s,
// frames/s and what the servicer did (wake-ups, syscalls serviced, yields to the browser). Then
// it kills the pair and runs the relay RELAY_RUNS (20) times, RELAY_TRIPS (10,000) round trips
// each. SIZE (default 1280x800) is the viewport.
import { clearUserProcesses, launch, openForIpc, URL } from "../lib.mjs";
import { relayViaMainInPage } from "./relay.mjs";

const SECS = Number(process.env.SECS ?? 20);
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 500);
const WARM_MS = Number(process.env.WARM_MS ?? 2000);
const RELAY_RUNS = Number(process.env.RELAY_RUNS ?? 20);
const RELAY_TRIPS = Number(process.env.RELAY_TRIPS ?? 10_000);
const [WIDTH, HEIGHT] = (process.env.SIZE ?? "1280x800").split("x").map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const spread = (what, xs) => {
  const s = [...xs].sort((a, b) => a - b);
  console.log(`${what}: median ${Math.round(s[s.length >> 1])}, min ${Math.round(s[0])}, max ${Math.round(s[s.length - 1])} (${xs.length})`);
};

const browser = await launch();
const { page, sv } = await openForIpc(browser, URL, { width: WIDTH, height: HEIGHT });
const before = (await sv("get_process_list_json")).map((p) => p.pid);
await sv("send_input", "spawn pingpong");
await sleep(1000);
await sv("send_input", "spawn pingpong");
await sleep(WARM_MS);

const rows = await page.evaluate(async ([secs, windowMs, before]) => {
  const s = window.supervisor;
  let frames = 0;
  const counting = () => { frames++; requestAnimationFrame(counting); };
  requestAnimationFrame(counting);
  const read = () => {
    const pair = JSON.parse(s.get_process_list_json()).filter((p) => p.name === "pingpong" && !before.includes(p.pid));
    if (pair.length !== 2) throw new Error(`${pair.length} new pingpong processes, expected 2`);
    const servicer = JSON.parse(s.get_system_metrics_json()).servicer;
    return { received: pair.reduce((n, p) => n + p.metrics.ipc_received, 0), at: performance.now(), frames, ...servicer };
  };
  const out = [];
  let a = read();
  const end = performance.now() + secs * 1000;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, windowMs));
    const b = read();
    const dt = b.at - a.at;
    out.push({
      at_ms: Math.round(b.at),
      round_trips_per_sec: Math.round(((b.received - a.received) / 2) * 1000 / dt),
      frames_per_sec: +((b.frames - a.frames) * 1000 / dt).toFixed(1),
      wakes: b.wakes - a.wakes,
      serviced: b.serviced - a.serviced,
      yields: b.yields - a.yields,
    });
    a = b;
  }
  return out;
}, [SECS, WINDOW_MS, before]);
for (const r of rows) console.log(JSON.stringify(r));
spread(`pingpong round trips/s, ${WINDOW_MS} ms windows`, rows.map((r) => r.round_trips_per_sec));

await clearUserProcesses(sv);
const relay = [];
for (let i = 0; i < RELAY_RUNS; i++) relay.push(await page.evaluate(relayViaMainInPage, RELAY_TRIPS));
console.log(`relay: ${relay.map(Math.round).join(" ")}`);
spread(`relay through the main thread, round trips/s, runs of ${RELAY_TRIPS}`, relay);
await browser.close();
