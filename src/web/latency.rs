//! Syscall round trips as the guest shims measure them (from storing PENDING to seeing READY),
//! for calls that never block in the kernel. Workers post batches; this keeps the newest
//! samples for `window.supervisor.get_syscall_latency_json()` and the benchmark.
use std::cell::RefCell;
use std::collections::VecDeque;

use serde_json::{Value, json};

const CAPACITY: usize = 50_000;

thread_local! {
    static SAMPLES: RefCell<VecDeque<f64>> = RefCell::new(VecDeque::with_capacity(CAPACITY));
}

pub fn record(micros: impl IntoIterator<Item = f64>) {
    SAMPLES.with_borrow_mut(|s| {
        for m in micros {
            if s.len() == CAPACITY {
                s.pop_front();
            }
            s.push_back(m);
        }
    });
}

pub fn reset() {
    SAMPLES.with_borrow_mut(VecDeque::clear);
}

pub fn summary_json() -> Value {
    let mut samples: Vec<f64> = SAMPLES.with_borrow(|s| s.iter().copied().collect());
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
}
