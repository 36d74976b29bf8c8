// The relay through the main thread (the floor of servicing IPC on the main thread), as a function
// to run in the page with `page.evaluate(relayViaMainInPage, roundTrips)`: shared by bench.mjs's
// pingpong figure and ppseries.mjs.
//
// Two plain workers pass a turn back and forth `n` times; each stores PENDING in its own word and
// rings a doorbell; the main thread, woken by waitAsync exactly as the servicer is, takes the
// request, marks the other worker READY and notifies it. No wasm, no kernel. Returns round trips/s.
export async function relayViaMainInPage(n) {
  const DOOR = 0, DONE = 3;
  const src = `onmessage = (e) => {
    const a = new Int32Array(e.data.sab);
    const { role, n } = e.data;
    const me = 1 + role;
    const ring = () => { Atomics.add(a, 0, 1); Atomics.notify(a, 0); };
    const awaitReady = () => { let v; while ((v = Atomics.load(a, me)) !== 2) Atomics.wait(a, me, v); };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (role === 1) awaitReady();
      Atomics.store(a, me, 1);
      ring();
      if (role === 0) awaitReady();
    }
    const ms = performance.now() - t0;
    if (role === 0) { Atomics.store(a, 3, 1); ring(); }
    postMessage(ms);
  };`;
  const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
  const sab = new SharedArrayBuffer(16);
  const a = new Int32Array(sab);
  const workers = [new Worker(url), new Worker(url)];
  const times = workers.map((w, role) => new Promise((resolve, reject) => {
    w.onmessage = (e) => resolve(e.data);
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage({ sab, role, n });
  }));
  // The servicer's shape: read the doorbell, serve every pending word, wait unless it moved.
  for (;;) {
    const seen = Atomics.load(a, DOOR);
    if (Atomics.load(a, DONE) === 1) break;
    for (const me of [1, 2]) {
      if (Atomics.compareExchange(a, me, 1, 0) === 1) {
        const other = me === 1 ? 2 : 1;
        Atomics.store(a, other, 2);
        Atomics.notify(a, other);
      }
    }
    const w = Atomics.waitAsync(a, DOOR, seen);
    if (w.async) await w.value;
  }
  const [ping] = await Promise.all(times);
  workers.forEach((w) => w.terminate());
  URL.revokeObjectURL(url);
  return (n * 1000) / ping;
}
