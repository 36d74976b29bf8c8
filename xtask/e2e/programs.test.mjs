// Students' own programs in the browser: C programs built with clang --target=wasm32-wasi (by
// `cargo xtask test`, into ORBITAL_WASI_DIR) dropped on the canvas with a real `drop` event,
// picked with "Load program…", loaded with window.supervisor.load_program; their console output
// (get_console_json), stdin, the clock, an unsupported WASI function, and every refusal, with the
// boot set alive throughout. Screenshots: program-drag-hint.png, program-dropped.png (hello, ended),
// program-running.png (upper, dropped, read what was typed while selected), program-refused.png.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, openPlayground, waitFor } from "./lib.mjs";

const WASI_DIR = process.env.ORBITAL_WASI_DIR ?? join(ARTIFACTS, "..", "guests", "wasi");
const wasmPath = (name) => join(WASI_DIR, `${name}.wasm`);
const wasm = (name) => readFileSync(wasmPath(name));

const t = await openPlayground("programs");
const { page } = t;

const console_ = (pid) => t.sv((s, pid) => s.get_console_json(pid), pid);
const byName = async (name) => (await t.processes()).filter((p) => p.name === name);
/** Waits until pid's console output contains `text`; returns the console document. */
const waitForOutput = (pid, text, timeoutMs = 60_000) =>
  waitFor(`pid ${pid} to print ${JSON.stringify(text)}`, async () => {
    const c = await console_(pid);
    return c.text.includes(text) && c;
  }, { timeoutMs, intervalMs: 200 }).catch(async (e) => {
    const p = (await t.processes()).find((p) => p.pid === pid);
    const m = await t.sv((s) => s.get_system_metrics_json());
    throw new Error(`${e.message}; its console: ${JSON.stringify((await console_(pid)).entries)}; process: ${JSON.stringify(p)}; events dropped ${m.events_dropped}, pending ${m.events_pending}`);
  });
/** Loads through window.supervisor; resolves to {pid} or {error}. */
const load = (name, bytes, args) =>
  t.sv((s, [name, b64, args]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    try {
      return { pid: s.load_program(name, bytes, args) };
    } catch (e) {
      return { error: String(e.message) };
    }
  }, [name, Buffer.from(bytes).toString("base64"), args]);
/** Drops a file on the canvas: a real `drop` event whose DataTransfer holds the File. */
async function drop(name, bytes) {
  const transfer = await page.evaluateHandle(([name, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], name, { type: "application/wasm" }));
    return transfer;
  }, [name, Buffer.from(bytes).toString("base64")]);
  await page.dispatchEvent("#orbital-canvas", "dragenter", { dataTransfer: transfer });
  await page.dispatchEvent("#orbital-canvas", "dragover", { dataTransfer: transfer });
  return transfer;
}
async function finishDrop(transfer) {
  await page.dispatchEvent("#orbital-canvas", "drop", { dataTransfer: transfer });
}
/** Clicks a process's node until it is selected. */
async function select(pid) {
  for (let attempt = 0; attempt < 5 && (await t.layout()).selected !== pid; attempt++) {
    const at = await waitFor(`the node of pid ${pid}`, async () => (await t.layout()).nodes.find((n) => n.pid === pid), { timeoutMs: 30_000 });
    await page.mouse.move(at.x, at.y);
    await t.frames(2);
    await page.mouse.down();
    await t.frames(1);
    await page.mouse.up();
    await t.frames(2);
  }
  if ((await t.layout()).selected !== pid) throw new Error(`could not select pid ${pid}`);
}

// Minimal modules for refusals, byte by byte (docs/ABI.md "Programs at run time").
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const TYPE_VOID = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00];
const ONE_FUNC = [0x03, 0x02, 0x01, 0x00];
const EMPTY_BODY = [0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b];
const str = (s) => [s.length, ...Buffer.from(s)];
const section = (id, bytes) => [id, ...leb(bytes.length), ...bytes];
function leb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const memoryOf = (pages) => section(5, [0x01, 0x00, ...leb(pages)]);
const exportsOf = (...entries) => section(7, [entries.length, ...entries.flat()]);
const exportMemory = [...str("memory"), 0x02, 0x00];
const exportStart = [...str("_start"), 0x00, 0x00];
const badImport = Buffer.from([...HEADER, ...TYPE_VOID, ...section(2, [0x01, ...str("env"), ...str("open_file"), 0x00, 0x00]),
  ...ONE_FUNC, ...memoryOf(1), ...exportsOf(exportMemory, [...str("_start"), 0x00, 0x01]), ...EMPTY_BODY]);
const hugeMemory = Buffer.from([...HEADER, ...TYPE_VOID, ...ONE_FUNC, ...memoryOf(2000), ...exportsOf(exportMemory, exportStart), ...EMPTY_BODY]);
const noStart = Buffer.from([...HEADER, ...TYPE_VOID, ...ONE_FUNC, ...memoryOf(1), ...exportsOf(exportMemory), ...EMPTY_BODY]);
const customSection = (name, text) => Buffer.from(section(0, [...str(name), ...Buffer.from(text)]));

