//! Capabilities: per-process slot spaces and the derivation tree behind grant, derive,
//! transfer and revoke.
//!
//! A slot holds (object, rights, revoked flag) and the id of its node in the derivation tree.
//! A capability is stale when it was revoked or its object is gone; staleness by a dead object
//! is found at lookup (endpoint and process ids are never reused), so a kill never scans the
//! holders of its endpoints.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::vec::Vec;

use crate::abi::{self, ErrorCode, Rights};
use crate::syscall::Call;
use crate::{
    CapAction, CapId, CapLogEntry, CapabilityInfo, Denied, Kernel, KernelEvent, ObjectRef,
    ProcessId, rights_label,
};
use kind::Kind;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct Cap {
    pub id: CapId,
    pub object: ObjectRef,
    #[serde(with = "crate::snapshot::rights_serde")]
    pub rights: Rights,
    /// Set when an ancestor was revoked; the slot stays occupied (and stale) until deleted.
    pub revoked: bool,
}

#[derive(Clone, Debug, Default, Hash, Serialize, Deserialize)]
struct SlotCell {
    generation: u32,
    cap: Option<Cap>,
}

/// One process's capability slots (at most `abi::slot::CAPACITY`).
#[derive(Clone, Debug, Default, Hash, Serialize, Deserialize)]
pub(crate) struct CapSpace {
    cells: Vec<SlotCell>,
}

impl CapSpace {
    pub fn get(&self, slot: u32) -> Option<&Cap> {
        self.cells.get(slot as usize).and_then(|c| c.cap.as_ref())
    }

    fn get_mut(&mut self, slot: u32) -> Option<&mut Cap> {
        self.cells
            .get_mut(slot as usize)
            .and_then(|c| c.cap.as_mut())
    }

    /// The lowest empty slot.
    pub fn free_slot(&self) -> Option<u32> {
        match self.cells.iter().position(|c| c.cap.is_none()) {
            Some(i) => Some(i as u32),
            None if (self.cells.len() as u32) < abi::slot::CAPACITY => {
                Some(self.cells.len() as u32)
            }
            None => None,
        }
    }

    /// Fills an empty slot; false if it is occupied or out of range.
    fn put(&mut self, slot: u32, cap: Cap) -> bool {
        if slot >= abi::slot::CAPACITY {
            return false;
        }
        let index = slot as usize;
        while self.cells.len() <= index {
            self.cells.push(SlotCell::default());
        }
        match self.cells.get_mut(index) {
            Some(cell) if cell.cap.is_none() => {
                cell.generation = cell.generation.wrapping_add(1);
                cell.cap = Some(cap);
                true
            }
            _ => false,
        }
    }

    fn take(&mut self, slot: u32) -> Option<Cap> {
        self.cells.get_mut(slot as usize).and_then(|c| c.cap.take())
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, &Cap)> {
        self.cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.cap.as_ref().map(|cap| (i as u32, c.generation, cap)))
    }
}

/// A capability's place in the derivation tree.
#[derive(Clone, Debug, Hash, Serialize, Deserialize)]
pub(crate) struct CapNode {
    pub holder: ProcessId,
    pub slot: u32,
    pub parent: Option<CapId>,
    pub children: BTreeSet<CapId>,
    /// Bumped by every revoke of this capability, so a transfer of it still in a queue lapses.
    pub epoch: u32,
}

/// A capability travelling in a queued message: installed in the receiver at delivery, if its
/// source is still unrevoked then.
#[derive(Clone, Copy, Debug, Hash, Serialize, Deserialize)]
pub(crate) struct InFlightCap {
    pub source: CapId,
    pub epoch: u32,
    pub object: ObjectRef,
    #[serde(with = "crate::snapshot::rights_serde")]
    pub rights: Rights,
}

/// The kinds of object a call can require of a capability, as types, so the one check
/// ([`Kernel::cap`]) hands back what the handler needs (an endpoint's id) without a second match.
pub(crate) mod kind {
    use crate::{EndpointId, ObjectRef};

