//! What time travel needs of the kernel: a [`Kernel::snapshot`] (a copy of the whole state
//! without what is in flight to the supervisor) and a [`Kernel::state_hash`] that is the same on
//! every run and every platform (wasm32 and x86_64 alike) for the same state.
//!
//! The hash is FNV-1a (64 bit) over a canonical traversal: tables in id order (never a hash
//! map's layout), integers little-endian, every `usize` as a `u64`, no pointers. It covers
//! everything observable: the configuration, processes (state, metrics, capability slots with
//! their generations, owned endpoints), endpoints (owner, queued messages, waiters, counts),
//! the capability derivation tree, sleepers, the traffic, capability and ended-process logs with
//! their drop counts, the running totals, the message-rate window, the id counters and kernel
//! time. It leaves out the pending events and effects: they are the kernel's mail to the
//! supervisor, drained at moments that are not inputs.

use core::hash::{Hash, Hasher};

use crate::logs::Bounded;
use crate::{Kernel, KernelConfig, KernelEvent};

/// FNV-1a, 64 bit, with every integer written little-endian and `usize`/`isize` widened to 64
/// bits, so derived `Hash` impls give the same value on 32- and 64-bit targets.
pub struct StableHasher(u64);

impl StableHasher {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub fn new() -> StableHasher {
        StableHasher(Self::OFFSET)
    }
}

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher::new()
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
        self.0 = h;
    }

    fn write_u8(&mut self, n: u8) {
        self.write(&[n]);
    }

    fn write_u16(&mut self, n: u16) {
        self.write(&n.to_le_bytes());
    }

    fn write_u32(&mut self, n: u32) {
        self.write(&n.to_le_bytes());
    }

    fn write_u64(&mut self, n: u64) {
        self.write(&n.to_le_bytes());
    }

    fn write_u128(&mut self, n: u128) {
        self.write(&n.to_le_bytes());
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_i8(&mut self, n: i8) {
        self.write_u8(n as u8);
    }

    fn write_i16(&mut self, n: i16) {
        self.write_u16(n as u16);
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u32(n as u32);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_i128(&mut self, n: i128) {
        self.write_u128(n as u128);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_i64(n as i64);
    }
}

/// The event queue a deserialised kernel starts with (events are not serialised).
pub(crate) fn fresh_events() -> Bounded<KernelEvent> {
    Bounded::new(KernelConfig::default().event_capacity)
}

/// `Rights` (an ABI type, which stays free of serde) as its bits; unknown bits are refused.
pub(crate) mod rights_serde {
    use crate::abi::Rights;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(rights: &Rights, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(rights.bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Rights, D::Error> {
        let bits = u32::deserialize(deserializer)?;
        Rights::from_bits(bits)
            .ok_or_else(|| serde::de::Error::custom("unknown bits in a capability's rights"))
    }
}

impl Kernel {
    /// A copy of the whole state (what [`Kernel::state_hash`] covers), with no pending events or
    /// effects: what a recording keeps every N inputs and restores to seek.
    pub fn snapshot(&self) -> Kernel {
        Kernel {
            config: self.config.clone(),
            processes: self.processes.clone(),
            next_pid: self.next_pid,
            endpoints: self.endpoints.clone(),
            next_endpoint: self.next_endpoint,
            cap_nodes: self.cap_nodes.clone(),
            next_cap: self.next_cap,
            sleepers: self.sleepers.clone(),
            effects: alloc::vec::Vec::new(),
            events: self.events.empty_like(),
            traffic: self.traffic.clone(),
            cap_log: self.cap_log.clone(),
            ended: self.ended.clone(),
            counters: self.counters.clone(),
            rate: self.rate.clone(),
            now_ns: self.now_ns,
            caller: None,
            caller_delta: crate::CallerDelta::default(),
        }
    }

    /// A hash of everything observable (see the module docs), equal across runs and platforms
    /// for equal states. O(size of the state).
    pub fn state_hash(&self) -> u64 {
        // Destructured without `..`: a new field does not compile until it is hashed or
        // explicitly left out here.
        let Kernel {
            config,
            processes,
            next_pid,
            endpoints,
            next_endpoint,
            cap_nodes,
            next_cap,
            sleepers,
            effects: _,
            events: _,
            traffic,
            cap_log,
            ended,
            counters,
            rate,
            now_ns,
            caller: _,
            caller_delta: _,
        } = self;
        let mut h = StableHasher::new();
        config.hash(&mut h);
        processes.hash(&mut h);
        next_pid.hash(&mut h);
        endpoints.hash(&mut h);
        next_endpoint.hash(&mut h);
        h.write_usize(cap_nodes.len());
        for (id, node) in cap_nodes {
            id.hash(&mut h);
            node.hash(&mut h);
        }
        next_cap.hash(&mut h);
        h.write_usize(sleepers.len());
        for s in sleepers {
            s.hash(&mut h);
        }
        traffic.hash(&mut h);
        cap_log.hash(&mut h);
        ended.hash(&mut h);
        counters.hash(&mut h);
        rate.hash(&mut h);
        now_ns.hash(&mut h);
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProcessId, SyscallArgs, abi};

    #[test]
    fn equal_states_hash_equally_and_a_change_changes_the_hash() {
        let mut k = Kernel::default();
        let a = k.register_process("a", 10).unwrap_or(ProcessId(0));
        let before = k.state_hash();
        assert_eq!(k.snapshot().state_hash(), before);
        assert_eq!(k.clone().state_hash(), before);
        let _ = k.dispatch(a, SyscallArgs::new(abi::nr::YIELD, [0; 3]), &[], 20);
        assert_ne!(k.state_hash(), before);
    }

    #[test]
    fn the_hash_is_pinned() {
        // FNV-1a of nothing is the offset basis; a pinned value catches a platform-dependent
        // write (a usize or native-endian integer) on the 32-bit CI target.
        let mut h = StableHasher::new();
        h.write_usize(1);
        h.write_u32(2);
        assert_eq!(StableHasher::new().finish(), 0xcbf2_9ce4_8422_2325);
        let mut g = StableHasher::new();
        g.write(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(h.finish(), g.finish());
    }
}