let boot = [];
await t.check("the boot set runs", async () => {
  // The startup scenario replaces user processes once the boot settles: load after it.
  await t.waitForStartupScenario();
  boot = await waitFor("init, terminal and idle", async () => {
    const list = await t.processes();
    const names = ["init", "terminal", "idle"].map((n) => list.find((p) => p.name === n && p.state !== "zombie"));
    return names.every(Boolean) && names;
  }, { timeoutMs: 120_000 });
  return boot.map((p) => `${p.name} ${p.pid}`).join(", ");
});
const bootAlive = async () => {
  const list = await t.processes();
  const dead = boot.filter((b) => !list.some((p) => p.pid === b.pid && p.state !== "zombie"));
  if (dead.length) throw new Error(`boot processes gone: ${dead.map((p) => p.name).join(", ")}`);
};

let hello;
await t.check("a .wasm dropped on the canvas runs as a process and prints", async () => {
  const transfer = await drop("hello.wasm", wasm("hello"));
  await t.frames(2);
  const hint = await t.screenshot("program-drag-hint.png");
  await finishDrop(transfer);
  hello = await waitFor("a hello process", async () => (await byName("hello"))[0], { timeoutMs: 60_000 });
  const c = await waitForOutput(hello.pid, "hello from hello with 0 argument(s)");
  await waitFor("hello to exit with code 0", async () => {
    const p = (await t.processes()).find((p) => p.pid === hello.pid);
    return p?.state === "zombie" && p;
  }, { timeoutMs: 30_000 });
  return `pid ${hello.pid}: ${JSON.stringify(c.lines)} (drag hint: ${hint})`;
});

await t.check("the inspector shows the dropped program's console output", async () => {
  await select(hello.pid);
  await waitFor("the inspector on hello", async () => (await t.layout()).ui.inspector_pid === hello.pid, { timeoutMs: 20_000 });
  await t.frames(3);
  await t.screenshot("program-dropped.png");
});

await t.check("\"Load program…\" opens a file picker; the picked program runs (sleepy reads the clock)", async () => {
  let how = "file chooser";
  try {
    const [chooser] = await Promise.all([page.waitForEvent("filechooser", { timeout: 20_000 }), t.clickControl("load_program")]);
    await chooser.setFiles(wasmPath("sleepy"));
  } catch (e) {
    how = `setInputFiles (no file chooser: ${e.message})`;
    await page.setInputFiles("#orbital-program-file", wasmPath("sleepy"));
  }
  const sleepy = await waitFor("a sleepy process", async () => (await byName("sleepy"))[0], { timeoutMs: 60_000 });
  const c = await waitForOutput(sleepy.pid, "sleepy: slept");
  const ms = Number(/slept (\d+) ms/.exec(c.text)?.[1]);
  if (!(ms >= 50)) throw new Error(`slept ${ms} ms, expected at least 50: ${c.text}`);
  const p = await waitFor("sleepy to exit", async () => {
    const p = (await t.processes()).find((p) => p.pid === sleepy.pid);
    return p?.state === "zombie" && p;
  }, { timeoutMs: 30_000 });
  if (how !== "file chooser") throw new Error(`the button did not open a file chooser; ${how}`);
  return `${c.lines.join(" | ")}; exit ${JSON.stringify(p.exit ?? p.state)}`;
});

await t.check("load_program with arguments; spawn with arguments at the terminal", async () => {
  const r = await load("hello", wasm("hello"), ["a", "b c"]);
  if (r.error) throw new Error(r.error);
  await waitForOutput(r.pid, "argv[2] = b c");
  await t.sv((s) => s.send_input("spawn hello x y"));
  const spawned = await waitFor("a hello spawned at the terminal", async () => (await byName("hello")).find((p) => p.pid > r.pid), { timeoutMs: 30_000 });
  const c = await waitForOutput(spawned.pid, "argv[2] = y");
  return `pid ${r.pid} and ${spawned.pid}: ${c.lines.join(" | ")}`;
});

await t.check("upper reads the terminal's lines while selected, and the API's", async () => {
  await finishDrop(await drop("upper.wasm", wasm("upper")));
  const r = await waitFor("an upper process", async () => (await byName("upper"))[0], { timeoutMs: 60_000 });
  await select(r.pid);
  await t.clickControl("terminal_input");
  await page.keyboard.type("typed line");
  await page.keyboard.press("Enter");
  await waitForOutput(r.pid, "TYPED LINE");
  await page.keyboard.type("a second line");
  await t.frames(3);
  await t.screenshot("program-running.png");
  await page.keyboard.press("Enter");
  await waitForOutput(r.pid, "A SECOND LINE");
  await t.sv((s, pid) => s.send_input_to(pid, "from the api"), r.pid);
  await waitForOutput(r.pid, "FROM THE API");
  await t.sv((s, pid) => s.close_input_of(pid), r.pid);
  const c = await waitForOutput(r.pid, "upper: 3 line(s), end of input");
  return c.lines.join(" | ");
});

