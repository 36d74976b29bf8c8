// The guest shim: one Web Worker per process. It instantiates the guest's module with a memory
// of its own and the five host imports of docs/ABI.md, then runs `_start`. Syscalls cross the
// process's mailbox (a SharedArrayBuffer outside guest memory) with Atomics: steps 1-3 and 7 of
// the syscall flow happen here, steps 4-6 in the supervisor on the page's main thread.
//
// Messages in:  {type: "start", module: WebAssembly.Module, mailbox: SharedArrayBuffer,
//                doorbell: SharedArrayBuffer, pid, memoryMinPages, memoryMaxPages, spinMicros?}
// Messages out: {type: "first_syscall", atMs}   (epoch milliseconds, for spawn-to-first-syscall)
//               {type: "latency", micros: [..]}  (round trips of calls that never block, in batches)
//               {type: "exit", kind: "returned" | "trapped" | "load_failed", message}
import { ERR, HOST_IMPORT, MAILBOX, MEMORY, STATUS, SYS, YIELD_PARK_MICROS } from "./abi.js";

const W = (offset) => offset >> 2; // byte offset of a header word -> Int32Array index

/** Calls whose round trip measures the mailbox path itself: they never wait inside the kernel. */
const TIMED = new Set([SYS.YIELD, SYS.GET_PID, SYS.TIME, SYS.CONSOLE_WRITE, SYS.SEND, SYS.TRY_RECEIVE,
  SYS.CAP_LIST, SYS.MEM_ALLOC, SYS.MEM_FREE, SYS.PS]);
const LATENCY_BATCH = 256;
/**
 * How long a call that never waits in the kernel (TIMED) spins on STATUS before it sleeps. A reply
 * that arrives while the shim spins needs no wake-up (a wake-up, Atomics.notify of a sleeping
 * worker, is a system call on the page's main thread). Calls that may block (RECEIVE, SLEEP)
 * never spin. Measured on two cores (docs/BENCHMARKS.md): 30 us cut the crowd's notify share of
 * the main thread from ~24 % to ~9 %, but halved pingpong's round trips/s (the spinning workers
 * take the cores the main thread and the peer need), so it is off; the start message's
 * `spinMicros` (the page's `?spin=`) turns it on for measuring on bigger machines.
 */
const SPIN_MICROS = 0;

/** Thrown out of a host import to unwind the guest when the supervisor set KILL_FLAG. */
class Killed extends Error {}

self.onmessage = (event) => {
  const message = event.data;
  if (message && message.type === "start") {
    run(message);
  }
};

function report(kind, message) {
  self.postMessage({ type: "exit", kind, message: String(message ?? "") });
}

