//! Helpers shared by the kernel's integration tests.
#![allow(dead_code)]

use orbital_kernel::abi::{ErrorCode, nr, slot};
use orbital_kernel::{Dispatch, Effect, Kernel, KernelConfig, ProcessId, Reply, SyscallArgs};

pub const MS: u64 = 1_000_000;

pub fn kernel() -> Kernel {
    Kernel::new(KernelConfig::default())
}

pub fn call(
    k: &mut Kernel,
    pid: ProcessId,
    number: u32,
    args: [u32; 3],
    data: &[u8],
    now_ns: u64,
) -> Dispatch {
    k.dispatch(pid, SyscallArgs { number, args }, data, now_ns)
}

/// A call that must complete; returns its reply.
pub fn complete(
    k: &mut Kernel,
    pid: ProcessId,
    number: u32,
    args: [u32; 3],
    data: &[u8],
    now_ns: u64,
) -> Reply {
    match call(k, pid, number, args, data, now_ns) {
        Dispatch::Complete(r) => r,
        other => panic!("syscall {number} from {pid:?}: expected Complete, got {other:?}"),
    }
}

pub fn result(
    k: &mut Kernel,
    pid: ProcessId,
    number: u32,
    args: [u32; 3],
    data: &[u8],
    now_ns: u64,
) -> i32 {
    complete(k, pid, number, args, data, now_ns).result
}

pub fn err(code: ErrorCode) -> i32 {
    code.to_result()
}

pub fn send(k: &mut Kernel, pid: ProcessId, slot: u32, tag: u32, data: &[u8], now_ns: u64) -> i32 {
    result(k, pid, nr::SEND, [slot, tag, slot::NONE], data, now_ns)
}

/// Splits a RECEIVE reply into (sender pid, tag, transferred slot, payload).
pub fn parse_recv(reply: &Reply) -> (u32, u32, u32, Vec<u8>) {
    let d = &reply.data;
    assert!(d.len() >= 12, "receive reply too short: {d:?}");
    let word = |i: usize| u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    (word(0), word(4), word(8), d[12..].to_vec())
}

/// Completions in the effect list, by pid.
pub fn completions(effects: &[Effect]) -> Vec<(ProcessId, Reply)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Complete { pid, reply } => Some((*pid, reply.clone())),
            _ => None,
        })
        .collect()
}
