//! Orbital Playground: the Bevy app that owns the kernel and draws its processes.
pub use orbital_abi as abi;
pub use orbital_kernel as kernel;

pub mod supervisor;
