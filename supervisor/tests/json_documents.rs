//! The JSON documents behind `window.supervisor` (built natively from a supervisor with a
//! scripted host, so every field the browser tests rely on is checked without a browser).
use std::collections::BTreeMap;

use orbital_supervisor::json::{self, WorkerFacts};
use orbital_supervisor::kernel::KernelConfig;
use orbital_supervisor::testing::ScriptedHost;
use orbital_supervisor::{Clock, Manifest, Supervisor};

/// A supervisor whose guests never run, with worker ids 40 + pid.
fn quiet_supervisor() -> Supervisor {
    let (host, _guests) = ScriptedHost::new();
    let (clock, _time) = Clock::manual();
    Supervisor::new(
        Manifest::builtin().unwrap(),
        Box::new(host.with_worker_id_base(40)),
        KernelConfig::default(),
        clock,
    )
}

#[test]
fn process_endpoint_and_metrics_documents() {
    let mut sup = quiet_supervisor();
    let receiver = sup.spawn_program("receiver").unwrap();
    let sender = sup.spawn_program("sender").unwrap();
    let facts = BTreeMap::from([(
        receiver,
        WorkerFacts {
            spawn_to_first_syscall_ms: Some(1.5),
        },
    )]);

    let list = json::process_list(&sup, &facts);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let r = &list[0];
    assert_eq!(r["pid"], receiver.0);
    assert_eq!(r["name"], "receiver");
    assert_eq!(r["state"], "running");
    assert_eq!(r["worker_id"], 40 + receiver.0);
    assert_eq!(r["mailbox"], "idle");
    assert_eq!(r["protected"], false);
    assert_eq!(r["spawn_to_first_syscall_ms"], 1.5);
    for key in [
        "memory_size",
        "ipc_sent",
        "ipc_received",
        "ipc_bytes_sent",
        "ipc_bytes_received",
        "syscall_count",
    ] {
        assert!(
            r["metrics"][key].is_number(),
            "metrics.{key} missing in {r}"
        );
    }
    assert!(r["memory"].is_number());
    assert_eq!(list[1]["name"], "sender");
    assert!(list[1]["spawn_to_first_syscall_ms"].is_null());

    let endpoints = json::endpoint_list(&sup);
    let inbox = endpoints
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["owner"] == receiver.0)
        .expect("receiver's inbox");
    assert_eq!(inbox["owner_name"], "receiver");
    assert!(inbox["queue_capacity"].as_u64().unwrap() > 0);

    assert_eq!(json::ipc_traffic(&sup, 10), serde_json::json!([]));

    let metrics = json::system_metrics(&sup);
    assert_eq!(metrics["processes"], 2);
    assert_eq!(metrics["live_guests"], 2);
    assert_eq!(metrics["host"], "scripted (test)");

    sup.kill(sender).unwrap();
    let list = json::process_list(&sup, &BTreeMap::new());
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|p| p["pid"] != sender.0),
        "killed processes leave the list"
    );
}

#[test]
fn ended_processes_and_message_counts_stay_until_cleared() {
    let mut sup = quiet_supervisor();
    let receiver = sup.spawn_program("receiver").unwrap();
    let sender = sup.spawn_program("sender").unwrap();
    assert_eq!(json::ended_processes(&sup), serde_json::json!([]));

    sup.kill(sender).unwrap();
    let ended = json::ended_processes(&sup);
    let ended = ended.as_array().unwrap();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["pid"], sender.0);
    assert_eq!(ended[0]["name"], "sender");
    assert_eq!(ended[0]["exit"]["kind"], "killed");
    assert!(ended[0]["metrics"]["syscall_count"].is_number());
    assert!(ended[0]["ended_at_ns"].is_number());

    let metrics = json::system_metrics(&sup);
    assert_eq!(metrics["ended_processes"], 1);
    let m = &metrics["messages"];
    assert_eq!(
        m["sent"].as_u64().unwrap(),
        m["delivered"].as_u64().unwrap()
            + m["queued"].as_u64().unwrap()
            + m["dropped"].as_u64().unwrap(),
        "sent = delivered + queued + dropped: {m}"
    );

    sup.clear_logs();
    assert_eq!(json::ended_processes(&sup), serde_json::json!([]));
    assert_eq!(json::system_metrics(&sup)["ended_processes"], 0);
    assert!(
        json::process_list(&sup, &BTreeMap::new())
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == receiver.0)
    );
}
