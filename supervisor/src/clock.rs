//! The supervisor's time source. The kernel has no clock (time is passed in); the supervisor
//! reads one through [`Clock`], which its caller provides, so this crate needs no platform timer
//! (`std::time::Instant` panics on `wasm32-unknown-unknown`) and tests can drive time by hand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Nanoseconds since some fixed start, never going backwards (the kernel clamps it anyway).
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// A clock reading `now_ns` from the caller's function.
    pub fn from_fn(now_ns: impl Fn() -> u64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(now_ns))
    }

    /// Nanoseconds since this call, from the platform's monotonic clock.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn monotonic() -> Clock {
        let started = std::time::Instant::now();
        Clock::from_fn(move || u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    /// A clock that moves only when told to, with the handle that moves it.
    pub fn manual() -> (Clock, ManualTime) {
        let time = ManualTime(Arc::new(AtomicU64::new(0)));
        let reader = time.clone();
        (Clock::from_fn(move || reader.now_ns()), time)
    }

    pub fn now_ns(&self) -> u64 {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({} ns)", self.now_ns())
    }
}

/// The hand that moves a [`Clock::manual`] clock.
#[derive(Clone, Debug)]
pub struct ManualTime(Arc<AtomicU64>);

impl ManualTime {
    pub fn now_ns(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub fn advance(&self, by_ns: u64) {
        self.0.fetch_add(by_ns, Ordering::Relaxed);
    }

    pub fn set(&self, now_ns: u64) {
        self.0.fetch_max(now_ns, Ordering::Relaxed);
    }
}
