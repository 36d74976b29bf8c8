// Lessons and share links, end to end in headless Chromium:
// - a share link opens a lesson at a step, on the projector theme, with the capability view the
//   earlier steps turned on (arrows labelled with rights, read from the kernel);
// - load_lesson refuses an unknown name with the list of lessons;
// - every shipped lesson plays to its end with each wait met by the real kernel: the test never
//   calls lesson_next (it may reveal an answer), within a time limit per lesson;
// - a broken lesson file shows its line and column and the running lesson keeps running;
// - "Copy link" puts the current link in a toast and in the address bar;
// - a bad link names the parameter and the page opens in its default state.
// Screenshots: lesson-projector.png (a step with the mailbox words, projector theme),
// lesson-answer.png (a question with its answer revealed), lesson-capabilities.png.
import { openPlayground, waitFor } from "./lib.mjs";

const LESSONS = ["syscall", "messages", "capabilities", "faults"];
const LESSON_LIMIT_MS = 240_000;

const t = await openPlayground("lessons", { query: "?lesson=capabilities&step=2&theme=projector" });
const lesson = () => t.sv((s) => s.get_lesson_json());

await t.check("a share link opens its lesson at its step on the projector theme", async () => {
  const first = await waitFor("the linked lesson to start", async () => {
    const l = await lesson();
    return l.name === "capabilities" ? l : null;
  }, { timeoutMs: 120_000, intervalMs: 100 });
  if (first.step !== 2) throw new Error(`opened at step ${first.step}, not 2`);
  const layout = await t.layout();
  if (layout.ui.theme !== "projector") throw new Error(`theme ${layout.ui.theme}`);
  if (!/lesson=capabilities&step=2/.test(first.link)) throw new Error(`current link ${first.link}`);
  return `step ${first.step} of ${first.steps}: ${first.caption.slice(0, 60)}...; link ${first.link}`;
});

await t.check("the capability view draws the capabilities the kernel holds, labelled with rights", async () => {
  const view = await waitFor("capability edges", async () => {
    const v = await t.sv((s) => s.get_capability_view_json());
    return v.shown && v.edges.some((e) => e.rights === "R--") && v.edges.some((e) => e.rights === "-W-") ? v : null;
  }, { timeoutMs: 60_000 });
  const procs = await t.processes();
  const name = (pid) => procs.find((p) => p.pid === pid)?.name;
  const rogue = view.edges.find((e) => e.rights === "R--");
  if (name(rogue.holder) !== "rogue" || name(rogue.owner) !== "receiver") throw new Error(`R-- edge ${JSON.stringify(rogue)}`);
  await t.frames(3);
  await t.screenshot("lesson-capabilities.png");
  return view.edges.map((e) => `${name(e.holder)}->${name(e.owner)} ${e.rights}`).join(", ");
});

await t.check("load_lesson refuses an unknown name with the list of lessons", async () => {
  const error = await t.sv((s) => {
    try {
      s.load_lesson("no-such-lesson");
      return null;
    } catch (e) {
      return String(e.message ?? e);
    }
  });
  if (!error || !/unknown lesson/.test(error) || !/capabilities/.test(error)) throw new Error(`no clear error: ${error}`);
  return error;
});

