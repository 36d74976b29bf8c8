//! The Orbital microkernel (being written; see issue 2).
#![no_std]
extern crate alloc;
pub use orbital_abi as abi;
