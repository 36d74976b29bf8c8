//! Capabilities: grant, revoke, delete, derive and list. Rights only ever shrink.

use crate::{Result, Slot, abi, call, raw};
use abi::{ErrorCode, nr, object_kind, rights};

/// Gives process `pid` a copy of the capability in `slot` with `rights` (a subset of ours;
/// needs `GRANT`). Returns the slot it landed in, in the target's space.
pub fn grant(slot: Slot, pid: u32, rights: u32) -> Result<Slot> {
    call(nr::CAP_GRANT, [slot.0, pid, rights], &[]).map(Slot)
}

/// Removes every capability derived or granted from the one in `slot`; returns how many.
pub fn revoke(slot: Slot) -> Result<u32> {
    call(nr::CAP_REVOKE, [slot.0, 0, 0], &[])
}

/// Empties `slot`.
pub fn delete(slot: Slot) -> Result<()> {
    call(nr::CAP_DELETE, [slot.0, 0, 0], &[]).map(drop)
}

/// Copies the capability in `slot` into a new slot with fewer (or the same) rights.
pub fn derive(slot: Slot, rights: u32) -> Result<Slot> {
    call(nr::CAP_DERIVE, [slot.0, rights, 0], &[]).map(Slot)
}

/// One capability as `CAP_LIST` reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapEntry {
    pub slot: u32,
    pub kind: u32,
    pub object: u32,
    pub rights: u32,
    pub generation: u32,
}

impl CapEntry {
    /// "endpoint", "process", "console", "process table" or "unknown".
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            object_kind::ENDPOINT => "endpoint",
            object_kind::PROCESS => "process",
            object_kind::CONSOLE => "console",
            object_kind::PROCESS_TABLE => "process table",
            _ => "unknown",
        }
    }

    /// Rights as letters, `RWG` with `-` for a missing right.
    pub fn rights_str(&self) -> [u8; 3] {
        let bit = |r: u32, c: u8| if self.rights & r != 0 { c } else { b'-' };
        [bit(rights::READ, b'R'), bit(rights::WRITE, b'W'), bit(rights::GRANT, b'G')]
    }
}

/// The caller's capabilities (at most [`abi::slot::CAPACITY`]).
pub struct CapList {
    entries: [CapEntry; abi::slot::CAPACITY as usize],
    len: usize,
}

impl CapList {
    pub fn as_slice(&self) -> &[CapEntry] {
        &self.entries[..self.len]
    }

    /// The entry for `slot`, if that slot holds a capability.
    pub fn get(&self, slot: Slot) -> Option<&CapEntry> {
        self.as_slice().iter().find(|e| e.slot == slot.0)
    }
}

/// Lists the caller's capabilities.
pub fn list() -> Result<CapList> {
    let count = call(nr::CAP_LIST, [0; 3], &[])? as usize;
    let mut data = [0u8; abi::slot::CAPACITY as usize * 20];
    let full = crate::check(raw::recv_bytes(&mut data))? as usize;
    parse_list(&data[..full.min(data.len())], count)
}

fn parse_list(data: &[u8], count: usize) -> Result<CapList> {
    let mut list = CapList { entries: [CapEntry::default(); abi::slot::CAPACITY as usize], len: 0 };
    if count > list.entries.len() || data.len() < count * 20 {
        return Err(ErrorCode::BadArgument);
    }
    for (i, rec) in data.chunks_exact(20).take(count).enumerate() {
        let w = |k: usize| u32::from_le_bytes([rec[k], rec[k + 1], rec[k + 2], rec[k + 3]]);
        list.entries[i] =
            CapEntry { slot: w(0), kind: w(4), object: w(8), rights: w(12), generation: w(16) };
    }
    list.len = count;
    Ok(list)
}
