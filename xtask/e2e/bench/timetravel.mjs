// Time travel in the browser, in one page and one run (numbers for docs/BENCHMARKS.md):
// 1. the file size of a minute of the default scenario, raw, gzip and brotli;
// 2. pingpong round trips/s with recording on and off, alternating windows, medians and ratio;
// 3. seek latency to random points after a minute of the crowd scenario (median, p90, max).
// Run: ORBITAL_URL=http://127.0.0.1:8011/ node xtask/e2e/bench/timetravel.mjs  (writes
// $ORBITAL_ARTIFACTS/timetravel-bench.json).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { ARTIFACTS, openPlayground, waitFor } from "../lib.mjs";

const t = await openPlayground("timetravel-bench");
const { page } = t;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.round((xs.length - 1) * p)];
const MINUTE_MS = Number(process.env.MINUTE_MS ?? 60_000);

// 1. A minute of the default scenario (recording starts at boot).
await t.waitForStartupScenario();
const tl0 = await t.sv((s) => s.get_timeline_json());
const wait = Math.max(0, MINUTE_MS - tl0.end_ns / 1e6);
await sleep(wait);
const file = await page.evaluate(() => {
  const s = window.supervisor;
  const bytes = s.export_recording();
  const tl = JSON.parse(s.get_timeline_json());
  return { bytes: Array.from(bytes), inputs: tl.inputs, secs: (tl.end_ns - tl.start_ns) / 1e9 };
});
const raw = Buffer.from(file.bytes);
const size = {
  secs: file.secs,
  inputs: file.inputs,
  raw_bytes: raw.length,
  gzip_bytes: gzipSync(raw, { level: 9 }).length,
  brotli_bytes: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
};
console.log(`  default scenario: ${JSON.stringify(size)}`);

// 2. Pingpong round trips/s, recording on vs off, alternating 3 s windows.
async function spawn(program) {
  const before = new Set((await t.processes()).map((p) => p.pid));
  await t.sv((s, line) => s.send_input(line), `spawn ${program}`);
  return waitFor(`a new ${program}`, async () => (await t.processes()).find((p) => p.name === program && !before.has(p.pid)));
}
const pings = [(await spawn("pingpong")).pid, (await spawn("pingpong")).pid];
const received = async () => (await t.processes()).filter((p) => pings.includes(p.pid)).map((p) => p.metrics.ipc_received);
const rate = { on: [], off: [] };
for (let round = 0; round < 5; round++) {
  for (const mode of ["on", "off"]) {
    await t.sv((s, on) => s.set_recording(on), mode === "on");
    await sleep(500);
    const r0 = await received();
    const t0 = Date.now();
    await sleep(3000);
    const r1 = await received();
    rate[mode].push(Math.min(...r1.map((n, i) => n - r0[i])) / ((Date.now() - t0) / 1000));
  }
}
await t.sv((s) => s.set_recording(true));
const pingpong = {
  on_median: median(rate.on),
  off_median: median(rate.off),
  on_over_off: median(rate.on) / median(rate.off),
  on: rate.on,
  off: rate.off,
};
console.log(`  pingpong round trips/s: ${JSON.stringify(pingpong)}`);

// 3. A minute of the crowd, then random seeks (each timed around the API call inside the page).
await t.loadScenario("crowd");
await t.sv((s) => s.set_recording(true));
await sleep(MINUTE_MS);
const seek = await page.evaluate(() => {
  const s = window.supervisor;
  const tl = JSON.parse(s.get_timeline_json());
  let x = 12345;
  const times = [];
  for (let i = 0; i < 41; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const k = tl.first + Math.floor((x / 2147483648) * (tl.inputs - tl.first));
    const t0 = performance.now();
    s.seek(k);
    times.push(performance.now() - t0);
  }
  s.go_live();
  return { inputs: tl.inputs - tl.first, snapshots: tl.snapshots, input_bytes: tl.input_bytes, times };
});
const seekMs = { inputs: seek.inputs, snapshots: seek.snapshots, input_bytes: seek.input_bytes, median_ms: median(seek.times), p90_ms: pct(seek.times, 0.9), max_ms: Math.max(...seek.times) };
console.log(`  crowd seek: ${JSON.stringify(seekMs)}`);

const out = join(ARTIFACTS, "timetravel-bench.json");
writeFileSync(out, JSON.stringify({ file: size, pingpong, seek: seekMs }, null, 2));
console.log(`  wrote ${out}`);
await t.finish();