await t.check("unsupported: ENOSYS and a denied request naming the function", async () => {
  const r = await load("unsupported", wasm("unsupported"));
  if (r.error) throw new Error(r.error);
  const c = await waitForOutput(r.pid, "unsupported: still running");
  if (!/errno 52/.test(c.text)) throw new Error(`expected errno 52 (ENOSYS): ${c.text}`);
  const denied = await waitFor("a denied request naming fd_filestat_get", async () => {
    const node = (await t.layout()).nodes.find((n) => n.pid === r.pid);
    const p = (await t.processes()).find((p) => p.pid === r.pid);
    return node?.denied?.includes("fd_filestat_get") && p?.metrics?.host_refusals > 0 && { node, p };
  }, { timeoutMs: 20_000 });
  return `${c.lines.join(" | ")}; host_refusals ${denied.p.metrics.host_refusals}; denied: ${denied.node.denied}`;
});

await t.check("echo: an SDK server and client whose capabilities come from their orbital.manifest sections", async () => {
  const fetched = (name) => t.sv(async (s, name) => {
    const bytes = new Uint8Array(await (await fetch(`guests/${name}.wasm`)).arrayBuffer());
    let b = "";
    for (const x of bytes) b += String.fromCharCode(x);
    return btoa(b);
  }, name);
  const server = await load("echo_server", Buffer.from(await fetched("echo_server"), "base64"));
  if (server.error) throw new Error(server.error);
  const client = await load("echo_client", Buffer.from(await fetched("echo_client"), "base64"));
  if (client.error) throw new Error(client.error);
  const c = await waitForOutput(client.pid, 'answered "bye"');
  return c.lines.join(" | ");
});

const refusals = [
  ["not WebAssembly", "notes", Buffer.from("int main() { return 0; }\n"), /not a WebAssembly module/],
  ["too large", "big.wasm", Buffer.concat([Buffer.from(HEADER), Buffer.alloc(9 * 1024 * 1024)]), /limit is \d+ bytes/],
  ["an import no host provides", "opener.wasm", badImport, /env\.open_file/],
  ["memory above 64 MiB", "greedy.wasm", hugeMemory, /1024 pages|64 MiB/],
  ["no _start", "nostart.wasm", noStart, /_start/],
  ["the name of a built-in program", "idle.wasm", wasm("hello"), /built-in program is already called "idle"/],
  ["an orbital.manifest section that does not parse", "broken.wasm",
    Buffer.concat([wasm("hello"), customSection("orbital.manifest", '(provides: ["inbox"],\n  connects: [(service: ]\n)')]), /orbital\.manifest:2:\d+/],
];
for (const [what, name, bytes, pattern] of refusals) {
  await t.check(`refused with its message: ${what}`, async () => {
    const before = (await t.processes()).length;
    const r = await load(name, bytes);
    if (!r.error) throw new Error(`loaded as pid ${r.pid}`);
    if (!pattern.test(r.error)) throw new Error(`message ${JSON.stringify(r.error)} does not match ${pattern}`);
    const shown = await waitFor("the refusal as a toast", async () => (await t.layout()).ui.toasts.find((x) => pattern.test(x)), { timeoutMs: 20_000 });
    if ((await t.processes()).length !== before) throw new Error("the process table changed");
    return r.error.length > 120 ? `${r.error.slice(0, 120)}…` : r.error;
  });
}

await t.check("a refused drop shows its message (screenshot)", async () => {
  await finishDrop(await drop("hello.c", readFileSync(new URL("../../guests/wasi/hello.c", import.meta.url))));
  await waitFor("the not-wasm toast", async () => (await t.layout()).ui.toasts.find((x) => x.includes("hello.c: neither a WebAssembly module (.wasm) nor a recording")), { timeoutMs: 20_000 });
  await finishDrop(await drop("greedy.wasm", hugeMemory));
  await waitFor("the memory toast", async () => (await t.layout()).ui.toasts.find((x) => /1024 pages|64 MiB/.test(x)), { timeoutMs: 20_000 });
  await t.frames(3);
  await t.screenshot("program-refused.png");
});

await t.check("the system keeps running: boot set alive, a spawn still works", async () => {
  await bootAlive();
  const newest = Math.max(...(await t.processes()).map((p) => p.pid));
  await t.sv((s) => s.send_input("spawn hello still"));
  const p = await waitFor("another hello", async () => (await byName("hello")).find((p) => p.pid > newest), { timeoutMs: 30_000 });
  await waitForOutput(p.pid, "argv[1] = still");
  return `boot ${boot.map((b) => b.pid).join(", ")} alive`;
});

await t.finish();
