//! [`IdTable`]: the process and endpoint tables. O(1) lookup by id (a hash table), iteration in
//! id order (a sorted list of the ids), so the hot path (every syscall finds its caller, every
//! SEND and RECEIVE its endpoint) costs the same at 10 and 10,000 processes while everything
//! that lists the table still sees it in pid order, deterministically.

use alloc::vec::Vec;
use core::fmt;
use core::hash::{BuildHasherDefault, Hash, Hasher};

use crate::{EndpointId, ProcessId};

/// A multiplicative (Fibonacci) hash of a 32-bit id. Ids are handed out by the kernel (never
/// chosen by a guest), consecutive and never reused, so no keyed hashing is needed: the
/// product's low bits (the bucket) are a permutation of the id's low bits and its high bits
/// (hashbrown's tag) are well mixed. Deterministic: the same ids give the same table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Map<K, V> = hashbrown::HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A table keyed by a kernel-issued id: lookup O(1), iteration in id order, insert of a new
/// highest id O(1) (ids only grow), remove O(log n) plus a shift of the id list (4 bytes an
/// entry).
#[derive(Clone)]
pub struct IdTable<K, V> {
    map: Map<K, V>,
    /// Every key, ascending.
    order: Vec<K>,
}

impl<K: Copy + Ord + Hash, V> Default for IdTable<K, V> {
    fn default() -> Self {
        IdTable {
            map: Map::default(),
            order: Vec::new(),
        }
    }
}

impl<K: Copy + Ord + Hash, V> IdTable<K, V> {
    #[inline]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    #[inline]
    pub fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Inserts or replaces; returns the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = self.map.insert(key, value);
        if old.is_none() {
            match self.order.last() {
                Some(last) if *last >= key => {
                    if let Err(at) = self.order.binary_search(&key) {
                        self.order.insert(at, key);
                    }
                }
                _ => self.order.push(key),
            }
        }
        old
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let old = self.map.remove(key)?;
        if let Ok(at) = self.order.binary_search(key) {
            self.order.remove(at);
        }
        Some(old)
    }

    /// Entries in ascending key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            keys: self.order.iter(),
            map: &self.map,
        }
    }

    /// Keys, ascending.
    pub fn keys(&self) -> core::slice::Iter<'_, K> {
        self.order.iter()
    }

    /// Values in ascending key order.
    pub fn values(&self) -> Values<'_, K, V> {
        Values { inner: self.iter() }
    }

    /// The smallest key.
    pub fn first_key(&self) -> Option<&K> {
        self.order.first()
    }

    /// The largest key.
    pub fn last_key(&self) -> Option<&K> {
        self.order.last()
    }
}

/// Entries of an [`IdTable`] in ascending key order.
pub struct Iter<'a, K, V> {
    keys: core::slice::Iter<'a, K>,
    map: &'a Map<K, V>,
}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Iter {
            keys: self.keys.clone(),
            map: self.map,
        }
    }
}

impl<K: Copy + Ord + Hash, V> ExactSizeIterator for Iter<'_, K, V> {}

/// Values of an [`IdTable`] in ascending key order.
pub struct Values<'a, K, V> {
    inner: Iter<'a, K, V>,
}

impl<K, V> Clone for Values<'_, K, V> {
    fn clone(&self) -> Self {
        Values {
            inner: self.inner.clone(),
        }
    }
}

impl<'a, K: Copy + Ord + Hash, V> Iterator for Values<'a, K, V> {
    type Item = &'a V;

    fn next(&mut self) -> Option<&'a V> {
        self.inner.next().map(|(_, v)| v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<'a, K: Copy + Ord + Hash, V> DoubleEndedIterator for Values<'a, K, V> {
    fn next_back(&mut self) -> Option<&'a V> {
        self.inner.next_back().map(|(_, v)| v)
    }
}

impl<K: Copy + Ord + Hash, V> ExactSizeIterator for Values<'_, K, V> {}

impl<'a, K: Copy + Ord + Hash, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        // Every key in `order` is in `map` (the two change together), so this is exact.
        let map = self.map;
        self.keys.by_ref().find_map(|k| map.get_key_value(k))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.keys.len(), Some(self.keys.len()))
    }
}

impl<'a, K: Copy + Ord + Hash, V> DoubleEndedIterator for Iter<'a, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let map = self.map;
        self.keys.by_ref().rev().find_map(|k| map.get_key_value(k))
    }
}

impl<'a, K: Copy + Ord + Hash, V> IntoIterator for &'a IdTable<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Like a `BTreeMap`'s: `{key: value, ...}` in key order.
impl<K: Copy + Ord + Hash + fmt::Debug, V: fmt::Debug> fmt::Debug for IdTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The process table, as [`Kernel::processes`](crate::Kernel::processes) shows it.
pub type ProcessTable = IdTable<ProcessId, crate::Process>;
pub(crate) type EndpointTable = IdTable<EndpointId, crate::ipc::Endpoint>;

/// In key order, so equal tables hash equally whatever their hash map's layout.
impl<K: Copy + Ord + Hash, V: Hash> Hash for IdTable<K, V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.order.len());
        for (k, v) in self.iter() {
            k.hash(state);
            v.hash(state);
        }
    }
}

/// As a sequence of `(key, value)` pairs in key order.
impl<K, V> serde::Serialize for IdTable<K, V>
where
    K: Copy + Ord + Hash + serde::Serialize,
    V: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, K, V> serde::Deserialize<'de> for IdTable<K, V>
where
    K: Copy + Ord + Hash + serde::Deserialize<'de>,
    V: serde::Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pairs: Vec<(K, V)> = serde::Deserialize::deserialize(deserializer)?;
        let mut table = IdTable::default();
        for (k, v) in pairs {
            table.insert(k, v);
        }
        Ok(table)
    }
}
