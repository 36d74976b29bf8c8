//! Endpoints: message queues owned by the process that creates them.

use crate::{Result, Slot, abi::nr, call};

/// Creates an endpoint owned by the caller; returns the slot of its capability (all rights).
pub fn create() -> Result<Slot> {
    call(nr::ENDPOINT_CREATE, [0; 3], &[]).map(Slot)
}

/// Deletes an endpoint the caller owns; capabilities to it elsewhere become stale.
pub fn delete(slot: Slot) -> Result<()> {
    call(nr::ENDPOINT_DELETE, [slot.0, 0, 0], &[]).map(drop)
}