    pub(crate) trait Kind: Copy {
        /// What the check hands back besides the capability.
        type Object: Copy;
        /// The kind as a `WRONG_OBJECT_KIND` reason names it ("an endpoint").
        const NOUN: &'static str;
        /// Whether the accepting path looks the object up. Endpoints are not looked up there:
        /// every endpoint handler looks its endpoint up next and reports a missing one as
        /// `STALE_CAPABILITY`, so SEND and RECEIVE pay for one table lookup, not two.
        const LOOK_UP: bool = true;
        fn admit(object: ObjectRef) -> Option<Self::Object>;
    }

    /// Any object (grant, derive, revoke, transfer).
    #[derive(Clone, Copy)]
    pub(crate) struct Any;

    #[derive(Clone, Copy)]
    pub(crate) struct Endpoint;

    #[derive(Clone, Copy)]
    pub(crate) struct Console;

    #[derive(Clone, Copy)]
    pub(crate) struct ProcessTable;

    impl Kind for Any {
        type Object = ObjectRef;
        const NOUN: &'static str = "an object";
        #[inline]
        fn admit(object: ObjectRef) -> Option<ObjectRef> {
            Some(object)
        }
    }

    impl Kind for Endpoint {
        type Object = EndpointId;
        const NOUN: &'static str = "an endpoint";
        const LOOK_UP: bool = false;
        #[inline]
        fn admit(object: ObjectRef) -> Option<EndpointId> {
            match object {
                ObjectRef::Endpoint(e) => Some(e),
                _ => None,
            }
        }
    }

    impl Kind for Console {
        type Object = ();
        const NOUN: &'static str = "the console";
        #[inline]
        fn admit(object: ObjectRef) -> Option<()> {
            (object == ObjectRef::Console).then_some(())
        }
    }

    impl Kind for ProcessTable {
        type Object = ();
        const NOUN: &'static str = "the process table";
        #[inline]
        fn admit(object: ObjectRef) -> Option<()> {
            (object == ObjectRef::ProcessTable).then_some(())
        }
    }
}

impl Kernel {
    /// Whether the object a capability names still exists (zombies count as gone).
    pub(crate) fn object_alive(&self, object: ObjectRef) -> bool {
        match object {
            ObjectRef::Endpoint(e) => self.endpoints.contains_key(&e),
            ObjectRef::Process(p) => self.processes.get(&p).is_some_and(|p| !p.state.is_zombie()),
            ObjectRef::Console | ObjectRef::ProcessTable => true,
        }
    }

    /// The one capability check: the capability the caller holds in `slot`, pointing at an
    /// object of kind `K` and holding `needed`, or the first refusal in this order: `BAD_SLOT`
    /// (empty or out of range), `STALE_CAPABILITY` (revoked, or its object is gone: a dead
    /// endpoint is STALE before any rights check), `WRONG_OBJECT_KIND`, `PERMISSION_DENIED`.
    /// `to` finishes the rights refusal's reason ("lacks -W- needed to send").
    ///
    /// The slot ARG0 names was read with the caller's state check (`call.arg0`), so the
    /// common case does not look the caller up again; handlers check capabilities before they
    /// change anything, so that read is still current.
    ///
    /// Always inlined: SEND and RECEIVE run it on every call, and out of line it costs them
    /// about 50 instructions a pair (measured with `examples/hot_path.rs` under callgrind).
    #[inline(always)]
    pub(crate) fn cap<K: Kind>(
        &self,
        call: &Call<'_>,
        slot: u32,
        _kind: K,
        needed: Rights,
        to: &str,
    ) -> Result<(Cap, K::Object), Denied> {
        let held = if slot == call.words[0] {
            call.arg0
        } else {
            self.held(call.pid, slot)
        };
        // The accepting path builds no refusal and, for endpoints, looks nothing up.
        if let Some(c) = held
            && !c.revoked
            && c.rights.contains(needed)
            && let Some(object) = K::admit(c.object)
            && (!K::LOOK_UP || self.object_alive(c.object))
        {
            return Ok((c, object));
        }
        self.cap_refused::<K>(held, slot, needed, to)
    }

