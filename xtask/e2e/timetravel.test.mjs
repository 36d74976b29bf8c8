// Time travel, end to end in headless Chromium:
// - spawn a pingpong pair, let it run, pause; seek back before its spawn: the process list (JSON) and
//   the nodes on screen (the canvas layout) no longer show it, and the banner says we are in the past;
// - step forward one input at a time across the spawn: it appears exactly one input after;
// - `,` steps back, Esc returns to live; the banner goes;
// - the sequence chart opens, a click on an arrow selects the message and moves the cursor;
// - export the recording, reload the page, drop a truncated copy on the canvas (refused, still live),
//   drop the whole file (replay only), seek to the end: same hash; the same through the API;
//   a bad file is refused with a clear error and the live system keeps running;
// - the exported Chrome trace's flow events pair up (every "f" has an "s" with the same id).
// - "Save SVG" downloads the chart as an SVG that parses and draws (timetravel-chart.svg).
// Screenshots: timetravel-past.png (timeline, banner), timetravel-chart.png in $ORBITAL_ARTIFACTS.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, openPlayground, waitFor } from "./lib.mjs";

let t = await openPlayground("timetravel");
let { page } = t;
const timeline = () => t.sv((s) => s.get_timeline_json());
const processes = () => t.processes();
const nodes = async () => (await t.layout()).nodes;
const control = async (name) => (await t.layout()).ui.controls.find((c) => c.name === name);

await t.waitForStartupScenario();
let ours;
await t.check("spawn pingpong, let it run, pause", async () => {
  const before = new Set((await processes()).map((p) => p.pid));
  // Pingpong processes pair up: the second one spawned answers the first.
  await t.sv((s) => s.send_input("spawn pingpong"));
  ours = await waitFor("a new pingpong", async () => (await processes()).find((p) => p.name === "pingpong" && !before.has(p.pid)), { timeoutMs: 30_000 });
  await t.sv((s) => s.send_input("spawn pingpong"));
  await waitFor("pingpong to exchange messages", async () => ((await processes()).find((p) => p.pid === ours.pid)?.metrics.ipc_received ?? 0) > 50, { timeoutMs: 30_000 });
  // Pause sits after the top bar's live figures, whose widths change as they count: a click
  // aimed where the button was a frame ago can miss (once in CI-like runs). Click again then,
  // as a person would, at most four times.
  const paused = async () => /paus/i.test((await t.sv((s) => s.get_system_metrics_json())).time_control);
  for (let attempt = 0; !(await paused()); attempt++) {
    if (attempt === 4) throw new Error("four clicks on Pause did not pause");
    await t.clickControl("pause");
    await waitFor("paused", paused, { timeoutMs: 5_000 }).catch(() => null);
  }
  const tl = await timeline();
  if (!tl.live || tl.inputs < 100) throw new Error(`expected a live timeline with inputs, got ${JSON.stringify(tl)}`);
  return `pingpong pid ${ours.pid}; ${tl.inputs} inputs recorded, ${tl.snapshots} snapshots`;
});

let spawnIndex;
await t.check("seek before the spawn: the list and the screen no longer show that pingpong", async () => {
  const markers = await t.sv((s) => s.get_markers_json());
  const spawn = markers.find((m) => m.kind === "spawn" && m.pid === ours.pid);
  if (!spawn) throw new Error(`no spawn marker for pid ${ours.pid} among ${markers.length}`);
  spawnIndex = spawn.index;
  const cursor = await t.sv((s, k) => s.seek(k), spawnIndex);
  if (cursor !== spawnIndex) throw new Error(`seek returned ${cursor}`);
  const tl = await timeline();
  if (tl.live || tl.cursor !== spawnIndex) throw new Error(`timeline ${JSON.stringify(tl)}`);
  if ((await processes()).some((p) => p.pid === ours.pid)) throw new Error("the API still lists it");
  await waitFor("the node to leave the screen", async () => !(await nodes()).some((n) => n.pid === ours.pid), { timeoutMs: 30_000 });
  await waitFor("the banner", async () => await control("past_banner"), { timeoutMs: 30_000 });
  await t.frames(4);
  await t.screenshot("timetravel-past.png");
  return `cursor ${spawnIndex} of ${tl.inputs}`;
});

await t.check("step forward one input at a time across the spawn", async () => {
  const start = spawnIndex - 3;
  await t.sv((s, k) => s.seek(k), start);
  const seen = [];
  for (let k = start; k <= spawnIndex; k++) {
    const listed = (await processes()).some((p) => p.pid === ours.pid);
    seen.push(`${k}:${listed ? "yes" : "no"}`);
    if (listed !== (k > spawnIndex)) throw new Error(`at ${k} listed=${listed} (${seen.join(" ")})`);
    const cursor = await t.sv((s) => s.step_forward());
    if (cursor !== k + 1) throw new Error(`step_forward from ${k} returned ${cursor}`);
  }
  if (!(await processes()).some((p) => p.pid === ours.pid)) throw new Error(`not listed just after its spawn (${seen.join(" ")})`);
  await waitFor("the node on screen again", async () => (await nodes()).some((n) => n.pid === ours.pid), { timeoutMs: 30_000 });
  return seen.join(" ");
});

