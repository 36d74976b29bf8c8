// Two builds' app update time in the crowd, paired: ABBA pairs of fresh page loads of two served
// sites; the crowd scenario with the guests paced as shown, then the app's own update time per
// frame (First..Last, `get_frame_timing_json`) over 150 fresh frames after `reset_frame_timing`
// (a probe for a change's cost per frame; not part of `cargo xtask bench`'s table). Serve each
// site on its own port, then:
//
//   cargo xtask serve --no-build --out DIR_A --port 8011 &
//   cargo xtask serve --no-build --out DIR_B --port 8012 &
//   cd xtask/e2e && A=http://127.0.0.1:8011/ B=http://127.0.0.1:8012/ N=4 node bench/pairupdate.mjs
//
// Prints each load, each pair's B - A of the medians, and the median of those. SETTLE_MS=30000
// times the crowd 40 s after loading instead of 10 s.
import { launch, median, prepareDrawingPage } from "../lib.mjs";

const [A, B] = [process.env.A, process.env.B];
if (!A || !B) throw new Error("set A and B to the two sites' addresses");
const N = Number(process.env.N ?? 4);
const FRAMES = 150;
/** Extra wait before the frames are timed (SETTLE_MS; the crowd is timed 10 s after loading). */
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 0);
const browser = await launch();

async function load(url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.orbital?.state === "running", null, { timeout: 60_000 });
  const sv = await prepareDrawingPage(page, { scenario: "crowd" });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await sv("reset_frame_timing");
  const start = (await sv("get_canvas_layout_json")).frame;
  while ((await sv("get_canvas_layout_json")).frame < start + FRAMES + 10) await new Promise((r) => setTimeout(r, 500));
  const timing = await sv("get_frame_timing_json");
  await context.close();
  return timing;
}

const diffs = [];
for (let i = 0; i < N; i++) {
  const order = i % 2 ? ["B", "A"] : ["A", "B"];
  const got = {};
  for (const k of order) {
    got[k] = await load(k === "A" ? A : B);
    console.log(k, `median ${got[k].median_ms} ms, p95 ${got[k].p95_ms} ms over ${got[k].frames} frames`);
  }
  diffs.push(got.B.median_ms - got.A.median_ms);
  console.log(`pair ${i + 1}: B - A ${(got.B.median_ms - got.A.median_ms).toFixed(2)} ms`);
}
console.log(`median of the pairs' B - A: ${median(diffs).toFixed(2)} ms (${diffs.map((d) => d.toFixed(2)).join(", ")})`);
await browser.close();
