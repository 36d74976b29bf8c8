//! Syscall round trips as the guest shims measure them (from storing PENDING to seeing READY),
//! for calls that never block in the kernel. Workers post batches; this keeps the newest
//! samples, each with the pid that made the call, for `window.supervisor.get_syscall_latency_json()`
//! (all processes) or `get_syscall_latency_json(pid)` (one), and for the benchmark.
use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::{Value, json};

const CAPACITY: usize = 50_000;

thread_local! {
    static SAMPLES: RefCell<VecDeque<(u32, f64)>> = RefCell::new(VecDeque::with_capacity(CAPACITY));
}

/// Records round trips (microseconds) that process `pid` measured.
pub fn record(pid: u32, micros: impl IntoIterator<Item = f64>) {
    SAMPLES.with_borrow_mut(|s| {
        for m in micros {
            if s.len() == CAPACITY {
                s.pop_front();
            }
            s.push_back((pid, m));
        }
    });
}

pub fn reset() {
    SAMPLES.with_borrow_mut(VecDeque::clear);
}

/// The summary of every process's samples, or of one process's (`pid`).
pub fn summary_json(pid: Option<u32>) -> Value {
    let mut samples: Vec<f64> = SAMPLES.with_borrow(|s| {
        s.iter()
            .filter(|(p, _)| pid.is_none_or(|pid| *p == pid))
            .map(|(_, m)| *m)
            .collect()
    });
    summarize(&mut samples)
}

/// Count, mean and percentiles (microseconds) of `samples`.
pub fn summarize(samples: &mut [f64]) -> Value {
    if samples.is_empty() {
        return json!({ "count": 0 });
    }
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    json!({
        "count": samples.len(),
        "mean_us": samples.iter().sum::<f64>() / samples.len() as f64,
        "median_us": pct(0.5),
        "p90_us": pct(0.9),
        "p99_us": pct(0.99),
        "min_us": samples[0],
        "max_us": samples[samples.len() - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_set() {
        let mut samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = summarize(&mut samples);
        assert_eq!(s["count"], 100);
        assert_eq!(s["median_us"], 51.0);
        assert_eq!(s["p99_us"], 99.0);
        assert_eq!(s["mean_us"], 50.5);
        assert_eq!(summarize(&mut [])["count"], 0);
    }

    #[test]
    fn one_process_or_all() {
        reset();
        record(4, [10.0, 20.0, 30.0]);
        record(5, [100.0]);
        assert_eq!(summary_json(None)["count"], 4);
        assert_eq!(summary_json(Some(4))["median_us"], 20.0);
        assert_eq!(summary_json(Some(5))["max_us"], 100.0);
        assert_eq!(summary_json(Some(6))["count"], 0);
    }
}
