// The spawn ceiling: a browser tab holds only so many guests (each WebAssembly memory reserves
// gigabytes of address space under a per-process cap; docs/BENCHMARKS.md). The spawn that would
// pass the playground's limit is refused before anything is created: thrown to the API caller,
// written to the terminal, shown as a toast; never "started" and then a Zombie. The page runs
// with `?max_guests=12` so the test reaches the limit in seconds; `cargo xtask bench` measures
// the real ceiling.
import { openPlayground, URL, waitFor, waitForSettledProcesses } from "./lib.mjs";

const LIMIT = 12;
const t = await openPlayground("ceiling");
const { page } = t;

await t.check(`the page reloads with ?max_guests=${LIMIT} and reports the limit`, async () => {
  await page.goto(new globalThis.URL(`?max_guests=${LIMIT}`, URL).href, { waitUntil: "load" });
  await waitFor("the app to run again", () => page.evaluate(() => window.orbital?.state === "running" && typeof window.supervisor?.send_input === "function"), { timeoutMs: 120_000 });
  await t.waitForStartupScenario();
  await waitForSettledProcesses(() => t.processes());
  const m = await t.sv((s) => s.get_system_metrics_json());
  if (m.guest_ceiling !== LIMIT) throw new Error(`guest_ceiling is ${m.guest_ceiling}, want ${LIMIT}`);
  return `${m.live_guests} guests running, ceiling ${m.guest_ceiling}`;
});

/** Sends a terminal line through the API; the error message if it throws, else null. */
async function sendInput(line) {
  return t.sv((s, line) => {
    try {
      s.send_input(line);
      return null;
    } catch (e) {
      return String(e?.message ?? e);
    }
  }, line);
}

let refusal = null;
await t.check("spawns up to the limit start; the next `spawn idle` throws before anything is created", async () => {
  for (let i = 0; i < 2 * LIMIT && !refusal; i++) {
    const error = await sendInput("spawn idle");
    if (error && /full/i.test(error)) {
      i--;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (error) refusal = error;
    // Let the terminal's SPAWN land before the next line, so the count is the live one.
    await waitForSettledProcesses(() => t.processes(), { quietMs: 600 });
  }
  if (!refusal) throw new Error(`${2 * LIMIT} spawns and no refusal`);
  if (!/cannot spawn idle: this host runs at most 12 guest processes at once and 12 are running/.test(refusal)) throw new Error(`the refusal says: ${refusal}`);
  if (!/address space/.test(refusal) || !/kill/.test(refusal)) throw new Error(`the refusal does not say why and what to do: ${refusal}`);
  const m = await t.sv((s) => s.get_system_metrics_json());
  if (m.live_guests !== LIMIT) throw new Error(`${m.live_guests} guests run, want exactly ${LIMIT}`);
  return refusal;
});

await t.check("the refused spawn created no process and no Zombie", async () => {
  const before = await t.processes();
  await sendInput("spawn idle");
  await sendInput("spawn receiver");
  await new Promise((r) => setTimeout(r, 1500));
  const after = await t.processes();
  if (after.length !== before.length) throw new Error(`${before.length} processes before, ${after.length} after`);
  const zombies = after.filter((p) => p.state === "zombie");
  if (zombies.length) throw new Error(`Zombies: ${zombies.map((p) => `${p.pid} ${p.name}: ${p.exit?.text}`).join("; ")}`);
  return `${after.length} processes, none a Zombie`;
});

await t.check("the terminal shows the refusal, and never 'started idle'", async () => {
  const kernel = await t.sv((s) => s.get_console_json(0));
  const notices = kernel.entries.filter((e) => e.kind === "notice" && /at most 12 guest processes/.test(e.text));
  if (!notices.length) throw new Error(`no notice in the console: ${JSON.stringify(kernel.entries.slice(-5))}`);
  const terminal = (await t.processes()).find((p) => p.name === "terminal");
  const out = await t.sv((s, pid) => s.get_console_json(pid), terminal.pid);
  const started = out.lines.filter((l) => /^started idle as pid/.test(l)).length;
  if (started > LIMIT) throw new Error(`the terminal printed "started idle" ${started} times for a limit of ${LIMIT}`);
  return notices[notices.length - 1].text.trim();
});

await t.check("a toast shows the refusal", async () => {
  await sendInput("spawn idle");
  await t.frames(2);
  const path = await t.screenshot("ceiling-refused.png");
  return path;
});

await t.check("killing a process makes room: the next spawn starts", async () => {
  const victim = (await t.processes()).filter((p) => p.name === "idle" && !p.protected && p.state !== "zombie").sort((a, b) => b.pid - a.pid)[0];
  if (!victim) throw new Error("no unprotected idle to kill");
  if (await sendInput(`kill ${victim.pid}`)) throw new Error("kill was refused");
  await waitFor("the kill to free a guest", async () => (await t.sv((s) => s.get_system_metrics_json())).live_guests < LIMIT, { timeoutMs: 20_000 });
  const error = await sendInput("spawn idle");
  if (error) throw new Error(`spawn after kill refused: ${error}`);
  await waitFor("the new idle to run", async () => (await t.sv((s) => s.get_system_metrics_json())).live_guests === LIMIT, { timeoutMs: 20_000 });
});

await t.finish();