await t.check("`,` steps back and Esc returns to live; the banner goes", async () => {
  const before = (await timeline()).cursor;
  await page.mouse.move(640, 300);
  await page.keyboard.press(",");
  await waitFor("the cursor one back", async () => (await timeline()).cursor === before - 1, { timeoutMs: 20_000 });
  await page.keyboard.press("Escape");
  await waitFor("live again", async () => (await timeline()).live, { timeoutMs: 20_000 });
  await waitFor("the banner to go", async () => !(await control("past_banner")), { timeoutMs: 20_000 });
});

await t.check("the sequence chart opens; a click on an arrow selects the message and moves the cursor", async () => {
  await t.sv((s, k) => s.seek(k), spawnIndex + 400);
  const open = async () => await control("sequence_chart");
  for (let attempt = 0; !(await open()); attempt++) {
    if (attempt === 3) throw new Error("three clicks on Sequence chart did not open it");
    await t.clickControl("sequence_chart_toggle");
    await waitFor("the chart to open", open, { timeoutMs: 10_000 }).catch(() => null);
  }
  // The arrow shown nearest the middle of the chart's view; its place is read until it stays put
  // (the view sticks to the chart's end, so it moves on the frames after the chart opens).
  let last = null;
  let seen = [];
  const arrow = await waitFor("an arrow in the chart that stays put", async () => {
    const l = await t.layout();
    const a = l.ui.controls.find((c) => c.name === "chart:shown_message");
    const chart = l.ui.controls.find((c) => c.name === "sequence_chart");
    seen.push(`${l.frame}:${chart ? "open" : "closed"}:${a ? `${a.rect.x.toFixed(0)},${a.rect.y.toFixed(0)}` : "-"}`);
    const still = a && last && Math.abs(a.rect.x - last.rect.x) < 0.5 && Math.abs(a.rect.y - last.rect.y) < 0.5;
    last = a;
    if (!still) await t.frames(2);
    return still && a;
  }, { timeoutMs: 30_000 }).catch(async (e) => {
    throw new Error(`${e.message}; timeline ${JSON.stringify(await timeline())}; frame:chart:arrow ${seen.slice(-12).join(" ")}`);
  });
  await t.screenshot("timetravel-chart.png");
  const cursor0 = (await timeline()).cursor;
  const x = arrow.rect.x + arrow.rect.width / 2;
  const y = arrow.rect.y + arrow.rect.height / 2;
  await page.mouse.move(x, y);
  await t.frames(2);
  await page.mouse.click(x, y);
  const tl = await waitFor("the cursor to move", async () => {
    const tl = await timeline();
    return tl.cursor !== cursor0 ? tl : null;
  }, { timeoutMs: 8_000 }).catch(() => null);
  if (!tl) throw new Error(`a click on the arrow at ${x.toFixed(0)},${y.toFixed(0)} did not move the cursor from ${cursor0}`);
  return `cursor ${cursor0} -> ${tl.cursor}`;
});

