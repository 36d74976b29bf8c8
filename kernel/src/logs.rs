//! Bounded queues (the event stream and the logs) and the message-rate window.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

/// A FIFO that never holds more than `capacity` items: pushing into a full one drops the
/// oldest item and counts it.
#[derive(Clone, Debug, Hash, Serialize, Deserialize)]
pub(crate) struct Bounded<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> Bounded<T> {
    pub fn new(capacity: usize) -> Self {
        Bounded {
            items: VecDeque::new(),
            capacity,
            dropped: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, item: T) {
        if self.items.len() >= self.capacity {
            self.dropped = self.dropped.saturating_add(1);
            if self.capacity == 0 {
                return;
            }
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// Pushes the item `make` builds; `make` receives the evicted oldest item, if the queue was
    /// full, so its allocations can be reused.
    pub fn push_with(&mut self, make: impl FnOnce(Option<T>) -> T) {
        if self.capacity == 0 {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let evicted = if self.items.len() >= self.capacity {
            self.dropped = self.dropped.saturating_add(1);
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(make(evicted));
    }

    /// An empty queue with this one's capacity and drop count.
    pub fn empty_like<U>(&self) -> Bounded<U> {
        Bounded {
            items: VecDeque::new(),
            capacity: self.capacity,
            dropped: self.dropped,
        }
    }

    pub fn items(&self) -> &VecDeque<T> {
        &self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Everything, oldest first. Hands the queue's own buffer over (no per-item copy) and starts
    /// a new one sized for as many items as this drain returned.
    pub fn drain_all(&mut self) -> Vec<T> {
        if self.items.is_empty() {
            return Vec::new();
        }
        let next = VecDeque::with_capacity(self.items.len().min(self.capacity));
        Vec::from(core::mem::replace(&mut self.items, next))
    }
}

/// Width of one rate bucket.
const BUCKET_NS: u64 = 100_000_000;
/// Buckets in the window: ten 100 ms buckets make one second.
const BUCKETS: usize = 10;

/// Messages counted per 100 ms of kernel time over the last second.
#[derive(Clone, Debug, Default, Hash, Serialize, Deserialize)]
pub(crate) struct RateWindow {
    counts: [u64; BUCKETS],
    /// The bucket number (`now_ns / BUCKET_NS`) of the newest bucket.
    head: u64,
}

impl RateWindow {
    fn slot(bucket: u64) -> usize {
        (bucket % BUCKETS as u64) as usize
    }

    fn advance(&mut self, bucket: u64) {
        if bucket <= self.head {
            return;
        }
        let gap = bucket - self.head;
        if gap >= BUCKETS as u64 {
            self.counts = [0; BUCKETS];
        } else {
            for b in self.head + 1..=bucket {
                if let Some(c) = self.counts.get_mut(Self::slot(b)) {
                    *c = 0;
                }
            }
        }
        self.head = bucket;
    }

    pub fn record(&mut self, now_ns: u64) {
        let bucket = now_ns / BUCKET_NS;
        self.advance(bucket);
        // Time never runs backwards in the kernel, so `bucket <= head` means `bucket == head`.
        if let Some(c) = self.counts.get_mut(Self::slot(self.head)) {
            *c = c.saturating_add(1);
        }
    }

    /// Messages in the ten buckets ending with the one `now_ns` falls in.
    pub fn per_second(&self, now_ns: u64) -> f64 {
        let bucket = now_ns / BUCKET_NS;
        let age = bucket.saturating_sub(self.head);
        if age >= BUCKETS as u64 {
            return 0.0;
        }
        // Buckets older than (bucket - 9) have aged out of the window.
        let mut sum = 0u64;
        for i in 0..(BUCKETS as u64 - age) {
            let b = match self.head.checked_sub(i) {
                Some(b) => b,
                None => break,
            };
            sum = sum.saturating_add(self.counts.get(Self::slot(b)).copied().unwrap_or(0));
        }
        sum as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_drops_oldest_and_counts() {
        let mut b = Bounded::new(3);
        for i in 0..5 {
            b.push(i);
        }
        assert_eq!(b.items().iter().copied().collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(b.dropped(), 2);
        let mut z = Bounded::new(0);
        z.push(1);
        assert_eq!(z.len(), 0);
        assert_eq!(z.dropped(), 1);
    }

    #[test]
    fn rate_window_counts_last_second() {
        let mut r = RateWindow::default();
        for i in 0..10u64 {
            r.record(i * 100_000_000 + 5); // one per bucket, 0.0 s .. 0.9 s
        }
        assert_eq!(r.per_second(950_000_000), 10.0);
        // At 1.05 s the bucket 0.0-0.1 s has left the window.
        assert_eq!(r.per_second(1_050_000_000), 9.0);
        assert_eq!(r.per_second(5_000_000_000), 0.0);
        r.record(5_000_000_000);
        assert_eq!(r.per_second(5_000_000_000), 1.0);
    }
}