let projectorShot = false;
let answerShot = false;
for (const name of LESSONS) {
  await t.check(`lesson ${name} plays to its end with waits met by the kernel`, async () => {
    await t.sv((s, name) => s.load_lesson(name), name);
    const started = Date.now();
    const seen = [];
    let brokenChecked = name !== "messages";
    const final = await waitFor(`lesson ${name} to end (${LESSON_LIMIT_MS / 1000} s)`, async () => {
      const l = await lesson();
      if (l.name !== name) return null;
      if (seen.at(-1) !== l.step) seen.push(l.step);
      if (!projectorShot && name === "syscall" && l.step === 2) {
        projectorShot = true;
        await t.screenshot("lesson-projector.png");
      }
      if (!answerShot && l.question) {
        if (!l.question.answer_revealed) {
          await t.sv((s) => s.lesson_reveal_answer());
        } else {
          answerShot = true;
          await t.frames(2);
          await t.screenshot("lesson-answer.png");
        }
      }
      if (!brokenChecked) {
        // A broken lesson file while this one runs: its error, and this lesson goes on.
        brokenChecked = true;
        await t.sv((s) => s.load_lesson("broken"));
        const e = await waitFor("the broken lesson's error", async () => (await lesson()).error, { timeoutMs: 30_000 });
        if (!/lessons\/broken\.ron: line 6, column \d+/.test(e)) throw new Error(`no line and column: ${e}`);
        const after = await lesson();
        if (after.name !== name) throw new Error(`the running lesson was replaced by ${after.name}`);
        console.log(`  note  broken lesson: ${e}`);
        await t.screenshot("lesson-broken.png");
      }
      return l.done ? l : null;
    }, { timeoutMs: LESSON_LIMIT_MS, intervalMs: 150 }).catch(async (e) => {
      // Say where it stopped: the step, its wait, and what the processes it names printed.
      const l = await lesson();
      const procs = await t.processes();
      const consoles = [];
      for (const p of procs.filter((p) => !p.protected).slice(-4)) {
        const c = await t.sv((s, pid) => s.get_console_json(pid), p.pid);
        consoles.push(`${p.name} (${p.pid}, ${p.state}): ${JSON.stringify(c.text.slice(-200))}`);
      }
      const m = await t.sv((s) => s.get_system_metrics_json());
      await t.screenshot(`lesson-${name}-stuck.png`);
      throw new Error(`${e.message}; step ${l.step}, waiting for ${l.waiting_for}; ${consoles.join("; ")}; kernel events dropped ${m.events_dropped}`);
    });
    // Polled every 150 ms while each met step stays 2.5 s: the steps come in order, from the
    // first to the last (a step may be missed only while the broken file is being checked).
    const increasing = seen.every((s, i) => i === 0 || s > seen[i - 1]);
    if (seen[0] !== 1 || seen.at(-1) !== final.steps || !increasing) throw new Error(`steps seen ${seen.join(",")} of ${final.steps}`);
    const dropped = (await t.sv((s) => s.get_system_metrics_json())).events_dropped;
    return `steps ${seen.join(",")} of ${final.steps} in ${((Date.now() - started) / 1000).toFixed(1)} s, each ended by the kernel (kernel events dropped since boot: ${dropped})`;
  });
}

await t.check("Previous rewinds the view to where that step began; Next returns to live", async () => {
  const l0 = await lesson();
  const live0 = await t.sv((s) => s.get_timeline_json());
  if (!live0.live) throw new Error(`not live before: ${JSON.stringify(live0)}`);
  await t.sv((s) => s.lesson_prev());
  const back = await waitFor("the view in the past", async () => {
    const tl = await t.sv((s) => s.get_timeline_json());
    return !tl.live ? tl : null;
  }, { timeoutMs: 20_000 });
  const l1 = await lesson();
  if (l1.step !== l0.step - 1) throw new Error(`step ${l0.step} -> ${l1.step}`);
  if (back.cursor >= live0.inputs) throw new Error(`cursor ${back.cursor} is not before ${live0.inputs}`);
  await t.sv((s) => s.lesson_next());
  await waitFor("live again", async () => (await t.sv((s) => s.get_timeline_json())).live, { timeoutMs: 20_000 });
  return `step ${l0.step} -> ${l1.step}: cursor ${back.cursor} of ${back.inputs}; Next: live`;
});

await t.check("a question's answer was revealed and photographed", async () => {
  if (!answerShot) throw new Error("no question step was seen");
});

await t.check("Copy link shows the link in a toast and puts it in the address bar", async () => {
  // The toolbar's picker changes width with the lesson's name, so the button may move between
  // reading its place and the click: read it again and retry.
  let toast;
  for (let attempt = 0; attempt < 3 && !toast; attempt++) {
    const c = (await lesson()).controls.copy_link;
    if (!c) throw new Error("no copy_link control");
    await t.page.mouse.move(c.x + c.width / 2, c.y + c.height / 2);
    await t.frames(2);
    if (attempt === 0) await t.screenshot("lesson-copy-link.png");
    await t.page.mouse.click(c.x + c.width / 2, c.y + c.height / 2);
    toast = await waitFor("the link toast", async () => (await t.layout()).ui.toasts.find((x) => x.startsWith("Link copied:")), { timeoutMs: 10_000 }).catch(() => null);
  }
  if (!toast) throw new Error("no \"Link copied\" toast after three clicks on Copy link");
  const search = await t.page.evaluate(() => location.search);
  if (!search.includes("lesson=faults")) throw new Error(`address bar query ${search}`);
  return `${toast}; address bar ${search}`;
});

// A bad link, in the same page: the notice names the parameter, the page opens in its default state.
await t.check("a bad link names its parameter and the page opens in its default state", async () => {
  await t.page.goto(new URL("?lesson=syscall&step=zero", t.page.url()).href, { waitUntil: "load" });
  await waitFor("the app to run again", () => t.page.evaluate(() => window.orbital?.state === "running"), { timeoutMs: 120_000 });
  const toast = await waitFor("the link notice", async () => (await t.layout()).ui.toasts.find((x) => x.includes("`step`")), { timeoutMs: 60_000 });
  await t.waitForStartupScenario();
  const l = await lesson();
  if (l.name !== null) throw new Error(`a lesson opened: ${l.name}`);
  return toast;
});

await t.finish();