async function run({ module, mailbox, doorbell, memoryMinPages, memoryMaxPages, spinMicros }) {
  const spinMs = (spinMicros ?? SPIN_MICROS) / 1000;
  const box = new Int32Array(mailbox);
  const boxBytes = new Uint8Array(mailbox);
  const bell = new Int32Array(doorbell);
  const park = new Int32Array(new SharedArrayBuffer(4));

  if (!(module instanceof WebAssembly.Module)) {
    report("load_failed", "the worker was not given a compiled WebAssembly module");
    return;
  }
  const hasStart = WebAssembly.Module.exports(module).some((e) => e.name === "_start" && e.kind === "function");
  if (!hasStart) {
    report("load_failed", "the module does not export a `_start` function");
    return;
  }

  let memory;
  try {
    memory = new WebAssembly.Memory({
      initial: memoryMinPages,
      maximum: Math.min(memoryMaxPages ?? MEMORY.MAX_PAGES, MEMORY.MAX_PAGES),
    });
  } catch (e) {
    report("load_failed", `cannot create the guest's memory (${memoryMinPages} pages): ${e.message}`);
    return;
  }

  let seq = 0;
  let reply = new Uint8Array(0);
  let firstSyscallReported = false;
  let latency = [];

  /** True when [ptr, ptr + len) lies inside guest memory (both as unsigned 32-bit numbers). */
  const inBounds = (ptr, len) => len >= 0 && (ptr >>> 0) + len <= memory.buffer.byteLength;

  /** A byte-copy import refuses: record it for the supervisor (code, then the count it watches). */
  function refuse(importNumber, code) {
    Atomics.store(box, W(MAILBOX.HOST_REFUSAL_CODE), (importNumber << 16) | code);
    Atomics.add(box, W(MAILBOX.HOST_REFUSALS), 1);
    return -code;
  }

  function syscall(number, arg0, arg1, arg2) {
    if (!firstSyscallReported) {
      firstSyscallReported = true;
      self.postMessage({ type: "first_syscall", atMs: performance.timeOrigin + performance.now() });
    }
    // Step 1: the request (DATA_LEN and the data were staged by orbital_send_bytes, or are 0).
    seq = (seq + 1) | 0;
    Atomics.store(box, W(MAILBOX.SYSCALL), number);
    Atomics.store(box, W(MAILBOX.ARG0), arg0);
    Atomics.store(box, W(MAILBOX.ARG1), arg1);
    Atomics.store(box, W(MAILBOX.ARG2), arg2);
    Atomics.store(box, W(MAILBOX.MEMORY_BYTES), memory.buffer.byteLength);
    Atomics.store(box, W(MAILBOX.SEQ), seq);
    // Step 2: PENDING, then ring the supervisor's doorbell.
    const started = performance.now();
    Atomics.store(box, W(MAILBOX.STATUS), STATUS.PENDING);
    Atomics.add(bell, 0, 1);
    Atomics.notify(bell, 0);
    // Step 3: spin a little, then sleep while PENDING, always passing the value just compared
    // against. GUEST_WAITING tells the supervisor whether a wake-up is needed (docs/ABI.md).
    if (spinMs > 0 && TIMED.has(number)) {
      while (Atomics.load(box, W(MAILBOX.STATUS)) === STATUS.PENDING && performance.now() - started < spinMs) {}
    }
    if (Atomics.load(box, W(MAILBOX.STATUS)) === STATUS.PENDING) {
      Atomics.store(box, W(MAILBOX.GUEST_WAITING), 1);
      while (Atomics.load(box, W(MAILBOX.STATUS)) === STATUS.PENDING) {
        Atomics.wait(box, W(MAILBOX.STATUS), STATUS.PENDING);
      }
      Atomics.store(box, W(MAILBOX.GUEST_WAITING), 0);
    }
    if (TIMED.has(number)) {
      latency.push((performance.now() - started) * 1000);
      if (latency.length >= LATENCY_BATCH) {
        self.postMessage({ type: "latency", micros: latency });
        latency = [];
      }
    }
    if (Atomics.load(box, W(MAILBOX.KILL_FLAG)) !== 0) {
      throw new Killed("killed by the supervisor");
    }
    // Step 7: the result and a private copy of the reply data, then IDLE.
    const result = Atomics.load(box, W(MAILBOX.RESULT));
    const replyLen = Math.max(0, Math.min(Atomics.load(box, W(MAILBOX.DATA_LEN)), MAILBOX.DATA_CAPACITY));
    reply = boxBytes.slice(MAILBOX.DATA, MAILBOX.DATA + replyLen);
    Atomics.store(box, W(MAILBOX.DATA_LEN), 0);
    Atomics.store(box, W(MAILBOX.STATUS), STATUS.IDLE);
    return result;
  }

  const env = {
    memory,
    orbital_send_bytes(ptr, len) {
      if (!inBounds(ptr, len)) return refuse(HOST_IMPORT.SEND_BYTES, ERR.BAD_POINTER);
      if (len > MAILBOX.DATA_CAPACITY) return refuse(HOST_IMPORT.SEND_BYTES, ERR.MESSAGE_TOO_LARGE);
      boxBytes.set(new Uint8Array(memory.buffer, ptr >>> 0, len), MAILBOX.DATA);
      Atomics.store(box, W(MAILBOX.DATA_LEN), len);
      return len;
    },
    orbital_syscall(number, arg0, arg1, arg2) {
      return syscall(number, arg0, arg1, arg2);
    },
    orbital_recv_bytes(ptr, cap) {
      if (!inBounds(ptr, cap)) return refuse(HOST_IMPORT.RECV_BYTES, ERR.BAD_POINTER);
      const n = Math.min(cap, reply.length);
      new Uint8Array(memory.buffer, ptr >>> 0, n).set(reply.subarray(0, n));
      return reply.length;
    },
    orbital_yield() {
      syscall(SYS.YIELD, 0, 0, 0);
      // Park so an idle loop costs about a thousand syscalls a second, not a whole core.
      Atomics.wait(park, 0, 0, YIELD_PARK_MICROS / 1000);
    },
    orbital_get_pid() {
      return syscall(SYS.GET_PID, 0, 0, 0);
    },
  };

  let instance;
  try {
    instance = await WebAssembly.instantiate(module, { env });
  } catch (e) {
    report("load_failed", `cannot instantiate the module: ${e.message}`);
    return;
  }
  try {
    instance.exports._start();
    report("returned", "");
  } catch (e) {
    if (e instanceof Killed) return;
    const kind = e instanceof WebAssembly.RuntimeError || e instanceof RangeError ? "trap" : "error";
    report("trapped", `${kind}: ${e.message}`);
  }
}
