// The teacher's last step, timed (numbers for docs/TEACHING.md): a share link opened in a fresh
// browser, as a first visit from a slide, until the lesson shows its step. Serve the bundle first
// (`python3 -m http.server 8000` in the unzipped folder, or `cargo xtask serve`), then:
//   ORBITAL_URL=http://localhost:8000/ node xtask/e2e/bench/teacher.mjs
// Prints the page loads (2 where the service worker adds the isolation headers), the time to the
// first frame and to the lesson at its step; saves teacher-link.png in $ORBITAL_ARTIFACTS.
import { join } from "node:path";
import { ARTIFACTS, URL as BASE, launch, waitFor } from "../lib.mjs";

const LINK = `${BASE}?${process.env.TEACHER_QUERY ?? "lesson=messages&step=2&theme=projector"}`;
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const page = await context.newPage();
let loads = 0;
page.on("framenavigated", (frame) => {
  if (frame === page.mainFrame()) loads++;
});
const t0 = Date.now();
if (process.env.TEACHER_LOG) page.on("console", (m) => console.log(`  [${((Date.now() - t0) / 1000).toFixed(1)} s] ${m.text().slice(0, 160)}`));
await page.goto(LINK);
const state = await waitFor(
  "the app to start",
  () => page.evaluate(() => (window.orbital && window.orbital.state !== "loading" ? { ...window.orbital } : null)),
  { timeoutMs: 180_000, intervalMs: 100 },
);
if (state.state !== "running") throw new Error(`the app did not start: ${state.error}`);
const firstFrame = (Date.now() - t0) / 1000;
const want = Number(new globalThis.URL(LINK).searchParams.get("step") ?? 1);
const lesson = await waitFor(
  "the lesson at its step",
  async () => {
    const l = await page.evaluate(() => JSON.parse(window.supervisor.get_lesson_json()));
    return l.name && l.step === want ? l : null;
  },
  { timeoutMs: 120_000, intervalMs: 100 },
);
const atStep = (Date.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 1500));
await page.screenshot({ path: join(ARTIFACTS, "teacher-link.png") });
console.log(
  JSON.stringify({
    link: LINK,
    page_loads: loads,
    isolated: await page.evaluate(() => self.crossOriginIsolated),
    isolation: await page.evaluate(() => window.orbitalIsolation?.status ?? null),
    first_frame_s: firstFrame,
    lesson_at_step_s: atStep,
    lesson: lesson.name,
    step: lesson.step,
    steps: lesson.steps,
  }),
);
await browser.close();