await t.check("Save SVG downloads the chart as a picture that a browser renders", async () => {
  const file = await t.downloadFrom("chart:save_svg");
  const name = file.suggestedFilename();
  if (!/^orbital-sequence-chart-\d+s\.svg$/.test(name)) throw new Error(`unexpected file name ${name}`);
  const path = join(ARTIFACTS, "timetravel-chart.svg");
  await file.saveAs(path);
  const svg = readFileSync(path, "utf8");
  if (!svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")) throw new Error(`not an SVG: ${svg.slice(0, 80)}`);
  const lifelines = (svg.match(/class="lifeline"/g) || []).length;
  const messages = (svg.match(/<g class="message">/g) || []).length;
  if (!svg.includes("pingpong (")) throw new Error("no pingpong lifeline in the picture");
  if (messages < 1) throw new Error("no message arrows in the picture");
  // The browser parses it as XML and draws it at its declared size.
  const drawn = await page.evaluate(async (text) => {
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const error = doc.querySelector("parsererror");
    if (error) return { error: error.textContent };
    const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
    const img = new Image();
    img.src = url;
    await img.decode();
    return { width: img.naturalWidth, height: img.naturalHeight };
  }, svg);
  if (drawn.error) throw new Error(`the SVG does not parse: ${drawn.error}`);
  if (!(drawn.width > 300 && drawn.height > 50)) throw new Error(`drawn at ${drawn.width}x${drawn.height}`);
  await t.clickControl("sequence_chart_toggle");
  return `${name}: ${svg.length} bytes, ${lifelines} lifelines, ${messages} arrows, drawn ${drawn.width}x${drawn.height}`;
});

await t.check("a bad recording is refused clearly and the live system keeps running", async () => {
  await t.sv((s) => s.go_live());
  const error = await t.sv((s) => {
    try {
      s.import_recording(new TextEncoder().encode("hello, not a recording"));
      return null;
    } catch (e) {
      return String(e.message ?? e);
    }
  });
  if (!error || !/not an Orbital recording/.test(error)) throw new Error(`no clear error: ${error}`);
  const tl = await timeline();
  if (tl.replay_only) throw new Error("the live system was replaced");
  return error;
});

let exported;
await t.check("export the recording and the hash at its end", async () => {
  // One synchronous evaluation: nothing is serviced in between.
  exported = await page.evaluate(() => {
    const s = window.supervisor;
    const tl = JSON.parse(s.get_timeline_json());
    const bytes = s.export_recording();
    s.seek(tl.inputs);
    const hash = s.kernel_state_hash();
    s.go_live();
    let b64 = "";
    for (let i = 0; i < bytes.length; i += 0x8000) b64 += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return { b64: btoa(b64), inputs: tl.inputs, hash, size: bytes.length };
  });
  if (exported.size < 100) throw new Error(`only ${exported.size} bytes`);
  return `${exported.size} bytes, ${exported.inputs} inputs, hash ${exported.hash}`;
});

await t.check("the exported trace's flow events pair up", async () => {
  const r = await page.evaluate(() => {
    const trace = JSON.parse(window.supervisor.export_trace_json());
    const events = trace.traceEvents;
    const starts = new Set(events.filter((e) => e.ph === "s").map((e) => e.id));
    const finishes = events.filter((e) => e.ph === "f");
    const unpaired = finishes.filter((e) => !starts.has(e.id)).length;
    return { events: events.length, starts: starts.size, finishes: finishes.length, unpaired, tracks: events.filter((e) => e.ph === "M").length };
  });
  if (r.finishes === 0) throw new Error(`no flow events: ${JSON.stringify(r)}`);
  if (r.unpaired) throw new Error(`${r.unpaired} "f" events without an "s": ${JSON.stringify(r)}`);
  return JSON.stringify(r);
});

/** Drops a file on the canvas, as a person does: a real `drop` event whose DataTransfer holds it. */
async function dropOnCanvas(name, b64) {
  const transfer = await page.evaluateHandle(([name, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name));
    return transfer;
  }, [name, b64]);
  for (const type of ["dragenter", "dragover", "drop"]) await page.dispatchEvent("#orbital-canvas", type, { dataTransfer: transfer });
}

await t.check("reload; a truncated recording dropped on the canvas is refused and the live system keeps running", async () => {
  await page.reload({ waitUntil: "load" });
  await waitFor("the app to run again", () => page.evaluate(() => window.orbital?.state === "running" && typeof window.supervisor?.import_recording === "function"), { timeoutMs: 120_000 });
  const half = Buffer.from(exported.b64, "base64");
  await dropOnCanvas("class.orbitrec", half.subarray(0, Math.floor(half.length / 2)).toString("base64"));
  const toast = await waitFor("the refusal toast", async () => (await t.layout()).ui.toasts.find((x) => /recording/i.test(x) && /truncated|ends|short|cannot open/i.test(x)), { timeoutMs: 20_000 });
  const tl = await timeline();
  if (tl.replay_only) throw new Error("a truncated file replaced the live system");
  return toast;
});

await t.check("the whole recording dropped on the canvas: replay only, and at the end the same hash", async () => {
  await dropOnCanvas("class.orbitrec", exported.b64);
  await waitFor("replay only", async () => (await timeline()).replay_only, { timeoutMs: 30_000 });
  const r = await page.evaluate((inputs) => {
    const s = window.supervisor;
    s.seek(inputs);
    return { hash: s.kernel_state_hash(), tl: JSON.parse(s.get_timeline_json()), workers: JSON.parse(s.get_system_metrics_json()).live_guests };
  }, exported.inputs);
  if (r.hash !== exported.hash) throw new Error(`hash ${r.hash} != ${exported.hash}`);
  if (r.workers !== 0) throw new Error(`${r.workers} guests still run`);
  await waitFor("the imported processes on screen", async () => (await nodes()).some((n) => n.pid === ours.pid), { timeoutMs: 30_000 });
  await t.frames(3);
  await t.screenshot("timetravel-imported.png");
  return `hash ${r.hash} at input ${r.tl.cursor} of ${r.tl.inputs}`;
});

await t.check("import through the API after a reload gives the same hash too", async () => {
  await page.reload({ waitUntil: "load" });
  await waitFor("the app to run again", () => page.evaluate(() => window.orbital?.state === "running" && typeof window.supervisor?.import_recording === "function"), { timeoutMs: 120_000 });
  const r = await page.evaluate(({ b64, inputs }) => {
    const s = window.supervisor;
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    s.import_recording(bytes);
    s.seek(inputs);
    return { hash: s.kernel_state_hash(), tl: JSON.parse(s.get_timeline_json()) };
  }, exported);
  if (!r.tl.replay_only) throw new Error(`not replay only: ${JSON.stringify(r.tl)}`);
  if (r.hash !== exported.hash) throw new Error(`hash ${r.hash} != ${exported.hash}`);
  return `hash ${r.hash}`;
});

await t.finish();
