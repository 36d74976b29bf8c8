// Where a frame's GPU work goes, per shader program: a probe for working on the drawing figures
// (docs/BENCHMARKS.md, "Where the frame goes"). Not part of `cargo xtask bench`'s table.
//
//   cargo xtask serve --no-build --port 8011 &
//   cd xtask/e2e && ORBITAL_URL=http://127.0.0.1:8011/ SCENARIO=crowd PAUSE=1 node bench/draws.mjs
//
// SCENARIO: default (as loaded), crowd, or empty (every user process killed). PAUSE=1 pauses the
// guests first (Space). Prints frames/s and, per program, draw calls and instances per frame.
// SKIP=egui (or mesh2d, fullscreen; gizmo on sites before the graph's lines became one mesh,
// src/graph/lines.rs): alternating 3 s windows that draw normally and that
// drop that program's draws, and the median of the paired frame-rate ratios: what it costs.
// SKIP=mesh2d:tris draws half of each instance's triangles instead, SKIP=mesh2d:inst half of the
// instances: whether a program's cost follows its triangles or its instances. SKIP=mesh2d:0 drops
// only the first mesh2d draw of each frame (mesh2d:1 the second, ...): what one draw costs.
// TRACE=file.json: a Chromium trace of the window, and the GPU process's busiest events.
// SHOT=file.png: a screenshot of the page after the window. Also printed: the bytes handed to
// WebGL per frame (bufferData/bufferSubData, tex[Sub]Image).
import { writeFileSync } from "node:fs";
import { launch, URL, prepareDrawingPage } from "../lib.mjs";

