// What a full-screen pass costs on this renderer: paired page loads of one site, A as served and B
// with one fragment shader replaced before it compiles (colours come out wrong in B: a cost probe,
// not part of `cargo xtask bench`'s table; docs/BENCHMARKS.md, 2026-12-04).
//
//   cargo xtask serve --no-build --port 8011 &
//   cd xtask/e2e && ORBITAL_URL=http://127.0.0.1:8011/ SUB=present-nopow MODE=empty N=4 node bench/shadersub.mjs
//
// SUB: present-nopow (wgpu's WebGL present without its sRGB pow), present-const (the present
// writes one colour), fullscreen-const (Bevy's upscaling pass writes one colour instead of
// sampling), fullscreen-fetch (it reads with texelFetch), both-const. MODE as in pairfps.mjs.
import { launch, prepareDrawingPage } from "../lib.mjs";
const URL_ = process.env.ORBITAL_URL, MODE = process.env.MODE ?? "empty", N = +(process.env.N ?? 4), SUB = process.env.SUB;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const browser = await launch();
async function measure(sub) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.addInitScript((sub) => {
    window.__f = 0; const t = () => { window.__f++; requestAnimationFrame(t); }; requestAnimationFrame(t);
    if (!sub) return;
    const gl = WebGL2RenderingContext.prototype;
    const ss = gl.shaderSource;
    const CONST = "#version 300 es\nprecision highp float;\nout vec4 o;\nvoid main(){o=vec4(0.1,0.12,0.15,1.0);}\n";
    gl.shaderSource = function (sh, src) {
      const frag = this.getShaderParameter(sh, this.SHADER_TYPE) === this.FRAGMENT_SHADER;
      if (frag && /present_texture/.test(src)) {
        if (sub === "present-nopow") src = src.replace(/frag = linear_to_srgb\(texture\(present_texture, uv\)\);/, "frag = texture(present_texture, uv);");
        if (sub === "present-const" || sub === "both-const") src = CONST;
        window.__subbed = (window.__subbed ?? 0) + 1;
      } else if (frag && /texture\(_group_0_binding_0_fs, vec2\(in_\.uv\)\)/.test(src)) {
        if (sub === "fullscreen-const" || sub === "both-const") { src = src.replace(/texture\(_group_0_binding_0_fs, vec2\(in_\.uv\)\)/, "vec4(0.1,0.12,0.15,1.0)"); window.__subbed = (window.__subbed ?? 0) + 1; }
        if (sub === "fullscreen-fetch") { src = src.replace(/texture\(_group_0_binding_0_fs, vec2\(in_\.uv\)\)/, "texelFetch(_group_0_binding_0_fs, ivec2(gl_FragCoord.xy), 0)"); window.__subbed = (window.__subbed ?? 0) + 1; }
      }
      return ss.call(this, sh, src);
    };
  }, sub);
  await page.goto(URL_);
  await prepareDrawingPage(page, { scenario: MODE, pause: process.env.PAUSE === "1" });
  const a = await page.evaluate(() => [window.__f, performance.now()]);
  await sleep(5000);
  const b = await page.evaluate(() => [window.__f, performance.now(), window.__subbed ?? 0]);
  if (process.env.SHOT) await page.screenshot({ path: `${process.env.SHOT}-${sub ? "B" : "A"}.png` });
  await context.close();
  return [((b[0] - a[0]) * 1000) / (b[1] - a[1]), b[2]];
}
const ratios = [];
for (let i = 0; i < N; i++) {
  const order = i % 2 ? [SUB, null] : [null, SUB];
  const r = {};
  for (const s of order) r[s ?? "A"] = await measure(s);
  ratios.push(r[SUB][0] / r.A[0]);
  console.log(`pair ${i + 1}: A ${r.A[0].toFixed(2)}  B ${r[SUB][0].toFixed(2)} (subbed ${r[SUB][1]})  B/A ${(r[SUB][0] / r.A[0]).toFixed(3)}`);
}
const med = (x) => { const s = [...x].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(`${SUB} ${MODE}: paired B/A median ${med(ratios).toFixed(3)}`);
await browser.close();
