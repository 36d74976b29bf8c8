//! Pacing: how many pending syscalls may be serviced now (running, paused with single steps,
//! or slow motion at a fixed rate of syscalls per second). Running may have a ceiling: on a
//! computer that draws with its CPU (a software renderer), guests that make syscalls flat out
//! take the cores the drawing needs, so the app caps their rate there
//! ([`Supervisor::set_syscall_ceiling`]).

use std::time::Duration;

use crate::supervisor::Supervisor;

/// The most a syscall ceiling lets through at once: this many seconds of its rate (so a burst
/// after a quiet spell is short, and the rate holds over any tenth of a second).
pub const CEILING_BURST_SECS: f64 = 0.05;

/// How fast the servicer runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeControl {
    /// Every pending syscall is serviced as soon as the doorbell rings.
    Running,
    /// Nothing is serviced; pending syscalls stay pending. [`Supervisor::step`] services one.
    Paused,
    /// At most `syscalls_per_sec` syscalls are serviced per second, across all processes.
    Slow { syscalls_per_sec: f32 },
}

impl TimeControl {
    /// "1/4x": slow enough to follow messages by eye.
    pub const QUARTER: TimeControl = TimeControl::Slow {
        syscalls_per_sec: 16.0,
    };
    /// "1/16x": one syscall at a time, a few a second.
    pub const SIXTEENTH: TimeControl = TimeControl::Slow {
        syscalls_per_sec: 4.0,
    };
    /// What the UI offers, with labels.
    pub const PRESETS: [(&'static str, TimeControl); 4] = [
        ("1x", TimeControl::Running),
        ("1/4x (16 syscalls/s)", TimeControl::QUARTER),
        ("1/16x (4 syscalls/s)", TimeControl::SIXTEENTH),
        ("paused", TimeControl::Paused),
    ];

    pub fn label(&self) -> String {
        match self {
            TimeControl::Running => "running".into(),
            TimeControl::Paused => "paused".into(),
            TimeControl::Slow { syscalls_per_sec } => {
                format!("slow: {syscalls_per_sec} syscalls/s")
            }
        }
    }
}

impl Supervisor {
    pub fn time_control(&self) -> TimeControl {
        self.time
    }

    pub fn set_time_control(&mut self, time: TimeControl) {
        self.time = time;
        self.step_credits = 0;
        self.slow_tokens = 0.0;
        self.slow_refilled_ns = self.now_ns();
        self.host.ring_doorbell();
    }

    /// Pauses (if running) and services exactly one pending syscall, now or as soon as one is pending.
    pub fn step(&mut self) {
        if self.time != TimeControl::Paused {
            self.set_time_control(TimeControl::Paused);
        }
        self.step_credits = 1;
        self.host.ring_doorbell();
    }

    /// While running, services at most `per_sec` syscalls a second across all processes (bursts
    /// of up to [`CEILING_BURST_SECS`] of them); `None` lifts the ceiling. Slow motion, pause and
    /// steps are unchanged (slow motion's own rate is far below any ceiling).
    pub fn set_syscall_ceiling(&mut self, per_sec: Option<f32>) {
        let per_sec = per_sec.filter(|r| r.is_finite() && *r > 0.0);
        if self.ceiling == per_sec {
            return;
        }
        self.ceiling = per_sec;
        self.ceiling_tokens = 0.0;
        self.ceiling_refilled_ns = self.now_ns();
        self.host.ring_doorbell();
    }

    pub fn syscall_ceiling(&self) -> Option<f32> {
        self.ceiling
    }

    /// With a syscall waiting and none allowed now (slow motion, or running at the ceiling):
    /// how long until the next one may be serviced.
    pub fn next_service_delay(&mut self, now_ns: u64) -> Option<Duration> {
        let (tokens, rate) = match (self.time, self.ceiling) {
            (TimeControl::Slow { syscalls_per_sec }, _) => {
                self.refill(now_ns);
                (self.slow_tokens, syscalls_per_sec)
            }
            (TimeControl::Running, Some(per_sec)) => {
                self.refill_ceiling(now_ns, per_sec);
                (self.ceiling_tokens, per_sec)
            }
            _ => return None,
        };
        if tokens >= 1.0 || self.pending_pids().is_empty() {
            return None;
        }
        let missing = 1.0 - tokens;
        let rate = f64::from(rate.max(0.01));
        Some(Duration::from_secs_f64(missing / rate).max(Duration::from_millis(1)))
    }

    fn refill_ceiling(&mut self, now_ns: u64, per_sec: f32) {
        let elapsed_secs = now_ns.saturating_sub(self.ceiling_refilled_ns) as f64 / 1e9;
        let rate = f64::from(per_sec);
        let most = (rate * CEILING_BURST_SECS).max(1.0);
        self.ceiling_tokens = (self.ceiling_tokens + elapsed_secs * rate).min(most);
        self.ceiling_refilled_ns = now_ns;
    }

    pub(crate) fn refill(&mut self, now_ns: u64) {
        if let TimeControl::Slow { syscalls_per_sec } = self.time {
            let elapsed_secs = now_ns.saturating_sub(self.slow_refilled_ns) as f64 / 1e9;
            // At most one token banked: slow motion never bursts.
            self.slow_tokens =
                (self.slow_tokens + elapsed_secs * f64::from(syscalls_per_sec)).min(1.0);
            self.slow_refilled_ns = now_ns;
        }
    }

    pub(crate) fn budget(&mut self, now_ns: u64) -> usize {
        match self.time {
            TimeControl::Running => match self.ceiling {
                None => usize::MAX,
                Some(per_sec) => {
                    self.refill_ceiling(now_ns, per_sec);
                    self.ceiling_tokens.floor() as usize
                }
            },
            TimeControl::Paused => self.step_credits as usize,
            TimeControl::Slow { .. } => {
                self.refill(now_ns);
                self.slow_tokens.floor() as usize
            }
        }
    }
}
