//! Memory accounting with the kernel. Linear memory itself grows through the allocator
//! (`memory.grow`); these calls tell the kernel how much a program means to use, and the kernel
//! refuses (`OUT_OF_MEMORY`) past the per-process limit.

use crate::{Result, abi::nr, call};

/// Asks the kernel for `bytes` more; `OUT_OF_MEMORY` past the limit.
pub fn alloc(bytes: u32) -> Result<()> {
    call(nr::MEM_ALLOC, [bytes, 0, 0], &[]).map(drop)
}

/// Returns `bytes` to the kernel; `BAD_ARGUMENT` if more than allocated.
pub fn free(bytes: u32) -> Result<()> {
    call(nr::MEM_FREE, [bytes, 0, 0], &[]).map(drop)
}
