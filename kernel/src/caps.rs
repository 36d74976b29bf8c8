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

use crate::abi::{self, ErrorCode, rights};
use crate::{
    CapAction, CapId, CapLogEntry, CapabilityInfo, Denied, Kernel, KernelEvent, ObjectRef,
    ProcessId, rights_label, valid_rights,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cap {
    pub id: CapId,
    pub object: ObjectRef,
    pub rights: u32,
    /// Set when an ancestor was revoked; the slot stays occupied (and stale) until deleted.
    pub revoked: bool,
}

#[derive(Clone, Debug, Default)]
struct SlotCell {
    generation: u32,
    cap: Option<Cap>,
}

/// One process's capability slots (at most `abi::slot::CAPACITY`).
#[derive(Clone, Debug, Default)]
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
#[derive(Clone, Debug)]
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
#[derive(Clone, Copy, Debug)]
pub(crate) struct InFlightCap {
    pub source: CapId,
    pub epoch: u32,
    pub object: ObjectRef,
    pub rights: u32,
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

    /// The usable capability in `slot` of `pid`: empty or out of range is `BAD_SLOT`, revoked or
    /// pointing at a dead object is `STALE_CAPABILITY`.
    pub(crate) fn lookup(&self, pid: ProcessId, slot: u32) -> Result<Cap, Denied> {
        let cap = self
            .processes
            .get(&pid)
            .and_then(|p| p.caps.get(slot))
            .copied();
        self.check_cap(cap, slot)
    }

    /// The staleness checks of `lookup`, for a capability already read from its slot.
    pub(crate) fn check_cap(&self, cap: Option<Cap>, slot: u32) -> Result<Cap, Denied> {
        let cap = cap.ok_or_else(|| {
            Denied::new(
                ErrorCode::BadSlot,
                format!("slot {slot} is empty or out of range"),
            )
        })?;
        self.check_live(cap, slot)?;
        Ok(cap)
    }

    /// Revoked, or its object gone: `STALE_CAPABILITY`.
    fn check_live(&self, cap: Cap, slot: u32) -> Result<(), Denied> {
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
        Ok(())
    }

    /// `lookup`, then the rights check.
    pub(crate) fn lookup_with(
        &self,
        pid: ProcessId,
        slot: u32,
        needed: u32,
        what: &str,
    ) -> Result<Cap, Denied> {
        let cap = self.lookup(pid, slot)?;
        if cap.rights & needed != needed {
            return Err(Denied::new(
                ErrorCode::PermissionDenied,
                format!(
                    "slot {slot} ({}, {}) lacks {} needed to {what}",
                    cap.object,
                    rights_label(cap.rights),
                    rights_label(needed)
                ),
            ));
        }
        Ok(cap)
    }

    /// An endpoint capability with `needed` rights, from a capability already read from `slot`.
    /// Whether the endpoint still exists is left to the caller, which looks it up anyway (a
    /// missing endpoint must be reported as `STALE_CAPABILITY` there).
    #[inline]
    pub(crate) fn check_endpoint_cap(
        &self,
        cap: Option<Cap>,
        slot: u32,
        needed: u32,
        what: &str,
    ) -> Result<(Cap, crate::EndpointId), Denied> {
        // The hot path (every SEND and RECEIVE): no refusal to build.
        if let Some(c) = cap
            && !c.revoked
            && c.rights & needed == needed
            && let ObjectRef::Endpoint(e) = c.object
        {
            return Ok((c, e));
        }
        Err(self.endpoint_cap_denied(cap, slot, needed, what))
    }

    /// Why `check_endpoint_cap` refused (checked in its documented order: slot errors, with
    /// a dead object counted as stale like a revoked capability, before rights). Only refusals
    /// get here, so looking the object up costs the hot path nothing.
    #[cold]
    #[inline(never)]
    fn endpoint_cap_denied(&self, cap: Option<Cap>, slot: u32, needed: u32, what: &str) -> Denied {
        if let Some(c) = cap
            && !c.revoked
            && !self.object_alive(c.object)
        {
            return Denied::new(
                ErrorCode::StaleCapability,
                format!("slot {slot}: {} no longer exists", c.object),
            );
        }
        match Self::endpoint_cap_checks(cap, slot, needed, what) {
            Err(d) => d,
            Ok(_) => Denied::new(ErrorCode::BadArgument, "unreachable: capability accepted"),
        }
    }

    fn endpoint_cap_checks(
        cap: Option<Cap>,
        slot: u32,
        needed: u32,
        what: &str,
    ) -> Result<(Cap, crate::EndpointId), Denied> {
        let cap = cap.ok_or_else(|| {
            Denied::new(
                ErrorCode::BadSlot,
                format!("slot {slot} is empty or out of range"),
            )
        })?;
        if cap.revoked {
            return Err(Denied::new(
                ErrorCode::StaleCapability,
                format!("slot {slot} ({}) was revoked", cap.object),
            ));
        }
        let ObjectRef::Endpoint(e) = cap.object else {
            return Err(Denied::new(
                ErrorCode::WrongObjectKind,
                format!("slot {slot} holds the {}, not an endpoint", cap.object),
            ));
        };
        if cap.rights & needed != needed {
            return Err(Denied::new(
                ErrorCode::PermissionDenied,
                format!(
                    "slot {slot} (endpoint {e}, {}) lacks {} needed to {what}",
                    rights_label(cap.rights),
                    rights_label(needed)
                ),
            ));
        }
        Ok((cap, e))
    }

    /// Creates a capability in `pid` (in `slot`, or the lowest free one), as a child of `parent`.
    pub(crate) fn new_cap(
        &mut self,
        pid: ProcessId,
        slot: Option<u32>,
        object: ObjectRef,
        rights: u32,
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
        if let Some(parent_id) = parent {
            if let Some(parent_node) = self.cap_nodes.get_mut(&parent_id) {
                parent_node.children.insert(id);
            }
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
        rights: u32,
        at_ns: u64,
    ) {
        self.cap_log.push(CapLogEntry {
            at_ns,
            pid,
            slot,
            action,
            object,
            rights,
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

    /// Revokes everything derived, granted or transferred from the capability in `slot`
    /// (recursively); the capability itself stays. Returns how many were revoked.
    pub(crate) fn revoke_cap(
        &mut self,
        pid: ProcessId,
        slot: u32,
        now_ns: u64,
    ) -> Result<u32, Denied> {
        let cap = self.lookup(pid, slot)?;
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
            {
                if c.id == id && !c.revoked {
                    c.revoked = true;
                    logged = Some((c.object, c.rights));
                }
            }
            if let Some((object, rights)) = logged {
                revoked = revoked.saturating_add(1);
                self.log_cap(holder, node.slot, CapAction::Revoke, object, rights, now_ns);
            }
        }
        Ok(revoked)
    }

    /// Gives `target` a copy of the capability in `slot` with `new_rights` (a subset).
    pub(crate) fn grant_cap(
        &mut self,
        pid: ProcessId,
        slot: u32,
        target: ProcessId,
        new_rights: u32,
        now_ns: u64,
    ) -> Result<u32, Denied> {
        let cap = self.lookup_with(pid, slot, rights::GRANT, "grant it")?;
        check_subset(slot, cap.rights, new_rights)?;
        if !self
            .processes
            .get(&target)
            .is_some_and(|p| !p.state.is_zombie())
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
            new_rights,
            Some(cap.id),
            CapAction::Grant { to: target },
            now_ns,
        )
    }

    /// A copy of the capability in `slot` with fewer (or the same) rights, in the caller's space.
    pub(crate) fn derive_cap(
        &mut self,
        pid: ProcessId,
        slot: u32,
        new_rights: u32,
        now_ns: u64,
    ) -> Result<u32, Denied> {
        let cap = self.lookup(pid, slot)?;
        check_subset(slot, cap.rights, new_rights)?;
        self.new_cap(
            pid,
            None,
            cap.object,
            new_rights,
            Some(cap.id),
            CapAction::Derive,
            now_ns,
        )
    }

    /// Checks the transfer slot of a SEND and captures the capability for the message.
    pub(crate) fn prepare_transfer(
        &self,
        pid: ProcessId,
        slot: u32,
    ) -> Result<InFlightCap, Denied> {
        let cap = self.lookup_with(pid, slot, rights::GRANT, "transfer it")?;
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
                rights: cap.rights,
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
        if !valid_rights(rights) {
            return Err(ErrorCode::BadArgument);
        }
        if !self.object_alive(object) {
            return Err(ErrorCode::BadArgument);
        }
        self.new_cap(pid, slot, object, rights, None, CapAction::Create, now_ns)
            .map_err(|d| d.code)
    }
}

fn check_subset(slot: u32, have: u32, want: u32) -> Result<(), Denied> {
    if !valid_rights(want) || want & !have != 0 {
        return Err(Denied::new(
            ErrorCode::BadArgument,
            format!(
                "rights {want:#x} are not a subset of slot {slot}'s {}",
                rights_label(have)
            ),
        ));
    }
    Ok(())
}