const SCENARIO = process.env.SCENARIO ?? "default";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
const page = await context.newPage();
await page.addInitScript(() => {
  const gl = globalThis.WebGL2RenderingContext?.prototype;
  if (!gl) return;
  // Names a program by what its shaders contain (naga keeps the WGSL names in the GLSL).
  const kind = (src) =>
    /linear_from_gamma_rgb/.test(src) ? "egui"
    : /LineGizmoUniform|line_gizmo/i.test(src) ? "gizmo"
    : /Mesh2d/.test(src) ? "mesh2d"
    : /FullscreenVertexOutput/.test(src) ? "fullscreen"
    : /linear_to_srgb/.test(src) ? "present"
    : null;
  const P = (window.__draws = { frames: 0, perProgram: {}, skip: null });
  const shaderSource = gl.shaderSource;
  gl.shaderSource = function (shader, src) {
    shader.__kind = kind(src);
    return shaderSource.call(this, shader, src);
  };
  const attachShader = gl.attachShader;
  gl.attachShader = function (program, shader) {
    program.__kind = program.__kind ?? shader.__kind;
    return attachShader.call(this, program, shader);
  };
  const useProgram = gl.useProgram;
  gl.useProgram = function (program) {
    P.current = program?.__kind ?? "other";
    return useProgram.call(this, program);
  };
  const instancesOf = { drawArraysInstanced: (a) => a[3], drawElementsInstanced: (a) => a[4] };
  for (const name of ["drawElements", "drawArrays", "drawElementsInstanced", "drawArraysInstanced", "drawRangeElements"]) {
    const original = gl[name];
    gl[name] = function (...args) {
      const k = P.current ?? "other";
      const c = (P.perProgram[k] ??= { draws: 0, instances: 0 });
      c.draws++;
      c.instances += instancesOf[name]?.(args) ?? 1;
      if (P.skip === k) return undefined;
      // "KIND:N" drops only that program's N-th draw of each frame (0 first): what one draw costs.
      const nth = (P.nthInFrame[k] = (P.nthInFrame[k] ?? -1) + 1);
      if (P.skip === `${k}:${nth}`) return undefined;
      // "KIND:tris" draws half of each instance's triangles, "KIND:inst" half of the instances:
      // which of the two a program's cost follows.
      if (P.skip === `${k}:tris` && name === "drawElementsInstanced") {
        args[1] = Math.max(3, Math.floor(args[1] / 6) * 3);
      } else if (P.skip === `${k}:inst` && name === "drawElementsInstanced") {
        args[4] = Math.ceil(args[4] / 2);
      }
      return original.apply(this, args);
    };
  }
  // Bytes handed to the GPU (buffers and textures), over all programs.
  P.uploads = { buffer: 0, bufferCalls: 0, texture: 0, textureCalls: 0 };
  const sizeOf = (data) => (typeof data === "number" ? data : data?.byteLength ?? 0);
  for (const name of ["bufferData", "bufferSubData"]) {
    const original = gl[name];
    gl[name] = function (...args) {
      P.uploads.bufferCalls++;
      P.uploads.buffer += name === "bufferData" ? sizeOf(args[1]) : args[4] ?? sizeOf(args[2]);
      return original.apply(this, args);
    };
  }
  for (const name of ["texImage2D", "texSubImage2D", "texImage3D", "texSubImage3D"]) {
    const original = gl[name];
    gl[name] = function (...args) {
      P.uploads.textureCalls++;
      // texImage2D's short form (…, format, type, source) names no size: counted as a call only.
      const [w, h] = name === "texSubImage2D" ? [args[4], args[5]] : name === "texImage2D" ? (args.length >= 8 ? [args[3], args[4]] : []) : [args[5], args[6]];
      if (typeof w === "number" && typeof h === "number") P.uploads.texture += w * h * 4;
      return original.apply(this, args);
    };
  }
  P.nthInFrame = {};
  const tick = () => {
    P.frames++;
    P.nthInFrame = {};
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});
await page.goto(URL);
await prepareDrawingPage(page, { scenario: SCENARIO, pause: process.env.PAUSE === "1" });
const snap = () => page.evaluate(() => ({ frames: window.__draws.frames, per: structuredClone(window.__draws.perProgram), uploads: { ...window.__draws.uploads }, at: performance.now() }));
const window_ = async (ms) => {
  const a = await snap();
  await sleep(ms);
  const b = await snap();
  const frames = b.frames - a.frames;
  const per = {};
  for (const [k, v] of Object.entries(b.per)) {
    const before = a.per[k] ?? { draws: 0, instances: 0 };
    per[k] = { draws: +((v.draws - before.draws) / frames).toFixed(1), instances: +((v.instances - before.instances) / frames).toFixed(1) };
  }
  const uploads = Object.fromEntries(Object.keys(b.uploads).map((k) => [k, +((b.uploads[k] - a.uploads[k]) / frames).toFixed(k.endsWith("Calls") ? 1 : 0)]));
  return { fps: (frames * 1000) / (b.at - a.at), per, uploads };
};

if (process.env.TRACE) {
  await browser.startTracing(page, { categories: ["toplevel", "gpu", "viz", "disabled-by-default-gpu.service", "gpu.angle"] });
}
const w = await window_(5000);
console.log(`${SCENARIO}${process.env.PAUSE === "1" ? " paused" : ""}: ${w.fps.toFixed(2)} frames/s; per frame:`);
console.log(`  uploads per frame: buffers ${w.uploads.buffer} B in ${w.uploads.bufferCalls} calls, textures ${w.uploads.texture} B in ${w.uploads.textureCalls} calls`);
for (const [k, v] of Object.entries(w.per)) console.log(`  ${k.padEnd(10)} ${String(v.draws).padStart(6)} draws ${String(v.instances).padStart(8)} instances`);
if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
if (process.env.TRACE) {
  const trace = JSON.parse(String(await browser.stopTracing()));
  writeFileSync(process.env.TRACE, JSON.stringify(trace));
  const events = trace.traceEvents ?? trace;
  const threads = new Map();
  for (const e of events) if (e.ph === "M" && e.name === "thread_name") threads.set(`${e.pid}/${e.tid}`, e.args.name);
  const busy = {};
  for (const e of events) {
    if (e.ph !== "X" || threads.get(`${e.pid}/${e.tid}`) !== "CrGpuMain") continue;
    busy[e.name] = (busy[e.name] ?? 0) + e.dur / 1000;
  }
  console.log("GPU main thread, inclusive ms in the window (nested events overlap):");
  for (const [name, ms] of Object.entries(busy).sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
}
if (process.env.SKIP) {
  const on = [];
  const off = [];
  for (let i = 0; i < 6; i++) {
    for (const skip of i % 2 ? [true, false] : [false, true]) {
      await page.evaluate((k) => (window.__draws.skip = k), skip ? process.env.SKIP : null);
      await sleep(700);
      (skip ? off : on).push((await window_(3000)).fps);
    }
  }
  await page.evaluate(() => (window.__draws.skip = null));
  const median = (x) => [...x].sort((a, b) => a - b)[x.length >> 1];
  const ratios = on.map((v, i) => v / off[i]);
  console.log(`${process.env.SKIP}'s draws: ${median(on).toFixed(2)} frames/s drawn, ${median(off).toFixed(2)} dropped; paired drawn/dropped median ${median(ratios).toFixed(3)} (${ratios.map((r) => r.toFixed(2)).join(" ")})`);
}
await browser.close();
