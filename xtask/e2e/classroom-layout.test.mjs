// The classroom layout (projector theme) at the two projector sizes, 1024x768 and 1280x800: the
// canvas takes most of the screen, no control is cut off at the window's edge, the terminal shows
// all of `ps`; the crowd (64 processes) is drawn with no overlapping nodes and names where there is
// room, on both themes; the standard theme at 1024x768 cuts nothing off either; "Save picture"
// downloads a PNG of the canvas that decodes and is not blank. Screenshots: classroom-1024.png,
// classroom-1280.png, crowd-projector.png, crowd-standard.png, standard-1024.png.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, openPlayground, waitFor } from "./lib.mjs";

const t = await openPlayground("classroom-layout", { width: 1280, height: 800 });
const page = t.page;

/** Pairs of node discs that overlap, as "a/b". */
function overlaps(l) {
  const out = [];
  for (let i = 0; i < l.nodes.length; i++) {
    for (let j = i + 1; j < l.nodes.length; j++) {
      const [a, b] = [l.nodes[i], l.nodes[j]];
      if (Math.hypot(a.x - b.x, a.y - b.y) < a.radius + b.radius) out.push(`${a.pid}/${b.pid}`);
    }
  }
  return out;
}

/** Controls whose rectangle reaches past the window (cut off). */
function clipped(l, width, height) {
  return l.ui.controls
    .filter((c) => !c.name.startsWith("scenario:"))
    .filter((c) => c.rect.x < -0.5 || c.rect.y < -0.5 || c.rect.x + c.rect.width > width + 0.5 || c.rect.y + c.rect.height > height + 0.5)
    .map((c) => `${c.name} ${JSON.stringify(c.rect)}`);
}

await t.waitForStartupScenario();
/** Clicks the Classroom button until the theme is `theme` (the button moves as the figures
 * before it in the top bar change width, so a click may land beside it). */