    /// The capability in `slot` of `pid`, unchecked.
    pub(crate) fn held(&self, pid: ProcessId, slot: u32) -> Option<Cap> {
        self.processes
            .get(&pid)
            .and_then(|p| p.caps.get(slot))
            .copied()
    }

    /// [`Kernel::cap`]'s checks one by one, in their documented order, for a capability its
    /// accepting path did not take (or an endpoint that may be dead).
    #[cold]
    #[inline(never)]
    fn cap_refused<K: Kind>(
        &self,
        held: Option<Cap>,
        slot: u32,
        needed: Rights,
        to: &str,
    ) -> Result<(Cap, K::Object), Denied> {
        let Some(cap) = held else {
            return Err(Denied::new(
                ErrorCode::BadSlot,
                format!("slot {slot} is empty or out of range"),
            ));
        };
        if cap.revoked {
            return Err(Denied::new(
                ErrorCode::StaleCapability,
                format!("slot {slot} ({}) was revoked", cap.object),
            ));
        }
        if !self.object_alive(cap.object) {
            return Err(Denied::new(
                ErrorCode::StaleCapability,
                format!("slot {slot}: {} no longer exists", cap.object),
            ));
        }
        let Some(object) = K::admit(cap.object) else {
            return Err(Denied::new(
                ErrorCode::WrongObjectKind,
                format!("slot {slot} holds the {}, not {}", cap.object, K::NOUN),
            ));
        };
        if !cap.rights.contains(needed) {
            return Err(Denied::new(
                ErrorCode::PermissionDenied,
                format!(
                    "slot {slot} ({}, {}) lacks {} needed to {to}",
                    cap.object,
                    rights_label(cap.rights.bits()),
                    rights_label(needed.bits())
                ),
            ));
        }
        Ok((cap, object))
    }

    /// Creates a capability in `pid` (in `slot`, or the lowest free one), as a child of `parent`.
    #[allow(
        clippy::too_many_arguments,
        reason = "each argument is one fact of the new capability and its log entry"
    )]
    pub(crate) fn new_cap(
        &mut self,
        pid: ProcessId,
        slot: Option<u32>,
        object: ObjectRef,
        rights: Rights,
        parent: Option<CapId>,
        action: CapAction,
        now_ns: u64,
    ) -> Result<u32, Denied> {
        let id = CapId(self.next_cap);
        let process = match self.processes.get_mut(&pid) {
            Some(p) if !p.state.is_zombie() => p,
            _ => {
                return Err(Denied::new(
                    ErrorCode::NoSuchProcess,
                    format!("pid {pid} is not a live process"),
                ));
            }
        };
        let slot = match slot {
            Some(s) => s,
            None => process.caps.free_slot().ok_or_else(|| {
                Denied::new(
                    ErrorCode::CapSpaceFull,
                    format!("pid {pid} has no free capability slot"),
                )
            })?,
        };
        if !process.caps.put(
            slot,
            Cap {
                id,
                object,
                rights,
                revoked: false,
            },
        ) {
            return Err(Denied::new(
                ErrorCode::BadSlot,
                format!("slot {slot} of pid {pid} is occupied or out of range"),
            ));
        }
        self.next_cap = self.next_cap.wrapping_add(1);
        if let Some(parent_id) = parent
            && let Some(parent_node) = self.cap_nodes.get_mut(&parent_id)
        {
            parent_node.children.insert(id);
        }
        let parent = parent.filter(|p| self.cap_nodes.contains_key(p));
        self.cap_nodes.insert(
            id,
            CapNode {
                holder: pid,
                slot,
                parent,
                children: BTreeSet::new(),
                epoch: 0,
            },
        );
        self.log_cap(pid, slot, action, object, rights, now_ns);
        Ok(slot)
    }

    pub(crate) fn log_cap(
        &mut self,
        pid: ProcessId,
        slot: u32,
        action: CapAction,
        object: ObjectRef,
        rights: Rights,
        at_ns: u64,
    ) {
        self.cap_log.push(CapLogEntry {
            at_ns,
            pid,
            slot,
            action,
            object,
            rights: rights.bits(),
        });
        self.emit(KernelEvent::CapabilityChanged {
            pid,
            slot,
            action,
            at_ns,
        });
    }

    /// Removes a node from the tree; its children move up to its parent, so whoever granted
    /// the removed capability can still revoke what was passed on from it.
    fn unlink_node(&mut self, id: CapId) {
        let Some(node) = self.cap_nodes.remove(&id) else {
            return;
        };
        if let Some(parent) = node.parent.and_then(|p| self.cap_nodes.get_mut(&p)) {
            parent.children.remove(&id);
            parent.children.extend(node.children.iter().copied());
        }
        for child in &node.children {
            if let Some(c) = self.cap_nodes.get_mut(child) {
                c.parent = node.parent;
            }
        }
    }

    /// Empties a slot (revoked or not). `BAD_SLOT` if it is already empty.
    pub(crate) fn delete_cap(
        &mut self,
        pid: ProcessId,
        slot: u32,
        now_ns: u64,
    ) -> Result<(), Denied> {
        let cap = self
            .processes
            .get_mut(&pid)
            .and_then(|p| p.caps.take(slot))
            .ok_or_else(|| {
                Denied::new(
                    ErrorCode::BadSlot,
                    format!("slot {slot} is empty or out of range"),
                )
            })?;
        self.unlink_node(cap.id);
        self.log_cap(pid, slot, CapAction::Delete, cap.object, cap.rights, now_ns);
        Ok(())
    }

    /// Drops every capability a dying process holds (no log entries: the death is the event).
    pub(crate) fn release_caps(&mut self, pid: ProcessId) {
        let caps = match self.processes.get_mut(&pid) {
            Some(p) => core::mem::take(&mut p.caps),
            None => return,
        };
        for (_, _, cap) in caps.iter() {
            self.unlink_node(cap.id);
        }
    }

    /// Revokes everything derived, granted or transferred from `cap` (recursively); `cap`
    /// itself stays. Returns how many were revoked.
    pub(crate) fn revoke_cap(&mut self, cap: Cap, now_ns: u64) -> u32 {
        let children = match self.cap_nodes.get_mut(&cap.id) {
            Some(node) => {
                node.epoch = node.epoch.wrapping_add(1);
                core::mem::take(&mut node.children)
            }
            None => BTreeSet::new(),
        };
        let mut stack: Vec<CapId> = children.into_iter().collect();
        let mut revoked = 0u32;
        while let Some(id) = stack.pop() {
            let Some(node) = self.cap_nodes.remove(&id) else {
                continue;
            };
            stack.extend(node.children.iter().copied());
            let holder = node.holder;
            let mut logged = None;
            if let Some(c) = self
                .processes
                .get_mut(&holder)
                .and_then(|p| p.caps.get_mut(node.slot))
                && c.id == id
                && !c.revoked
            {
                c.revoked = true;
                logged = Some((c.object, c.rights));
            }
            if let Some((object, rights)) = logged {
                revoked = revoked.saturating_add(1);
                self.log_cap(holder, node.slot, CapAction::Revoke, object, rights, now_ns);
            }
        }
        revoked
    }

    /// Gives `target` a copy of `cap` (checked for `GRANT`) with `rights`, a subset of its own.
    pub(crate) fn grant_cap(
        &mut self,
        cap: Cap,
        target: ProcessId,
        rights: Rights,
        now_ns: u64,
    ) -> Result<u32, Denied> {
        if self
            .processes
            .get(&target)
            .is_none_or(|p| p.state.is_zombie())
        {
            return Err(Denied::new(
                ErrorCode::NoSuchProcess,
                format!("pid {target} is not a live process"),
            ));
        }
        self.new_cap(
            target,
            None,
            cap.object,
            rights,
            Some(cap.id),
            CapAction::Grant { to: target },
            now_ns,
        )
    }

    /// A copy of `cap` with `rights` (a subset of its own), in `pid`'s space.
    pub(crate) fn derive_cap(
        &mut self,
        pid: ProcessId,
        cap: Cap,
        rights: Rights,
        now_ns: u64,
    ) -> Result<u32, Denied> {
        self.new_cap(
            pid,
            None,
            cap.object,
            rights,
            Some(cap.id),
            CapAction::Derive,
            now_ns,
        )
    }

    /// Checks the transfer slot of a SEND (`GRANT` on any object) and captures the capability
    /// for the message.
    pub(crate) fn prepare_transfer(
        &self,
        call: &Call<'_>,
        slot: u32,
    ) -> Result<InFlightCap, Denied> {
        let (cap, _) = self.cap(call, slot, kind::Any, Rights::GRANT, "transfer it")?;
        let epoch = self.cap_nodes.get(&cap.id).map(|n| n.epoch).unwrap_or(0);
        Ok(InFlightCap {
            source: cap.id,
            epoch,
            object: cap.object,
            rights: cap.rights,
        })
    }

    /// Installs a transferred capability in the receiver; `abi::slot::NONE` if it lapsed (its
    /// source was revoked or deleted, or its object died) or the receiver has no free slot.
    pub(crate) fn land_transfer(
        &mut self,
        t: InFlightCap,
        receiver: ProcessId,
        now_ns: u64,
    ) -> u32 {
        let source_ok = self
            .cap_nodes
            .get(&t.source)
            .is_some_and(|n| n.epoch == t.epoch);
        if !source_ok || !self.object_alive(t.object) {
            return abi::slot::NONE;
        }
        match self.new_cap(
            receiver,
            None,
            t.object,
            t.rights,
            Some(t.source),
            CapAction::Transfer { to: receiver },
            now_ns,
        ) {
            Ok(slot) => slot,
            Err(d) => {
                self.emit(KernelEvent::RequestDenied {
                    pid: receiver,
                    syscall: abi::nr::RECEIVE,
                    error: d.code,
                    reason: format!("transferred {} dropped: {}", t.object, d.reason),
                    at_ns: now_ns,
                });
                abi::slot::NONE
            }
        }
    }

    /// Every occupied slot of `pid` (empty for unknown pids and zombies).
    pub fn capabilities(&self, pid: ProcessId) -> Vec<CapabilityInfo> {
        let Some(p) = self.processes.get(&pid) else {
            return Vec::new();
        };
        p.caps
            .iter()
            .map(|(slot, generation, cap)| CapabilityInfo {
                slot,
                object: cap.object,
                rights: cap.rights.bits(),
                generation,
                stale: cap.revoked || !self.object_alive(cap.object),
            })
            .collect()
    }

    /// Puts a capability in the lowest free slot of `pid` (the supervisor wiring a program).
    pub fn install_capability(
        &mut self,
        pid: ProcessId,
        object: ObjectRef,
        rights: u32,
        now_ns: u64,
    ) -> Result<u32, ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        self.install(pid, None, object, rights, now_ns)
    }

    /// Puts a capability in a given empty slot (so a missing optional connect can leave a gap).
    pub fn install_capability_at(
        &mut self,
        pid: ProcessId,
        slot: u32,
        object: ObjectRef,
        rights: u32,
        now_ns: u64,
    ) -> Result<(), ErrorCode> {
        let now_ns = self.observe_time(now_ns);
        self.install(pid, Some(slot), object, rights, now_ns)
            .map(|_| ())
    }

    fn install(
        &mut self,
        pid: ProcessId,
        slot: Option<u32>,
        object: ObjectRef,
        rights: u32,
        now_ns: u64,
    ) -> Result<u32, ErrorCode> {
        let rights = Rights::from_bits(rights).ok_or(ErrorCode::BadArgument)?;
        if !self.object_alive(object) {
            return Err(ErrorCode::BadArgument);
        }
        self.new_cap(pid, slot, object, rights, None, CapAction::Create, now_ns)
            .map_err(|d| d.code)
    }
}