async function switchTheme(theme) {
  for (let attempt = 0; attempt < 4; attempt++) {
    const l = await t.layout();
    // A click beside the moving button may have opened the sequence chart: close it again.
    if (l.ui.controls.some((c) => c.name === "sequence_chart")) await t.clickControl("sequence_chart_toggle");
    if (l.ui.theme === theme) return;
    await t.clickControl("classroom");
    try {
      await waitFor(`the ${theme} theme`, async () => (await t.layout()).ui.theme === theme, { timeoutMs: 10_000 });
      if ((await t.layout()).ui.controls.some((c) => c.name === "sequence_chart")) continue; // closed above
      return;
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
}

await t.check("the Classroom button switches to the projector theme", () => switchTheme("projector"));

const processes = (await t.processes()).filter((p) => p.state !== "zombie").length;
await t.sv((s) => s.send_input("ps"));
for (const [width, height] of [[1024, 768], [1280, 800]]) {
  await t.check(`at ${width}x${height} the canvas takes most of the screen, nothing is cut off, ps fits`, async () => {
    await page.setViewportSize({ width, height });
    const l = await waitFor(`the layout at ${width}x${height}`, async () => {
      const l = await t.layout();
      return Math.abs(l.canvas.width - width) < 2 && l.ui.terminal_rows > 0 && l;
    }, { timeoutMs: 30_000 });
    await t.frames(3);
    const share = (l.canvas.width * l.canvas.height) / (width * height);
    if (share < 0.5) throw new Error(`the canvas is ${(share * 100).toFixed(1)} % of the window: ${JSON.stringify(l.canvas)}`);
    const cut = clipped(await t.layout(), width, height);
    if (cut.length) throw new Error(`cut off at the window's edge: ${cut.join("; ")}`);
    for (const name of ["tab:terminal", "tab:traffic", "tab:capabilities", "tab:endpoints", "classroom", "save_picture", "toggle:processes", "toggle:inspector"]) {
      if (!l.ui.controls.some((c) => c.name === name)) throw new Error(`control ${name} is not drawn`);
    }
    // ps: a header and a line per process, plus the command line and the prompt.
    const needed = processes + 3;
    if (l.ui.terminal_rows < needed) throw new Error(`the terminal shows ${l.ui.terminal_rows} rows, ps needs ${needed}`);
    await t.screenshot(`classroom-${width}.png`);
    return `canvas ${(share * 100).toFixed(1)} % (${Math.round(l.canvas.width)}x${Math.round(l.canvas.height)}), terminal ${l.ui.terminal_rows} rows for ${needed}`;
  });
}

await t.check("in classroom mode the inspector opens as a drawer over the canvas when a process is selected", async () => {
  const l = await t.layout();
  const init = l.nodes.find((n) => n.pid === 1);
  await page.mouse.move(init.x, init.y);
  await t.frames(2);
  await page.mouse.click(init.x, init.y);
  const after = await waitFor("the drawer", async () => {
    const l = await t.layout();
    return l.ui.inspector_pid === 1 && l.ui.controls.find((c) => c.name === "inspector_drawer") && l;
  }, { timeoutMs: 20_000 });
  const drawer = after.ui.controls.find((c) => c.name === "inspector_drawer").rect;
  const share = (after.canvas.width * after.canvas.height) / (1280 * 800);
  if (share < 0.5) throw new Error(`with the drawer open the canvas is ${(share * 100).toFixed(1)} %`);
  await t.screenshot("classroom-drawer.png");
  await page.keyboard.press("Escape");
  return `drawer ${Math.round(drawer.width)}x${Math.round(drawer.height)} at x ${Math.round(drawer.x)}; canvas still ${(share * 100).toFixed(1)} %`;
});

await t.loadScenario("crowd");
for (const theme of ["projector", "standard"]) {
  await t.check(`the crowd on the ${theme} theme: 64 nodes, none overlapping, visible, named where there is room`, async () => {
    await switchTheme(theme);
    // The crowd spawns over several frames and the camera eases to fit it: wait (a few frames a
    // second here) until it has settled into the state asked for, or report the last one seen.
    let last = "";
    let overlapSeen = "";
    let l;
    try {
      l = await waitFor("the crowd to settle: no overlaps, nodes visible, some named", async () => {
        const l = await t.layout();
        if (l.nodes.length < 64) return (last = `${l.nodes.length} nodes`), null;
        const bad = overlaps(l);
        if (bad.length && !overlapSeen) overlapSeen = `frame ${l.frame}: ${bad.slice(0, 5).join(", ")}`;
        const smallest = Math.min(...l.nodes.map((n) => n.radius));
        const named = l.nodes.filter((n) => n.named).length;
        last = `${bad.length} overlapping pairs (${bad.slice(0, 5).join(", ")}), smallest radius ${smallest.toFixed(1)} px, ${named} named`;
        // Names: which fit is the plan's (unit-tested in graph::labels); here, some do on screen.
        return smallest >= 5 && named >= 2 && l;
      }, { timeoutMs: 60_000, intervalMs: 500 });
    } catch {
      await t.screenshot(`crowd-${theme}.png`);
      throw new Error(`after 60 s: ${last}`);
    }
    // Never overlapping, in any layout seen while it settled.
    if (overlapSeen) throw new Error(`overlapping nodes at ${overlapSeen}`);
    const smallest = Math.min(...l.nodes.map((n) => n.radius));
    const named = l.nodes.filter((n) => n.named).length;
    await t.screenshot(`crowd-${theme}.png`);
    return `${l.nodes.length} nodes, no overlaps, smallest radius ${smallest.toFixed(1)} px, ${named} named`;
  });
}

await t.check("on the standard theme at 1024x768 nothing is cut off either (the pickers take new rows)", async () => {
  await page.setViewportSize({ width: 1024, height: 768 });
  await waitFor("the layout at 1024x768", async () => {
    const c = (await t.layout()).canvas;
    return c.x + c.width <= 1024.5;
  }, { timeoutMs: 30_000 });
  // The panels settle over a few frames after the resize: wait until nothing is cut off, or say
  // what still was.
  let cut = [];
  const l = await waitFor("no control cut off at 1024x768", async () => {
    const l = await t.layout();
    cut = clipped(l, 1024, 768);
    return cut.length === 0 && l;
  }, { timeoutMs: 10_000, intervalMs: 250 }).catch(() => {
    throw new Error(`cut off at the window's edge: ${cut.join("; ")}`);
  });
  for (const name of ["scenario_picker", "quality_picker", "classroom", "save_picture"]) {
    if (!l.ui.controls.some((c) => c.name === name)) throw new Error(`control ${name} is not drawn`);
  }
  await t.screenshot("standard-1024.png");
  await page.setViewportSize({ width: 1280, height: 800 });
  await t.frames(3);
  return `${l.ui.controls.length} controls inside the window`;
});

await t.check("the top bar's buttons stay put while its figures count", async () => {
  // A button that moves as the uptime, IPC/s and syscalls/s before it change width is missed by
  // a teacher's pointer (and by these tests' clicks): every figure has a slot of fixed width.
  const names = ["pause", "step", "scenario_picker", "sequence_chart_toggle", "classroom", "toggle:inspector", "save_picture"];
  const first = new Map();
  let moved = [];
  let samples = 0;
  for (const end = Date.now() + 6_000; Date.now() < end; samples++) {
    const l = await t.layout();
    for (const c of l.ui.controls.filter((c) => names.includes(c.name))) {
      const seen = first.get(c.name);
      if (!seen) first.set(c.name, c.rect);
      else if (Math.abs(seen.x - c.rect.x) > 0.5 || Math.abs(seen.y - c.rect.y) > 0.5) moved.push(`${c.name} ${seen.x.toFixed(1)} -> ${c.rect.x.toFixed(1)}`);
    }
    await t.frames(2);
  }
  const missing = names.filter((n) => !first.has(n));
  if (missing.length) throw new Error(`controls not found: ${missing.join(", ")}`);
  if (moved.length) throw new Error(`moved: ${[...new Set(moved)].slice(0, 6).join("; ")}`);
  const m = await t.sv((s) => s.get_system_metrics_json());
  return `${names.length} controls still over ${samples} samples in 6 s (uptime ${(m.uptime_ns / 1e9).toFixed(1)} s)`;
});

await t.check("Save picture downloads a PNG of the canvas that decodes and is not blank", async () => {
  // The picture is compared with the canvas as it is once the download has come (a click that
  // missed the button could have toggled a panel beside it and resized the canvas).
  const file = await t.downloadFrom("save_picture");
  const l = await t.layout();
  const name = file.suggestedFilename();
  if (!/^orbital-crowd-\d+\.png$/.test(name)) throw new Error(`unexpected file name ${name}`);
  const path = join(ARTIFACTS, name);
  await file.saveAs(path);
  const bytes = readFileSync(path);
  const signature = bytes.subarray(0, 8).toString("hex");
  if (signature !== "89504e470d0a1a0a") throw new Error(`not a PNG: starts with ${signature}`);
  // Decode it in the page and count its colours.
  const image = await page.evaluate(async (b64) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([data], { type: "image/png" }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    const px = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const colours = new Set();
    for (let i = 0; i < px.length; i += 4 * 7) colours.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    return { width: bitmap.width, height: bitmap.height, colours: colours.size };
  }, bytes.toString("base64"));
  if (Math.abs(image.width - l.canvas.width) > 2 || Math.abs(image.height - l.canvas.height) > 2) {
    throw new Error(`the picture is ${image.width}x${image.height}, the canvas ${Math.round(l.canvas.width)}x${Math.round(l.canvas.height)}`);
  }
  if (image.colours < 16) throw new Error(`the picture has ${image.colours} colours: blank`);
  const toast = await waitFor("the saved toast", async () => (await t.layout()).ui.toasts.find((m) => m.includes(name)), { timeoutMs: 20_000 });
  return `${name}: ${bytes.length} bytes, ${image.width}x${image.height}, ${image.colours} colours; "${toast}"`;
});

await t.finish();
