//! Sync v1, natively: named fault cases and a deterministic simulation (proptest) of one server
//! and several devices over a network that drops, duplicates, delays and reorders messages.

#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)]
#[path = "contract/decorate.rs"]
mod decorate;
mod sync_net;

use std::collections::HashSet;

use evstore::sync::{LinkState, PushOutcome, PushPolicy};
use evstore::{
    ExpectedRevision, Json, ProposedEvent, ReadOptions, SubscribeOptions, SubscriptionMessage,
};
use futures::executor::block_on;
use sync_net::{check_log, content, Packet, World};

const ANY: ExpectedRevision = ExpectedRevision::Any;
const NEW: ExpectedRevision = ExpectedRevision::NoStream;

/// Every device holds the server's log restricted to the streams it holds (all of it, for a
/// device that selects every stream with a token for every stream), at the server's positions.
fn converged(w: &World) {
    check_log(&w.server_log(), "server");
    for d in 0..w.devices.len() {
        let local = w.local_log(d);
        check_log(&local, "device");
        assert_eq!(
            content(&local),
            content(&w.server_log_for(d)),
            "device {d} equals the server (restricted to {} within {})",
            w.devices[d].selection,
            w.devices[d].token
        );
    }
}

fn conflicts(w: &World, d: usize) -> Vec<evstore::sync::Conflict> {
    block_on(w.devices[d].client.conflicts()).unwrap()
}

#[test]
fn online_appends_are_confirmed_where_they_are() {
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    w.append(0, "Cart-1", 2, NEW).unwrap();
    w.append(0, "Cart-2", 1, NEW).unwrap();
    w.settle();
    converged(&w);
    let s = w.devices[0].client.status();
    assert_eq!(
        (s.state, s.pending, s.conflicts, s.confirmed),
        (LinkState::Online, 0, 0, Some(2))
    );
    assert!(s.caught_up);
}

#[test]
fn offline_appends_on_two_devices_merge_and_untouched_streams_keep_revisions() {
    let mut w = World::new(2);
    w.append(0, "A-1", 2, NEW).unwrap();
    w.append(1, "B-1", 3, NEW).unwrap();
    w.connect(1);
    w.settle();
    w.connect(0);
    w.settle();
    converged(&w);
    let a: Vec<_> = w
        .server_log()
        .into_iter()
        .filter(|e| e.stream_id.as_str() == "A-1")
        .map(|e| e.revision)
        .collect();
    assert_eq!(a, vec![0, 1], "revisions as appended locally");
}

#[test]
fn two_devices_offline_on_one_stream_conflict_then_retry_or_discard() {
    for resolve_by_retry in [true, false] {
        let mut w = World::new(2);
        w.append(0, "Doc-1", 1, NEW).unwrap();
        w.append(1, "Doc-1", 1, NEW).unwrap();
        w.append(1, "Doc-1", 1, ExpectedRevision::Exact(0)).unwrap(); // a chain behind it
        w.append(1, "Other-1", 1, NEW).unwrap(); // another stream goes on
        w.connect(0);
        w.settle();
        w.connect(1);
        w.settle();
        let cs = conflicts(&w, 1);
        assert_eq!(cs.len(), 1);
        let c = &cs[0];
        assert_eq!(c.stream_id.as_str(), "Doc-1");
        assert_eq!((c.expected, c.actual), (NEW, Some(0)));
        assert_eq!(
            c.pending.len(),
            2,
            "the conflicting append and the one behind it"
        );
        assert_eq!(c.theirs.len(), 1);
        assert_eq!(c.theirs[0].id, w.devices[0].acked[0].1[0]);
        let s = w.devices[1].client.status();
        assert_eq!((s.pending, s.conflicts, s.pushable), (2, 1, 0));
        // Held events stay visible, on top of the server's.
        let local: Vec<_> = block_on(
            w.devices[1]
                .store
                .read_stream("Doc-1", ReadOptions::forwards()),
        )
        .unwrap();
        assert_eq!(
            local.iter().map(|e| e.revision).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(local[0].id, c.theirs[0].id);
        assert!(
            w.server_log()
                .iter()
                .any(|e| e.stream_id.as_str() == "Other-1"),
            "other streams synced"
        );
        if resolve_by_retry {
            let e = ProposedEvent::new("Merged", Json::null());
            block_on(
                w.devices[1]
                    .client
                    .retry("Doc-1", vec![e], ExpectedRevision::Exact(0)),
            )
            .unwrap();
        } else {
            block_on(w.devices[1].client.discard("Doc-1")).unwrap();
        }
        w.settle();
        converged(&w);
        assert!(conflicts(&w, 1).is_empty());
        let doc = block_on(w.server.store.read_stream("Doc-1", ReadOptions::forwards())).unwrap();
        assert_eq!(doc.len(), if resolve_by_retry { 2 } else { 1 });
        assert_eq!(
            block_on(w.devices[1].client.discard("Doc-1"))
                .unwrap_err()
                .code(),
            "INVALID_ARGUMENT"
        );
    }
}

#[test]
fn conflicts_survive_a_reload() {
    let mut w = World::new(2);
    w.append(0, "Doc-1", 1, NEW).unwrap();
    w.append(1, "Doc-1", 1, NEW).unwrap();
    w.connect(0);
    w.settle();
    w.connect(1);
    w.settle();
    w.reload(1);
    assert_eq!(conflicts(&w, 1).len(), 1);
    assert_eq!(
        block_on(w.devices[1].client.refresh()).unwrap().conflicts,
        1
    );
}

#[test]
fn any_appends_never_conflict() {
    let mut w = World::new(3);
    for d in 0..3 {
        w.append(d, "Log-1", 2, ANY).unwrap();
    }
    for d in 0..3 {
        w.connect(d);
    }
    w.settle();
    converged(&w);
    assert_eq!(w.server_log().len(), 6);
    assert!((0..3).all(|d| conflicts(&w, d).is_empty()));
}

#[test]
fn a_lost_push_reply_is_retried_safely_also_after_the_stream_moved_on() {
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    w.settle();
    w.append(0, "Doc-1", 1, NEW).unwrap();
    // Deliver the push to the server, then lose everything it answered and the connection.
    w.deliver_to_server();
    w.disconnect(0);
    // The stream moves on meanwhile.
    w.settle();
    w.append(1, "Doc-1", 1, ExpectedRevision::Exact(0)).unwrap();
    w.settle();
    w.connect(0);
    w.settle();
    converged(&w);
    assert_eq!(w.server_log().len(), 2);
    assert!(
        conflicts(&w, 0).is_empty(),
        "a retry of a stored append is not a conflict"
    );
}

#[test]
fn the_same_push_delivered_twice_is_stored_once() {
    let mut w = World::new(1);
    w.connect(0);
    w.settle();
    w.append(0, "Doc-1", 2, NEW).unwrap();
    let push = w
        .net
        .iter()
        .position(|p| matches!(p, Packet::ToServer(_, _)))
        .unwrap();
    w.duplicate(push);
    w.settle();
    converged(&w);
    assert_eq!(w.server_log().len(), 2);
}

#[test]
fn server_answers_ok_already_conflict_rejected_and_blocked() {
    use evstore::sync::PushAppend;
    use evstore::{EventStore, MemoryStorage, NewEvent, StreamId, Uuid};
    let server = EventStore::new(MemoryStorage::new());
    let ev = |n: u128| NewEvent {
        id: Uuid::from_u128(n),
        event_type: "T".into(),
        data: Json::null(),
        metadata: Json::empty_object(),
    };
    let push = |seq, stream: &str, expected, events| PushAppend {
        kind: evstore::sync::PushKind::Events,
        seq,
        stream_id: StreamId::new(stream).unwrap(),
        expected,
        events,
        created_at: 1_600_000_000_000,
    };
    let accept = |appends: Vec<PushAppend>| {
        block_on(server.accept_push(appends.into_iter().map(Ok).collect(), PushPolicy::default()))
    };
    let first = accept(vec![
        push(0, "S-1", NEW, vec![ev(1)]),
        push(1, "S-1", NEW, vec![ev(2)]), // conflict
        push(2, "S-1", ANY, vec![ev(3)]), // blocked behind it
        push(3, "S-2", ANY, vec![ev(1)]), // id stored elsewhere: rejected
        push(4, "S-3", ANY, vec![ev(4)]),
    ]);
    assert!(matches!(
        first[0],
        PushOutcome::Ok {
            position: 0,
            next_expected_revision: 0
        }
    ));
    match &first[1] {
        PushOutcome::Conflict {
            actual,
            theirs,
            theirs_cut,
            rejection,
        } => {
            assert_eq!(*actual, Some(0));
            assert_eq!(*theirs_cut, None);
            assert_eq!(
                theirs.iter().map(|e| e.id).collect::<Vec<_>>(),
                vec![Uuid::from_u128(1)]
            );
            assert!(rejection.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(first[2], PushOutcome::Blocked));
    assert!(
        matches!(&first[3], PushOutcome::Conflict { rejection: Some(e), .. } if e.code == "DUPLICATE_EVENT_ID")
    );
    assert!(matches!(first[4], PushOutcome::Ok { position: 1, .. }));
    let again = accept(vec![push(0, "S-1", NEW, vec![ev(1)])]);
    assert!(matches!(again[0], PushOutcome::Already { position: 0, .. }));
    let all = block_on(server.read_all(ReadOptions::forwards())).unwrap();
    assert_eq!(all.len(), 2);
    assert!(
        all.iter().all(|e| e.created_at == 1_600_000_000_000),
        "createdAt kept"
    );
    let bad = accept(vec![push(
        9,
        "S-4",
        ANY,
        vec![NewEvent {
            event_type: "".into(),
            ..ev(9)
        }],
    )]);
    assert!(
        matches!(&bad[0], PushOutcome::Conflict { rejection: Some(e), .. } if e.code == "INVALID_ARGUMENT")
    );
}

#[test]
fn live_events_before_and_after_the_push_result() {
    for results_first in [true, false] {
        let mut w = World::new(2);
        w.connect(0);
        w.connect(1);
        w.settle();
        w.append(0, "Doc-1", 1, NEW).unwrap();
        w.deliver_to_server();
        // The server answered with a live events frame and the push result: deliver them to
        // device 0 in either order.
        let conn0 = w.devices[0].conn.unwrap();
        let mut mine: Vec<usize> = (0..w.net.len())
            .filter(|&i| w.net[i].conn() == conn0)
            .collect();
        if results_first {
            mine.reverse();
        }
        let packets: Vec<Packet> = mine.iter().map(|&i| w.net[i].clone()).collect();
        w.net.retain(|p| p.conn() != conn0);
        w.net.splice(0..0, packets);
        w.settle();
        converged(&w);
        assert_eq!(w.devices[0].client.status().pending, 0);
    }
}

#[test]
fn the_server_restarted_mid_push() {
    let mut w = World::new(1);
    w.connect(0);
    w.settle();
    w.append(0, "Doc-1", 1, NEW).unwrap();
    w.deliver_to_server(); // decided and committed, reply never sent
    w.restart_server();
    w.append(0, "Doc-1", 1, ExpectedRevision::Exact(0)).unwrap();
    w.connect(0);
    w.settle();
    converged(&w);
    assert_eq!(w.server_log().len(), 2);
}

#[test]
fn a_client_reloaded_mid_rebase_loses_nothing() {
    // A rebase is one local transaction: a reload before it commits finds the state before it,
    // and syncing again converges.
    let mut w = World::new(2);
    w.append(0, "A-1", 1, NEW).unwrap();
    w.append(1, "B-1", 1, NEW).unwrap();
    w.connect(0);
    w.settle();
    w.connect(1);
    // Deliver only part of the traffic, then reload.
    for _ in 0..2 {
        if !w.net.is_empty() {
            w.deliver(0);
        }
    }
    w.reload(1);
    let log = w.local_log(1);
    check_log(&log, "reloaded");
    assert!(log.iter().any(|e| e.id == w.devices[1].acked[0].1[0]));
    w.connect(1);
    w.settle();
    converged(&w);
}

#[test]
fn a_failure_at_any_step_of_a_rebase_changes_nothing() {
    // Every primitive of the ingest fails in turn (a crash or a reload mid-rebase: the local
    // transaction never commits). Each time the store is as before; then the rebase completes.
    use decorate::{layered, Faults};
    use evstore::sync::{Outbox, ServerMessage, SyncClient};
    use evstore::{EventStore, Layered, MemoryStorage, StoreOptions};
    use std::rc::Rc;
    let server = EventStore::new(MemoryStorage::new());
    let other = |t: &str| ProposedEvent::new(t, Json::null());
    block_on(server.append("Doc-1", vec![other("Theirs")], NEW)).unwrap();
    block_on(server.append("C-1", vec![other("Theirs")], NEW)).unwrap();
    let frame = block_on(server.read_all(ReadOptions::forwards())).unwrap();
    let mut injected_any = true;
    let mut n = 0;
    while injected_any {
        let (faulty, faults) = layered(Rc::new(MemoryStorage::new()), Faults::default());
        let store = Rc::new(EventStore::over(
            Rc::new(Layered::over(faulty, Rc::new(Outbox))),
            StoreOptions::default(),
        ));
        let client = SyncClient::new(store.clone());
        for (stream, expected) in [
            ("B-1", NEW),
            ("Doc-1", NEW),
            ("B-1", ExpectedRevision::Exact(0)),
        ] {
            block_on(store.append(stream, vec![other("Mine")], expected)).unwrap();
        }
        block_on(client.connected()).unwrap();
        let before = content(&block_on(store.read_all(ReadOptions::forwards())).unwrap());
        let status = block_on(client.refresh()).unwrap();
        faults.fail_nth(n);
        let r = block_on(client.receive(ServerMessage::Events {
            events: frame.clone(),
            epoch: None,
            after: None,
            through: frame[frame.len() - 1].position,
        }));
        injected_any = faults.injected.get() > 0;
        faults.heal();
        if injected_any {
            assert!(r.is_err(), "step {n}: the failure is reported");
            assert_eq!(
                content(&block_on(store.read_all(ReadOptions::forwards())).unwrap()),
                before,
                "step {n}"
            );
            assert_eq!(block_on(client.refresh()).unwrap(), status, "step {n}");
            block_on(client.receive(ServerMessage::Events {
                events: frame.clone(),
                epoch: None,
                after: None,
                through: frame[frame.len() - 1].position,
            }))
            .unwrap();
        }
        let log = block_on(store.read_all(ReadOptions::forwards())).unwrap();
        check_log(&log, "after the rebase");
        assert_eq!(
            content(&log[..2]),
            content(&frame),
            "step {n}: the server's events first"
        );
        assert_eq!(
            block_on(client.conflicts()).unwrap().len(),
            1,
            "step {n}: Doc-1 held"
        );
        assert_eq!(block_on(client.refresh()).unwrap().pending, 3);
        n += 1;
    }
    assert!(n > 5, "the rebase takes several primitives ({n})");
}

#[test]
fn a_server_that_lost_its_log_gets_every_queued_append_again() {
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    w.append(0, "Doc-1", 1, NEW).unwrap();
    w.settle(); // confirmed on the old log
    w.disconnect(1);
    w.append(1, "Doc-1", 1, ExpectedRevision::Exact(0)).unwrap(); // pending on device 1
    w.append(1, "New-1", 2, NEW).unwrap();
    w.wipe_server();
    w.append(0, "Other-1", 1, NEW).unwrap(); // pending on device 0
    w.connect(0);
    w.settle();
    w.connect(1);
    w.settle();
    // Device 1's append to Doc-1 expected the event the server lost: a conflict, not a loss.
    let cs = conflicts(&w, 1);
    assert_eq!(
        cs.iter().map(|c| c.stream_id.as_str()).collect::<Vec<_>>(),
        ["Doc-1"]
    );
    block_on(w.devices[1].client.discard("Doc-1")).unwrap();
    w.settle();
    converged(&w);
    let server: HashSet<_> = w.server_log().iter().map(|e| e.id).collect();
    for (stream, ids) in w.devices[1].acked.iter().chain(&w.devices[0].acked) {
        if stream != "Doc-1" {
            assert!(
                ids.iter().all(|id| server.contains(id)),
                "{stream} pushed again"
            );
        }
    }
}

/// Drains what `sub` has ready into `model` (positions and ids), counting rebases.
fn drain_into(
    sub: &mut evstore::Subscription,
    model: &mut Vec<(u64, evstore::Uuid)>,
    rebases: &mut usize,
) {
    loop {
        match futures::FutureExt::now_or_never(sub.next()) {
            Some(Some(Ok(SubscriptionMessage::Event(e)))) => model.push((e.position, e.id)),
            Some(Some(Ok(SubscriptionMessage::Rebase { after }))) => {
                *rebases += 1;
                model.retain(|(p, _)| after.is_some_and(|a| *p <= a));
            }
            Some(Some(Ok(SubscriptionMessage::CaughtUp))) => {}
            Some(other) => panic!("{other:?}"),
            None => break,
        }
    }
}

#[test]
fn a_partial_device_holds_its_streams_at_the_servers_positions_and_reopens_narrower_or_wider() {
    use sync_net::selection;
    sync_net::HOLES.with(|h| h.set(true)); // partial logs have holes
    let mut w = World::scoped(vec![
        (selection(&["*"]), selection(&["*"])),
        (selection(&["List-7", "Item-7-*"]), selection(&["*"])),
        (selection(&["*"]), selection(&["List-7", "Item-7-*"])),
    ]);
    for (stream, n) in [
        ("List-7", 1),
        ("List-8", 1),
        ("Item-7-1", 2),
        ("Item-8-1", 1),
    ] {
        w.append(0, stream, n, NEW).unwrap();
    }
    for d in 0..3 {
        w.connect(d);
    }
    w.settle();
    converged(&w);
    let positions = |w: &World, d: usize| -> Vec<(String, u64)> {
        w.local_log(d)
            .iter()
            .map(|e| (e.stream_id.to_string(), e.position))
            .collect()
    };
    let held = vec![
        ("List-7".to_owned(), 0),
        ("Item-7-1".to_owned(), 2),
        ("Item-7-1".to_owned(), 3),
    ];
    assert_eq!(
        positions(&w, 1),
        held,
        "the server's positions, holes elsewhere"
    );
    assert_eq!(positions(&w, 2), held, "the token's streams only");
    // Every device's confirmed prefix reaches the server's head (an empty frame covers the rest).
    for d in 0..3 {
        assert_eq!(
            w.devices[d].client.status().confirmed,
            Some(4),
            "device {d}"
        );
    }

    // A local write outside the selection: refused at once, naming it; nothing written.
    let before = w.devices[1].storage.raw_dump();
    let e = w.append(1, "List-8", 1, ANY).unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT");
    assert_eq!(
        e.to_string(),
        r#"stream "List-8" is outside this store's sync selection ["List-7", "Item-7-*"]"#
    );
    let e = w
        .call(1, |s| block_on(s.delete_stream("Item-8-1", ANY)))
        .unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
    assert_eq!(w.devices[1].storage.raw_dump(), before);
    // Inside it, at once, after the confirmed position (the log's holes included).
    let r = w.append(1, "Item-7-2", 1, NEW).unwrap();
    assert_eq!(r.position, 5);

    // Outside the token: the server refuses it, FORBIDDEN; the app discards.
    w.append(2, "List-8", 1, ANY).unwrap();
    w.settle();
    let held_conflicts = conflicts(&w, 2);
    assert_eq!(held_conflicts.len(), 1);
    let rejection = held_conflicts[0].rejection.clone().unwrap();
    assert_eq!(rejection.0, "FORBIDDEN", "{rejection:?}");
    assert!(held_conflicts[0].theirs.is_empty());
    block_on(w.devices[2].client.discard("List-8")).unwrap();
    w.settle();
    converged(&w);

    // Reopen narrower: the unselected confirmed events leave local storage at once (offline),
    // and a subscription that delivered them rebases.
    let old_store = w.devices[1].store.clone();
    let mut sub = block_on(old_store.subscribe(SubscribeOptions::default())).unwrap();
    let (mut model, mut rebases) = (Vec::new(), 0);
    drain_into(&mut sub, &mut model, &mut rebases);
    assert_eq!(model.len(), 4);
    let item_ids: Vec<_> = w
        .local_log(1)
        .iter()
        .filter(|e| e.stream_id.as_str().starts_with("Item-"))
        .map(|e| e.id)
        .collect();
    w.reselect(1, selection(&["List-7"]));
    assert_eq!(positions(&w, 1), vec![("List-7".to_owned(), 0)]);
    let stored = sync_net::stored_ids(&w.devices[1].storage);
    assert!(
        item_ids.iter().all(|id| !stored.contains(id)),
        "removed from storage"
    );
    drain_into(&mut sub, &mut model, &mut rebases);
    assert_eq!(rebases, 1);
    assert_eq!(model.len(), 1);
    w.connect(1);
    w.settle();
    converged(&w);

    // Reopen wider: the newly selected streams' history is fetched, at the server's positions.
    w.reselect(1, selection(&["List-7", "Item-*"]));
    assert!(block_on(w.devices[1].client.refresh()).unwrap().resetting);
    w.connect(1);
    w.settle();
    converged(&w);
    let streams: Vec<String> = positions(&w, 1).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        streams,
        ["List-7", "Item-7-1", "Item-7-1", "Item-8-1", "Item-7-2"]
    );
}

#[test]
fn a_subscription_sees_rebases_and_ends_equal_to_read_all() {
    use std::rc::Rc;
    let mut w = World::new(2);
    let store = w.devices[1].store.clone();
    let sub = block_on(store.subscribe(SubscribeOptions::default())).unwrap();
    let model = Rc::new(std::cell::RefCell::new(Vec::<(u64, evstore::Uuid)>::new()));
    let rebases = Rc::new(std::cell::Cell::new(0));
    let mut sub = Some(sub);
    let drain = |sub: &mut evstore::Subscription| loop {
        let next = futures::FutureExt::now_or_never(sub.next());
        match next {
            Some(Some(Ok(SubscriptionMessage::Event(e)))) => {
                model.borrow_mut().push((e.position, e.id))
            }
            Some(Some(Ok(SubscriptionMessage::Rebase { after }))) => {
                rebases.set(rebases.get() + 1);
                model
                    .borrow_mut()
                    .retain(|(p, _)| after.is_some_and(|a| *p <= a));
            }
            Some(Some(Ok(SubscriptionMessage::CaughtUp))) => {}
            Some(other) => panic!("{other:?}"),
            None => break,
        }
    };
    w.append(1, "B-1", 2, NEW).unwrap();
    w.append(0, "A-1", 1, NEW).unwrap();
    drain(sub.as_mut().unwrap());
    w.connect(0);
    w.settle();
    w.connect(1);
    w.settle();
    drain(sub.as_mut().unwrap());
    let log: Vec<_> = w.local_log(1).iter().map(|e| (e.position, e.id)).collect();
    assert_eq!(*model.borrow(), log);
    assert!(
        rebases.get() >= 1,
        "device 1's pending events moved after device 0's"
    );
    converged(&w);
}

#[test]
fn held_appends_are_kept_and_counted_across_offline_and_auth_like_pauses() {
    let mut w = World::new(1);
    w.append(0, "Doc-1", 1, NEW).unwrap();
    assert_eq!(w.devices[0].client.status().state, LinkState::Offline);
    assert_eq!(block_on(w.devices[0].client.refresh()).unwrap().pending, 1);
    w.reload(0);
    assert_eq!(block_on(w.devices[0].client.refresh()).unwrap().pending, 1);
    w.connect(0);
    w.settle();
    converged(&w);
    let seen: HashSet<_> = w.server_log().iter().map(|e| e.id).collect();
    assert!(w.devices[0]
        .acked
        .iter()
        .all(|(_, ids)| ids.iter().all(|i| seen.contains(i))));
}

mod schemas {
    //! Two app versions in one tenant: stored forms travel unchanged; each device reads them
    //! upcast by its own schema (issue 22).

    use super::*;
    use evstore::{Error, RecordedEvent, Schema, UpcastError, CAUSATION_ID, CORRELATION_ID};
    use serde_json::{json, Value};

    /// `ItemAdded` at `version`: v1 `{name}`, v2 `{name, qty}`, v3 `{title, qty}`.
    pub(super) fn items(version: u32) -> Schema {
        let mut schema = Schema::new().event("ItemAdded", version);
        if version > 1 {
            schema = schema.upcast("ItemAdded", 1, |mut data: Value, _: &RecordedEvent| {
                data["qty"] = 1.into();
                Ok::<_, UpcastError>(data)
            });
        }
        if version > 2 {
            schema = schema.upcast("ItemAdded", 2, |data: Value, _: &RecordedEvent| {
                Ok::<_, UpcastError>(json!({ "title": data["name"], "qty": data["qty"] }))
            });
        }
        schema
    }

    fn item(data: Value) -> ProposedEvent {
        ProposedEvent::new("ItemAdded", Json::from_value(&data).unwrap())
    }

    fn value(json: &Json) -> Value {
        json.to_value().unwrap()
    }

    fn in_stream<'a>(log: &'a [RecordedEvent], stream: &str) -> Vec<&'a RecordedEvent> {
        log.iter()
            .filter(|e| e.stream_id.as_str() == stream)
            .collect()
    }

    /// Folds a list's item names (`name` or `title`), as the app's `evolve` would.
    fn fold(store: &evstore::EventStore, stream: &str) -> Result<Vec<String>, Error> {
        block_on(
            store.aggregate_stream(stream, Vec::new(), |mut names: Vec<String>, e| {
                let data = value(&e.data);
                let name = data.get("title").or(data.get("name")).unwrap();
                names.push(name.as_str().unwrap().to_owned());
                Ok::<_, Error>(names)
            }),
        )
        .map(|a| a.state)
    }

    #[test]
    fn two_schema_versions_share_a_tenant() {
        let mut w = World::new(2).with_schemas(vec![Some(items(2)), Some(items(3))]);
        // 1. Both append while offline, then sync.
        w.append_events(
            0,
            "List-1",
            vec![item(json!({"name": "milk", "qty": 2}))],
            ANY,
        )
        .unwrap();
        w.append_events(
            0,
            "List-0",
            vec![item(json!({"name": "bread", "qty": 1}))],
            NEW,
        )
        .unwrap();
        w.append_events(
            1,
            "List-1",
            vec![item(json!({"title": "tea", "qty": 3}))],
            ANY,
        )
        .unwrap();
        w.connect(0);
        w.connect(1);
        w.settle();
        // 2. The server holds both stored forms, byte for byte as each device wrote them, and
        // every party holds the same log (data and metadata texts included).
        converged(&w);
        let server = w.server_log();
        let list: Vec<(&str, &str)> = in_stream(&server, "List-1")
            .iter()
            .map(|e| (e.data.as_str(), e.metadata.as_str()))
            .collect();
        assert_eq!(
            list,
            [
                (r#"{"name":"milk","qty":2}"#, r#"{"$schemaVersion":2}"#),
                (r#"{"qty":3,"title":"tea"}"#, r#"{"$schemaVersion":3}"#),
            ]
        );
        let contents: Vec<_> = (0..2).map(|d| content(&w.local_log(d))).collect();
        assert_eq!(contents[0], content(&server));
        assert_eq!(contents[1], content(&server));

        // 3. Device 1 (v3) reads the v2 event upcast; its own log still holds v2.
        let read = w.app_log(1);
        let milk = in_stream(&read, "List-1")[0];
        assert_eq!(value(&milk.data), json!({"title": "milk", "qty": 2}));
        assert_eq!(milk.metadata.as_str(), r#"{"$schemaVersion":3}"#);
        let local = w.local_log(1);
        assert_eq!(
            in_stream(&local, "List-1")[0].metadata.as_str(),
            r#"{"$schemaVersion":2}"#
        );
        assert_eq!(
            fold(&w.devices[1].store, "List-1").unwrap(),
            ["milk", "tea"]
        );

        // 4. Device 0 (v2) reads the v3 event as stored, and refuses to fold it.
        let read = w.app_log(0);
        let local = w.local_log(0);
        assert_eq!(
            in_stream(&read, "List-1")[1],
            in_stream(&local, "List-1")[1]
        );
        assert_eq!(
            fold(&w.devices[0].store, "List-1").unwrap_err(),
            Error::SchemaTooNew {
                stream_id: "List-1".into(),
                event_type: "ItemAdded".into(),
                version: 3,
            }
        );
        assert_eq!(fold(&w.devices[0].store, "List-0").unwrap(), ["bread"]);

        // 5. Device 0 updates to v3: it folds, and nothing stored was rewritten.
        let dumps = w.raw_dumps();
        w.reload_with(0, Some(items(3)));
        assert_eq!(
            fold(&w.devices[0].store, "List-1").unwrap(),
            ["milk", "tea"]
        );
        assert_eq!(w.raw_dumps(), dumps);
        w.connect(0);
        w.settle();
        converged(&w);

        // 6. A `$` key from the app is refused on a device and nothing is queued; the server
        // stores what devices push, `$schemaVersion` included (step 2).
        let before = w.devices[1].storage.raw_dump();
        let copied = item(json!({"title": "x"})).with_metadata(milk.metadata.clone());
        let err = w.append_events(1, "List-1", vec![copied], ANY).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(err.to_string().contains("\"$schemaVersion\""), "{err}");
        assert_eq!(w.devices[1].storage.raw_dump(), before);
        assert_eq!(block_on(w.devices[1].client.refresh()).unwrap().pending, 0);

        // 7. A conflict between the two devices; the retry is caused by their event and keeps
        // its correlation id across the devices.
        w.disconnect(0);
        w.disconnect(1);
        let placed = item(json!({"title": "cake", "qty": 1}))
            .with_metadata(Json::parse(r#"{"correlationId":"order-9"}"#).unwrap());
        w.append_events(0, "List-9", vec![placed], NEW).unwrap();
        w.append_events(
            1,
            "List-9",
            vec![item(json!({"title": "pie", "qty": 1}))],
            NEW,
        )
        .unwrap();
        w.connect(0);
        w.settle();
        w.connect(1);
        w.settle();
        let cs = conflicts(&w, 1);
        assert_eq!(cs.len(), 1);
        let theirs = &cs[0].theirs[0];
        assert_eq!(
            theirs.metadata.as_str(),
            r#"{"$schemaVersion":3,"correlationId":"order-9"}"#,
            "a conflict's theirs in the stored form"
        );
        let client = &w.devices[1].client;
        // Re-appending the event's metadata as read is refused: `$` keys are the store's.
        let copied = item(json!({"title": "pie"})).with_metadata(theirs.metadata.clone());
        let err =
            block_on(client.retry("List-9", vec![copied], ExpectedRevision::Exact(0))).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert_eq!(conflicts(&w, 1).len(), 1, "the conflict is still there");
        let retried = item(json!({"title": "pie", "qty": 1})).caused_by(theirs);
        block_on(client.retry("List-9", vec![retried], ExpectedRevision::Exact(0))).unwrap();
        let _ = block_on(client.pump());
        w.settle();
        converged(&w);
        let on_0 = w.app_log(0);
        let pie = in_stream(&on_0, "List-9")[1];
        assert_eq!(
            value(&pie.metadata),
            json!({"$schemaVersion": 3, CAUSATION_ID: theirs.id.to_string(), CORRELATION_ID: "order-9"})
        );
        // Device 0 reacts to device 1's event: the chain keeps its correlation id.
        let reaction = ProposedEvent::new("Noted", Json::null()).caused_by(pie);
        w.append_events(0, "List-9", vec![reaction], ExpectedRevision::Exact(1))
            .unwrap();
        w.settle();
        converged(&w);
        let server = w.server_log();
        let noted = in_stream(&server, "List-9")[2];
        assert_eq!(
            value(&noted.metadata),
            json!({CAUSATION_ID: pie.id.to_string(), CORRELATION_ID: "order-9"})
        );
    }

    #[test]
    fn a_server_with_a_schema_stores_and_serves_the_stored_form() {
        let mut w = World::new(2)
            .with_schemas(vec![None, Some(items(3))])
            .with_server_schema(items(2));
        w.append_events(0, "List-1", vec![item(json!({"name": "milk"}))], ANY)
            .unwrap();
        w.append_events(
            1,
            "List-1",
            vec![item(json!({"title": "tea", "qty": 3}))],
            ANY,
        )
        .unwrap();
        w.connect(0);
        w.connect(1);
        w.settle();
        // Pushed events are stored as pushed (no stamp), and the feed serves them as stored.
        converged(&w);
        let server = w.server_log();
        let metadata: Vec<&str> = server.iter().map(|e| e.metadata.as_str()).collect();
        assert_eq!(metadata, ["{}", r#"{"$schemaVersion":3}"#]);
        assert_eq!(server[0].data.as_str(), r#"{"name":"milk"}"#);
        // The server's own app reads upcast by its schema; device 0 (no schema) as stored.
        let read = block_on(w.server.store.read_all(ReadOptions::forwards())).unwrap();
        assert_eq!(value(&read[0].data), json!({"name": "milk", "qty": 1}));
        assert_eq!(read[0].metadata.as_str(), r#"{"$schemaVersion":2}"#);
        assert_eq!(read[1], server[1], "too new for the server: as stored");
        assert_eq!(content(&w.app_log(0)), content(&server));
    }
}

mod simulation {
    //! One server, 2–4 devices, random appends, connections, reloads and a lossy network;
    //! invariants checked after every step, convergence at the end.

    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Append {
            d: usize,
            stream: u8,
            n: usize,
            expected: u8,
        },
        Connect(usize),
        Disconnect(usize),
        Reload(usize),
        Deliver(usize),
        Duplicate(usize),
        Drop(usize),
        Delay(usize),
        Tick(usize),
        RestartServer,
        WipeServer,
        RestoreServer(usize),
        Resolve {
            d: usize,
            retry: bool,
        },
        /// `setStreamMetadata` with `truncateBefore` (0: none) and `maxCount` (0: none), under
        /// the current metadata revision (`exact`) or any.
        SetMetadata {
            d: usize,
            stream: u8,
            truncate: u8,
            max_count: u8,
            exact: bool,
        },
        /// `deleteStream` under the visible head (`exact`) or any.
        Delete {
            d: usize,
            stream: u8,
            exact: bool,
        },
        /// `tombstoneStream` under the visible head (`exact`) or any.
        Tombstone {
            d: usize,
            stream: u8,
            exact: bool,
        },
        /// The page reloads with the sync selection `RESELECT[choice]`.
        Reselect {
            d: usize,
            choice: usize,
        },
    }

    /// The selections a device reopens with in the partial simulation.
    const RESELECT: [&[&str]; 5] = [
        &["*"],
        &["S-0"],
        &["S-0", "S-1"],
        &["S-1*", "S-2"],
        &["S-2"],
    ];

    /// The devices of the partial simulation: `(selection, token's streams)`.
    fn scopes() -> Vec<(evstore::Selection, evstore::Selection)> {
        use sync_net::selection as s;
        vec![
            (s(&["*"]), s(&["*"])),
            (s(&["S-0", "S-1"]), s(&["*"])),
            (s(&["*"]), s(&["S-1", "S-2"])),
            (s(&["S-1*"]), s(&["S-1", "S-2"])),
        ]
    }

    fn scoped_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            12 => step(),
            1 => (0usize..4, 0usize..RESELECT.len()).prop_map(|(d, choice)| Step::Reselect { d, choice }),
        ]
    }

    /// Whether the random run makes SetMetadata steps (`SIM_METADATA=1`; else they are skipped).
    fn metadata_steps() -> bool {
        std::env::var("SIM_METADATA").is_ok_and(|v| v == "1")
    }

    fn step() -> impl Strategy<Value = Step> {
        let d = 0usize..4;
        prop_oneof![
            6 => (d.clone(), 0u8..3, 1usize..3, 0u8..4).prop_map(|(d, stream, n, expected)| Step::Append { d, stream, n, expected }),
            3 => d.clone().prop_map(Step::Connect),
            1 => d.clone().prop_map(Step::Disconnect),
            1 => d.clone().prop_map(Step::Reload),
            12 => (0usize..8).prop_map(Step::Deliver),
            1 => (0usize..8).prop_map(Step::Duplicate),
            1 => (0usize..8).prop_map(Step::Drop),
            1 => (0usize..8).prop_map(Step::Delay),
            1 => d.clone().prop_map(Step::Tick),
            1 => Just(Step::RestartServer),
            1 => (d.clone(), any::<bool>()).prop_map(|(d, retry)| Step::Resolve { d, retry }),
            1 => Just(Step::WipeServer),
            1 => (0usize..64).prop_map(Step::RestoreServer),
            // Off unless SIM_METADATA=1: with metadata changes, a run that also wipes and
            // restores the server (RestoreServer, WipeServer) can still end with a device that
            // removed an event by maxCount which the server kept (about 1 run in 3,000).
            1 => (d.clone(), 0u8..3, 0u8..3, 0u8..3, any::<bool>()).prop_map(|(d, stream, truncate, max_count, exact)| Step::SetMetadata { d, stream, truncate, max_count, exact }),
            1 => (d.clone(), 0u8..3, any::<bool>()).prop_map(|(d, stream, exact)| Step::Delete { d, stream, exact }),
            1 => (d, 0u8..3, any::<bool>()).prop_map(|(d, stream, exact)| Step::Tombstone { d, stream, exact }),
        ]
    }

    fn resolve(w: &mut World, d: usize, retry: bool) {
        let Some(c) = conflicts(w, d).into_iter().next() else {
            return;
        };
        w.devices[d]
            .discarded
            .extend(c.pending.iter().map(|e| e.id));
        let client = &w.devices[d].client;
        // A held lifecycle call (its actual is the metadata revision): the app discards it.
        let lifecycle = c
            .pending
            .iter()
            .any(|e| e.stream_id.is_system() || &*e.event_type == evstore::DELETED_TYPE);
        // A stream the device no longer selects takes no new local append: the app discards.
        let selected = w.devices[d].selection.matches(c.stream_id.as_str());
        if retry && !lifecycle && selected {
            let expected = c
                .actual
                .map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
            let e = ProposedEvent::new("Resolved", Json::null());
            // A retry against a stale actual revision may conflict again locally: that is an
            // error for the caller and changes nothing.
            if let Err(e) = block_on(client.retry(c.stream_id.as_str(), vec![e], expected)) {
                // (STREAM_DELETED: the stream was tombstoned, before or since the conflict.)
                assert!(
                    e.code() == "WRONG_EXPECTED_REVISION" || e.code() == "STREAM_DELETED",
                    "{e}"
                );
                if e.code() == "STREAM_DELETED" {
                    // A tombstoned stream takes nothing more: the app discards.
                    block_on(client.discard(c.stream_id.as_str())).unwrap();
                    let _ = block_on(client.pump());
                    return;
                }
                w.devices[d]
                    .discarded
                    .retain(|id| !c.pending.iter().any(|p| p.id == *id));
                return;
            }
        } else {
            block_on(client.discard(c.stream_id.as_str())).unwrap();
        }
        let _ = block_on(client.pump());
    }

    /// Every acknowledged local append is in the local log, held, or on the server, unless the
    /// app discarded it or the server lost it (a device re-pulling a replaced log holds its
    /// confirmed events only on the server for a while).
    fn nothing_lost(w: &World, removed: &mut HashSet<evstore::Uuid>) {
        let server = w.server_log();
        check_log(&server, "server");
        for d in 0..w.devices.len() {
            let local = w.local_log(d);
            check_log(&local, "device");
            // The server's events count: a device re-pulling a replaced log gets them back.
            let mut present: HashSet<_> = local.iter().chain(&server).map(|e| e.id).collect();
            for c in conflicts(w, d) {
                present.extend(c.pending.iter().map(|e| e.id));
            }
            // Stored, not readable: hidden by a local lifecycle call until its stream's events
            // are confirmed (then removed).
            present.extend(sync_net::stored_ids(&w.devices[d].storage));
            removed.extend(removed_ids(w));
            // Queued, detached from the log (its stream is tombstoned here, or a replaced log is
            // being pulled): its rows are in the outbox.
            let dump = w.devices[d].storage.raw_dump();
            for (_, ids) in &w.devices[d].acked {
                for id in ids {
                    if dump.contains(&id.to_string()) {
                        continue;
                    }
                    let gone = w.devices[d].discarded.contains(id)
                        || w.lost.contains(id)
                        || removed.contains(id);
                    assert!(present.contains(id) || gone, "device {d} lost {id}");
                }
            }
        }
    }

    /// Every id removed by a lifecycle call, on the server or on a device (a local delete
    /// cancels queued appends).
    fn removed_ids(w: &World) -> HashSet<evstore::Uuid> {
        let mut removed = sync_net::husked_ids(&w.server.storage);
        for dev in &w.devices {
            removed.extend(sync_net::husked_ids(&dev.storage));
        }
        removed
    }

    /// Once every device has synced: no event the server removed is readable or stored
    /// anywhere (a raw dump of every storage holds its id only as a husk).
    fn nothing_removed_survives(w: &World) {
        let removed = sync_net::husked_ids(&w.server.storage);
        for (who, dump) in w.raw_dumps() {
            for line in dump.lines().filter(|l| !l.starts_with("husk ")) {
                for id in &removed {
                    assert!(
                        !line.contains(&id.to_string()),
                        "{who} still stores removed {id}: {line}"
                    );
                }
            }
        }
    }

    /// Runs one scenario; `SIM_TRACE=1` prints every step with each device's status and log,
    /// and every delivered packet (to read a failing case that proptest minimised).
    fn run(devices: usize, steps: Vec<Step>) {
        run_with(devices, steps, false);
    }

    /// [`run`]; `random`: the steps are proptest's (SetMetadata only with `SIM_METADATA=1`).
    fn run_with(devices: usize, steps: Vec<Step>, random: bool) {
        run_in(World::new(devices), steps, random);
    }

    /// [`run_with`] on the devices of `w` (their selections, tokens and schemas as they are);
    /// returns the converged world.
    fn run_in(mut w: World, steps: Vec<Step>, random: bool) -> World {
        let devices = w.devices.len();
        // Devices that hold some streams only have holes in their logs.
        let partial = w
            .devices
            .iter()
            .any(|dev| !dev.selection.is_all() || !dev.token.is_all());
        sync_net::HOLES.with(|h| h.set(partial));
        let mut lifecycle_used = false;
        // Every id ever removed (a rewrite of a device's tail drops the husks of its cancelled
        // appends).
        let mut removed = HashSet::new();
        for step in steps {
            if std::env::var("SIM_TRACE").is_ok() {
                eprintln!("{step:?}");
                for d in 0..devices {
                    eprintln!(
                        "  dev {d} {:?} {:?}",
                        w.devices[d].client.status(),
                        content(&w.local_log(d))
                            .iter()
                            .map(|c| (c.1.clone(), c.2, c.3))
                            .collect::<Vec<_>>()
                    );
                }
            }
            match step {
                Step::Append {
                    d,
                    stream,
                    n,
                    expected,
                } => {
                    let d = d % devices;
                    let stream = format!("S-{stream}");
                    let head =
                        block_on(w.devices[d].store.stream_revision(&stream)).unwrap_or(None);
                    let expected = match expected {
                        0 => ExpectedRevision::Any,
                        1 => ExpectedRevision::NoStream,
                        2 => head.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact),
                        _ => ExpectedRevision::Exact(head.map_or(0, |h| h.saturating_sub(1))),
                    };
                    let selected = w.devices[d].selection.matches(&stream);
                    let before = w.devices[d].storage.raw_dump();
                    let r = w.append(d, &stream, n, expected);
                    if !selected {
                        // Refused at once, naming the selection; nothing written.
                        let e = r.unwrap_err();
                        assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
                        let named = format!(
                            "{stream:?} is outside this store's sync selection {}",
                            w.devices[d].selection
                        );
                        assert!(e.to_string().contains(&named), "{e}");
                        assert_eq!(w.devices[d].storage.raw_dump(), before);
                    }
                }
                Step::Reselect { d, choice } => {
                    let d = d % devices;
                    w.reselect(d, sync_net::selection(RESELECT[choice % RESELECT.len()]));
                }
                Step::Connect(d) => w.connect(d % devices),
                Step::Disconnect(d) => w.disconnect(d % devices),
                Step::Reload(d) => w.reload(d % devices),
                Step::Deliver(i) if !w.net.is_empty() => w.deliver(i % w.net.len().min(3)),
                Step::Duplicate(i) if !w.net.is_empty() => w.duplicate(i % w.net.len()),
                Step::Drop(i) if !w.net.is_empty() => w.drop_packet(i % w.net.len()),
                Step::Delay(i) if !w.net.is_empty() => {
                    let p = w.net.remove(i % w.net.len());
                    w.net.push(p);
                }
                Step::Tick(d) => w.tick(d % devices),
                Step::RestartServer => w.restart_server(),
                Step::Resolve { d, retry } => resolve(&mut w, d % devices, retry),
                Step::WipeServer => w.wipe_server(),
                Step::RestoreServer(n) if !lifecycle_used => {
                    let len = w.server_log().len();
                    w.restore_server(n % (len + 1));
                }
                // A restored copy keeps holes and lifecycle records: the simulation's copy
                // (events pushed again) cannot, so a restore is a restart once they exist.
                Step::RestoreServer(_) => w.restart_server(),
                Step::SetMetadata {
                    d,
                    stream,
                    truncate,
                    max_count,
                    exact,
                } if metadata_steps() || !random => {
                    lifecycle_used = true;
                    sync_net::HOLES.with(|h| h.set(true));
                    let (d, stream) = (d % devices, format!("S-{stream}"));
                    let _ = w.call(d, |s| {
                        // Rules only ever get stricter here: a device that pulls after a rule
                        // was relaxed never hears of what it removed (see the report).
                        let (current, revision) = block_on(s.get_stream_metadata(&stream))?;
                        let truncate = (truncate > 0).then_some(u64::from(truncate));
                        let max_count = (max_count > 0).then_some(u64::from(max_count));
                        let metadata = evstore::StreamMetadata {
                            truncate_before: truncate.max(current.truncate_before),
                            max_count: match (max_count, current.max_count) {
                                (Some(a), Some(b)) => Some(a.min(b)),
                                (a, b) => a.or(b),
                            },
                            ..Default::default()
                        };
                        let expected = match revision {
                            Some(r) if exact => ExpectedRevision::Exact(r),
                            None if exact => ExpectedRevision::NoStream,
                            _ => ExpectedRevision::Any,
                        };
                        block_on(s.set_stream_metadata(&stream, metadata, expected))
                    });
                }
                Step::Delete { d, stream, exact } | Step::Tombstone { d, stream, exact } => {
                    lifecycle_used = true;
                    sync_net::HOLES.with(|h| h.set(true));
                    let hard = matches!(step, Step::Tombstone { .. });
                    let (d, stream) = (d % devices, format!("S-{stream}"));
                    // The call cancels the device's queued appends of the stream (and removes
                    // what the stream had).
                    let cancelled: Vec<evstore::Uuid> = w.devices[d]
                        .acked
                        .iter()
                        .filter(|(s, _)| *s == stream)
                        .flat_map(|(_, ids)| ids.iter().copied())
                        .collect();
                    let done = w.call(d, |s| {
                        let expected = match block_on(s.stream_revision(&stream))? {
                            Some(r) if exact => ExpectedRevision::Exact(r),
                            None if exact => ExpectedRevision::NoStream,
                            _ => ExpectedRevision::Any,
                        };
                        if hard {
                            block_on(s.tombstone_stream(&stream, expected))
                        } else {
                            block_on(s.delete_stream(&stream, expected))
                        }
                    });
                    if done.is_ok() {
                        w.devices[d].discarded.extend(cancelled);
                    }
                }
                _ => {}
            }
            nothing_lost(&w, &mut removed);
        }
        // Quiescence: everyone online, no more faults; the apps resolve every conflict.
        for d in 0..devices {
            w.connect(d);
        }
        w.settle();
        // An append to a stream the token does not allow is refused by the server: FORBIDDEN.
        for d in 0..devices {
            for c in conflicts(&w, d) {
                if !w.devices[d].token.matches(c.stream_id.as_str()) {
                    let code = c.rejection.as_ref().map(|r| r.0.as_str());
                    assert_eq!(code, Some("FORBIDDEN"), "device {d}: {c:?}");
                }
            }
        }
        for round in 0..10 {
            let mut any = false;
            for d in 0..devices {
                for _ in 0..100 {
                    if conflicts(&w, d).is_empty() {
                        break;
                    }
                    if std::env::var("SIM_TRACE").is_ok() {
                        eprintln!("resolve {d}: {:?}", conflicts(&w, d));
                    }
                    // A retry may meet a stale revision; discarding always resolves.
                    let retry = round % 2 == 0 && d % 2 == 0 && any;
                    resolve(&mut w, d, retry);
                    any = true;
                }
                assert!(conflicts(&w, d).is_empty(), "conflicts resolved");
            }
            w.settle();
            if !any {
                break;
            }
        }
        nothing_lost(&w, &mut removed);
        converged(&w);
        nothing_removed_survives(&w);
        // Nothing reached the server through a token that does not allow its stream.
        let server_log = w.server_log();
        for dev in &w.devices {
            for (stream, ids) in &dev.acked {
                if !dev.token.matches(stream) {
                    assert!(
                        !server_log.iter().any(|e| ids.contains(&e.id)),
                        "an append to {stream} passed a token for {}",
                        dev.token
                    );
                }
            }
        }
        let server: HashSet<_> = w.server_log().iter().map(|e| e.id).collect();
        removed.extend(removed_ids(&w));
        for dev in &w.devices {
            for (_, ids) in &dev.acked {
                for id in ids {
                    let gone =
                        dev.discarded.contains(id) || w.lost.contains(id) || removed.contains(id);
                    assert!(
                        server.contains(id) || gone,
                        "{id} confirmed, discarded or lost by the server"
                    );
                }
            }
        }
        w
    }

    /// `Happened` at `version` (0: no schema), each step adding a field.
    fn happened(version: u32) -> Option<evstore::Schema> {
        (version > 0).then(|| {
            (1..version).fold(
                evstore::Schema::new().event("Happened", version),
                |s, from| {
                    s.upcast("Happened", from, move |mut data: serde_json::Value, _| {
                        data[format!("v{}", from + 1)] = true.into();
                        Ok::<_, evstore::UpcastError>(data)
                    })
                },
            )
        })
    }

    /// Devices on their own app versions: stored forms are equal everywhere (checked by
    /// `converged`, metadata included), each event carries its writer's version, and each
    /// device reads the others' events upcast to its own (or as stored when newer).
    fn schemas_hold(w: &World, versions: &[u32]) {
        let server = w.server_log();
        for e in server.iter().filter(|e| &*e.event_type == "Happened") {
            let writer = e.data.to_value::<serde_json::Value>().unwrap()["d"]
                .as_u64()
                .unwrap() as usize;
            let stamp = versions[writer];
            let want = (stamp > 0).then(|| format!(r#"{{"$schemaVersion":{stamp}}}"#));
            let want = want.as_deref().unwrap_or("{}");
            assert_eq!(e.metadata.as_str(), want, "{e:?}");
        }
        for (d, &version) in versions.iter().enumerate().take(w.devices.len()) {
            for (read, stored) in w.app_log(d).iter().zip(w.local_log(d)) {
                assert_eq!(read.id, stored.id);
                let stored_version = evstore::stored_version(&stored);
                if &*read.event_type != "Happened" || version == 0 || stored_version > version {
                    assert_eq!(read, &stored);
                } else {
                    assert_eq!(evstore::stored_version(read), version);
                    let data = read.data.to_value::<serde_json::Value>().unwrap();
                    for v in 2..=version {
                        let added = (v > stored_version).then_some(serde_json::Value::Bool(true));
                        assert_eq!(data.get(format!("v{v}")), added.as_ref(), "{read:?}");
                    }
                }
            }
        }
    }

    /// Found by the simulation: a partial device's empty frame passes the husks of appends its
    /// tombstone cancelled; they must not stay in the confirmed prefix (the server's tombstone
    /// of the stream, arriving next at its own revision, would collide with them).
    #[test]
    fn cancelled_appends_never_stay_under_a_partial_devices_confirmed_prefix() {
        use Step::*;
        let steps = vec![
            Connect(0),
            Append {
                d: 0,
                stream: 0,
                n: 2,
                expected: 0,
            },
            Reload(1),
            Disconnect(1),
            Deliver(0),
            SetMetadata {
                d: 0,
                stream: 0,
                truncate: 0,
                max_count: 0,
                exact: false,
            },
            Deliver(0),
            Append {
                d: 3,
                stream: 1,
                n: 2,
                expected: 0,
            },
            Tombstone {
                d: 3,
                stream: 1,
                exact: false,
            },
            Append {
                d: 0,
                stream: 2,
                n: 1,
                expected: 0,
            },
        ];
        run_in(World::scoped(scopes()), steps, true);
    }

    /// Found by the simulation: a conflict answered by the server's log before it was restored
    /// (to nothing) stays decidable: once caught up, its `actual` is the restored log's.
    #[test]
    fn a_conflict_answered_before_a_restore_is_decided_on_the_restored_log() {
        use Step::*;
        run(
            2,
            vec![
                Append {
                    d: 1,
                    stream: 0,
                    n: 2,
                    expected: 0,
                },
                Append {
                    d: 0,
                    stream: 0,
                    n: 1,
                    expected: 1,
                },
                Append {
                    d: 1,
                    stream: 2,
                    n: 1,
                    expected: 0,
                },
                Connect(1),
                Deliver(0),
                Deliver(0),
                Deliver(0),
                Append {
                    d: 0,
                    stream: 2,
                    n: 1,
                    expected: 1,
                },
                Deliver(2),
                RestartServer,
                Append {
                    d: 0,
                    stream: 2,
                    n: 1,
                    expected: 0,
                },
                Connect(2),
                Deliver(0),
                Deliver(1),
                Deliver(1),
                Deliver(1),
                Append {
                    d: 0,
                    stream: 0,
                    n: 1,
                    expected: 0,
                },
                RestoreServer(20),
            ],
        );
    }

    /// Found by the simulation: a device holding a tombstone as a conflict keeps the events it
    /// removed locally removed (husks) until the app resolves it, while the server still has
    /// them; sync settles all the same.
    #[test]
    fn a_held_tombstone_keeps_its_local_removal_and_sync_still_settles() {
        use Step::*;
        run(
            2,
            vec![
                Tombstone {
                    d: 0,
                    stream: 1,
                    exact: true,
                },
                Connect(1),
                Deliver(6),
                Connect(2),
                Tombstone {
                    d: 0,
                    stream: 0,
                    exact: false,
                },
                Deliver(2),
                Deliver(5),
                Deliver(3),
                Deliver(2),
                Deliver(0),
                Deliver(1),
                Deliver(2),
                Deliver(5),
                Append {
                    d: 3,
                    stream: 2,
                    n: 1,
                    expected: 2,
                },
                Deliver(0),
                Deliver(7),
                Deliver(3),
                RestartServer,
                Tombstone {
                    d: 1,
                    stream: 2,
                    exact: true,
                },
                Connect(1),
                Deliver(3),
                Deliver(6),
                Tombstone {
                    d: 1,
                    stream: 2,
                    exact: false,
                },
            ],
        );
    }

    /// Found by the simulation (lifecycle work): kept as a fixed case.
    #[test]
    fn found_case_one() {
        use Step::*;
        run(
            4,
            vec![
                Tick(1),
                Deliver(1),
                Duplicate(5),
                Append {
                    d: 3,
                    stream: 0,
                    n: 1,
                    expected: 3,
                },
                Append {
                    d: 0,
                    stream: 1,
                    n: 2,
                    expected: 3,
                },
                Reload(2),
                Connect(3),
                Deliver(4),
                Deliver(5),
                Deliver(7),
                Deliver(4),
                Deliver(7),
                Deliver(4),
                Deliver(1),
                Connect(1),
                Append {
                    d: 3,
                    stream: 1,
                    n: 1,
                    expected: 2,
                },
                Append {
                    d: 1,
                    stream: 1,
                    n: 1,
                    expected: 3,
                },
                Deliver(2),
                Append {
                    d: 1,
                    stream: 1,
                    n: 2,
                    expected: 0,
                },
                Deliver(1),
                Deliver(7),
                Append {
                    d: 0,
                    stream: 0,
                    n: 1,
                    expected: 1,
                },
                Append {
                    d: 3,
                    stream: 1,
                    n: 1,
                    expected: 1,
                },
                Deliver(2),
                Drop(4),
                Deliver(2),
                Connect(0),
                Connect(2),
                Append {
                    d: 2,
                    stream: 2,
                    n: 2,
                    expected: 2,
                },
                Deliver(1),
                Deliver(4),
                Connect(1),
                Drop(6),
                Resolve { d: 2, retry: true },
                Connect(0),
                Tick(2),
                Deliver(1),
                Deliver(5),
                Connect(3),
                Append {
                    d: 0,
                    stream: 2,
                    n: 2,
                    expected: 2,
                },
                Append {
                    d: 0,
                    stream: 2,
                    n: 2,
                    expected: 1,
                },
                Drop(7),
                Deliver(1),
                Deliver(4),
                Append {
                    d: 2,
                    stream: 0,
                    n: 1,
                    expected: 3,
                },
                Deliver(3),
                Reload(0),
                Deliver(3),
                Append {
                    d: 1,
                    stream: 0,
                    n: 1,
                    expected: 0,
                },
                Tick(3),
                Resolve { d: 1, retry: true },
                RestoreServer(4),
                Deliver(7),
                Append {
                    d: 3,
                    stream: 0,
                    n: 1,
                    expected: 0,
                },
                Append {
                    d: 2,
                    stream: 0,
                    n: 1,
                    expected: 2,
                },
                Reload(2),
                Deliver(2),
                Delay(2),
                Connect(0),
                Deliver(2),
                Connect(0),
                RestoreServer(31),
                Append {
                    d: 0,
                    stream: 2,
                    n: 2,
                    expected: 3,
                },
                Reload(2),
                Tick(0),
                Duplicate(2),
                Append {
                    d: 2,
                    stream: 2,
                    n: 2,
                    expected: 0,
                },
                Connect(0),
                Append {
                    d: 0,
                    stream: 1,
                    n: 1,
                    expected: 0,
                },
                Deliver(7),
                Deliver(3),
                Reload(1),
                Append {
                    d: 2,
                    stream: 0,
                    n: 1,
                    expected: 3,
                },
                Append {
                    d: 0,
                    stream: 0,
                    n: 1,
                    expected: 3,
                },
            ],
        );
    }

    /// Found by the simulation: a device whose pull to a restored server was lost, and whose
    /// confirmed head equals the regrown server's head, still finds the other events there.
    #[test]
    fn a_lost_pull_to_a_restored_server_with_the_same_head_is_found_again() {
        use Step::*;
        run(
            4,
            vec![
                Append {
                    d: 0,
                    stream: 0,
                    n: 1,
                    expected: 0,
                },
                Append {
                    d: 2,
                    stream: 0,
                    n: 1,
                    expected: 0,
                },
                Append {
                    d: 1,
                    stream: 1,
                    n: 2,
                    expected: 0,
                },
                Append {
                    d: 0,
                    stream: 0,
                    n: 2,
                    expected: 0,
                },
                Connect(0),
                Reload(1),
                Deliver(0),
                Connect(0),
                Reload(1),
                Deliver(0),
                Append {
                    d: 0,
                    stream: 1,
                    n: 1,
                    expected: 2,
                },
                Deliver(5),
                Deliver(0),
                Append {
                    d: 2,
                    stream: 0,
                    n: 1,
                    expected: 0,
                },
                Connect(1),
                Deliver(2),
                Deliver(6),
                Deliver(1),
                Connect(2),
                Deliver(6),
                Deliver(0),
                Deliver(2),
                RestartServer,
                RestoreServer(60),
                Connect(0),
                Drop(3),
            ],
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("SIM_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400),
            ..ProptestConfig::default()
        })]
        #[test]
        fn devices_converge_without_losing_a_write(devices in 2usize..5, steps in prop::collection::vec(step(), 1..120)) {
            run_with(devices, steps, true);
        }

        /// Devices with different selections and tokens, which reopen with other selections:
        /// each ends holding the server's log restricted to its streams, at the server's
        /// positions; no frame ever carries another stream's event (checked on delivery).
        /// Every device on its own schema version for `Happened` (0: none).
        #[test]
        fn devices_on_their_own_schema_versions_store_the_same_forms(devices in 2usize..5, versions in prop::collection::vec(0u32..4, 4), steps in prop::collection::vec(step(), 1..120)) {
            let schemas = versions[..devices].iter().map(|&v| happened(v)).collect();
            let w = run_in(World::new(devices).with_schemas(schemas), steps, true);
            schemas_hold(&w, &versions);
        }

        #[test]
        fn partial_devices_hold_their_streams_at_the_servers_positions(steps in prop::collection::vec(scoped_step(), 1..120)) {
            run_in(World::scoped(scopes()), steps, true);
        }
    }
}

/// A push's appends over `server`, each readable, with `policy`.
fn accept_with(
    server: &evstore::EventStore,
    appends: Vec<evstore::sync::PushAppend>,
    policy: PushPolicy,
) -> Vec<PushOutcome> {
    block_on(server.accept_push(appends.into_iter().map(Ok).collect(), policy))
}

/// An append of `events` (ids from `first`) to `stream`, pushed with `created_at`.
fn pushed(
    stream: &str,
    expected: ExpectedRevision,
    first: u128,
    events: usize,
    data: &str,
    created_at: u64,
) -> evstore::sync::PushAppend {
    evstore::sync::PushAppend {
        kind: evstore::sync::PushKind::Events,
        seq: 0,
        stream_id: evstore::StreamId::new(stream).unwrap(),
        expected,
        events: (0..events as u128)
            .map(|i| evstore::NewEvent {
                id: evstore::Uuid::from_u128(first + i),
                event_type: "T".into(),
                data: Json::parse(data).unwrap(),
                metadata: Json::empty_object(),
            })
            .collect(),
        created_at,
    }
}

fn rejection_code(o: &PushOutcome) -> Option<&str> {
    match o {
        PushOutcome::Conflict {
            rejection: Some(r), ..
        } => Some(r.code.as_str()),
        _ => None,
    }
}

#[test]
fn the_server_refuses_a_created_at_that_no_date_can_hold() {
    use evstore::sync::MAX_CREATED_AT_MS;
    let server = evstore::EventStore::new(evstore::MemoryStorage::new());
    let policy = PushPolicy::default();
    let out = accept_with(
        &server,
        vec![
            pushed("S-1", ANY, 1, 1, "1", MAX_CREATED_AT_MS + 1),
            pushed("S-1", ANY, 2, 1, "2", 1), // blocked behind the rejected one
            pushed("S-2", ANY, 3, 1, "3", MAX_CREATED_AT_MS),
        ],
        policy,
    );
    assert_eq!(rejection_code(&out[0]), Some("INVALID_ARGUMENT"));
    assert!(matches!(out[1], PushOutcome::Blocked));
    assert!(matches!(out[2], PushOutcome::Ok { position: 0, .. }));
    let all = block_on(server.read_all(ReadOptions::forwards())).unwrap();
    assert_eq!(all.len(), 1, "only the readable date is stored");
}

#[test]
fn the_server_limits_events_per_pushed_append_like_its_http_route() {
    let server = evstore::EventStore::new(evstore::MemoryStorage::new());
    let policy = PushPolicy {
        max_append_events: 3,
        ..PushPolicy::default()
    };
    let out = accept_with(
        &server,
        vec![
            pushed("S-1", ANY, 1, 4, "1", 1),
            pushed("S-2", ANY, 10, 3, "1", 1),
        ],
        policy,
    );
    assert_eq!(rejection_code(&out[0]), Some("INVALID_ARGUMENT"));
    assert!(matches!(out[1], PushOutcome::Ok { position: 2, .. }));
}

#[test]
fn theirs_is_withheld_without_read_and_capped_in_bytes() {
    use evstore::sync::{TheirsCut, MAX_THEIRS_BYTES};
    let server = evstore::EventStore::new(evstore::MemoryStorage::new());
    let big = format!("\"{}\"", "x".repeat(10_000));
    for i in 0..100u128 {
        let append = pushed("S-1", ANY, 1000 + i, 1, &big, 1);
        assert!(matches!(
            accept_with(&server, vec![append], PushPolicy::default())[0],
            PushOutcome::Ok { .. }
        ));
    }
    let conflicting = || {
        vec![
            pushed("S-1", NEW, 1, 1, "1", 1),
            pushed("S-2", ANY, 2, 1, "1", 1),
            pushed("S-2", ANY, 2, 1, "1", 1), // already
        ]
    };
    let secret = PushPolicy {
        reveal_theirs: false,
        ..PushPolicy::default()
    };
    let out = accept_with(&server, conflicting(), secret);
    match &out[0] {
        PushOutcome::Conflict {
            actual,
            theirs,
            theirs_cut,
            rejection: None,
        } => {
            assert_eq!(*actual, Some(99));
            assert!(theirs.is_empty(), "no event without the read scope");
            assert_eq!(*theirs_cut, Some(TheirsCut::Withheld));
        }
        other => panic!("{other:?}"),
    }
    let out = accept_with(&server, conflicting(), PushPolicy::default());
    match &out[0] {
        PushOutcome::Conflict {
            theirs, theirs_cut, ..
        } => {
            let bytes: usize = theirs
                .iter()
                .map(|e| e.data.byte_len() + e.metadata.byte_len())
                .sum();
            assert!(!theirs.is_empty() && bytes <= MAX_THEIRS_BYTES, "{bytes}");
            assert!(theirs.len() < 100);
            assert_eq!(*theirs_cut, Some(TheirsCut::Capped));
            assert_eq!(theirs[0].revision, 0, "the oldest first");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_malformed_append_is_rejected_and_holds_its_stream_for_the_push() {
    use evstore::sync::MalformedAppend;
    let server = evstore::EventStore::new(evstore::MemoryStorage::new());
    let out = block_on(server.accept_push(
        vec![
            Err(MalformedAppend {
                stream_id: Some(evstore::StreamId::new("S-1").unwrap()),
                error: evstore::Error::invalid("events[0].type is longer than 256 characters"),
            }),
            Ok(pushed("S-1", ANY, 1, 1, "1", 1)),
            Ok(pushed("S-2", ANY, 2, 1, "1", 1)),
        ],
        PushPolicy::default(),
    ));
    assert_eq!(rejection_code(&out[0]), Some("INVALID_ARGUMENT"));
    assert!(matches!(out[1], PushOutcome::Blocked));
    assert!(matches!(out[2], PushOutcome::Ok { position: 0, .. }));
}

#[test]
fn a_device_that_reconnects_to_a_restored_and_regrown_server_notices() {
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    w.append(0, "Doc-1", 2, NEW).unwrap();
    w.settle();
    w.append(0, "Doc-2", 3, NEW).unwrap();
    w.settle(); // device 0 confirmed positions 0..=4
    w.disconnect(0);
    w.restore_server(2); // an earlier copy: Doc-2's events are gone
    w.connect(1);
    w.settle();
    // The restored log grows past device 0's position with other events.
    w.append(1, "Other-1", 4, NEW).unwrap();
    w.settle();
    w.append(0, "Mine-1", 1, NEW).unwrap(); // queued offline
    w.connect(0);
    w.settle();
    converged(&w);
    let local: HashSet<_> = w
        .local_log(0)
        .iter()
        .map(|e| e.stream_id.to_string())
        .collect();
    assert!(
        !local.contains("Doc-2"),
        "events the server lost are not kept as confirmed"
    );
    assert!(local.contains("Mine-1"), "the queue is kept and pushed");
}

#[test]
fn an_append_too_large_for_one_push_is_refused_locally_and_never_wedges_the_queue() {
    let mut w = World::new(1);
    w.connect(0);
    let big = format!("\"{}\"", "x".repeat(400_000));
    let events = |n: usize| {
        (0..n)
            .map(|_| ProposedEvent::new("Big", Json::parse(&big).unwrap()))
            .collect::<Vec<_>>()
    };
    let store = w.devices[0].store.clone();
    // Three events of 400 kB: each within the event limit, together over one push.
    let e = block_on(store.append("Doc-1", events(3), NEW)).unwrap_err();
    assert_eq!(e.code(), "INVALID_ARGUMENT", "{e}");
    assert!(e.to_string().contains("split"), "{e}");
    // Two fit (alone in their push); later appends go on.
    block_on(store.append("Doc-1", events(2), NEW)).unwrap();
    w.append(0, "Doc-2", 1, NEW).unwrap();
    w.settle();
    converged(&w);
    assert_eq!(w.server_log().len(), 3);
}

/// A pushed lifecycle call of `kind` on `stream`.
fn pushed_life(
    stream: &str,
    kind: evstore::sync::PushKind,
    expected: ExpectedRevision,
) -> evstore::sync::PushAppend {
    evstore::sync::PushAppend {
        kind,
        seq: 0,
        stream_id: evstore::StreamId::new(stream).unwrap(),
        expected,
        events: Vec::new(),
        created_at: 1_700_000_000_000,
    }
}

#[test]
fn the_server_decides_pushed_lifecycle_calls_again_under_the_delete_scope() {
    use evstore::sync::PushKind;
    let server = evstore::EventStore::new(evstore::MemoryStorage::new());
    let id = evstore::Uuid::from_u128;
    let out = accept_with(
        &server,
        vec![pushed("X", NEW, 1, 3, r#""ERASE-ME""#, 1)],
        PushPolicy::default(),
    );
    assert!(matches!(out[0], PushOutcome::Ok { position: 2, .. }));
    let metadata = |m: &str| PushKind::Metadata {
        id: id(100),
        metadata: Json::parse(m).unwrap(),
    };
    // A metadata change needs only the append scope; its expected revision is the metadata's.
    let no_delete = PushPolicy {
        may_delete: false,
        ..PushPolicy::default()
    };
    let out = accept_with(
        &server,
        vec![
            pushed_life("X", metadata(r#"{"truncateBefore":1}"#), NEW),
            pushed_life("X", PushKind::Delete { id: id(101) }, ANY),
            pushed_life("Y", PushKind::Tombstone { id: id(102) }, ANY),
        ],
        no_delete,
    );
    assert!(
        matches!(
            out[0],
            PushOutcome::Ok {
                next_expected_revision: 0,
                position: 3
            }
        ),
        "{out:?}"
    );
    assert_eq!(rejection_code(&out[1]), Some("FORBIDDEN"));
    assert_eq!(rejection_code(&out[2]), Some("FORBIDDEN"));
    let x = || block_on(server.read_stream("X", ReadOptions::forwards())).unwrap();
    assert_eq!(x().len(), 2, "truncateBefore 1 removed revision 0");
    // A stale metadata revision conflicts, showing the current metadata.
    let out = accept_with(
        &server,
        vec![pushed_life(
            "X",
            PushKind::Metadata {
                id: id(103),
                metadata: Json::parse("{}").unwrap(),
            },
            NEW,
        )],
        PushPolicy::default(),
    );
    match &out[0] {
        PushOutcome::Conflict {
            actual,
            theirs,
            rejection: None,
            ..
        } => {
            assert_eq!(*actual, Some(0));
            assert_eq!(theirs.len(), 1);
            assert_eq!(&*theirs[0].event_type, evstore::METADATA_TYPE);
            assert_eq!(theirs[0].data.as_str(), r#"{"truncateBefore":1}"#);
        }
        other => panic!("{other:?}"),
    }
    // Malformed metadata is rejected as the API rejects it.
    let out = accept_with(
        &server,
        vec![pushed_life("X", metadata(r#"{"maxCount":0}"#), ANY)],
        PushPolicy::default(),
    );
    assert_eq!(rejection_code(&out[0]), Some("INVALID_ARGUMENT"));
    // The tombstone, with the delete scope; then pushes into the stream are refused.
    let tombstone = pushed_life("X", PushKind::Tombstone { id: id(104) }, ANY);
    let out = accept_with(&server, vec![tombstone.clone()], PushPolicy::default());
    assert!(matches!(out[0], PushOutcome::Ok { .. }), "{out:?}");
    let out = accept_with(
        &server,
        vec![
            tombstone,
            pushed("X", ANY, 50, 1, r#""late""#, 1),
            pushed("X", ANY, 1, 3, r#""ERASE-ME""#, 1),
        ],
        PushPolicy::default(),
    );
    assert!(
        matches!(out[0], PushOutcome::Already { .. }),
        "a retried tombstone: {out:?}"
    );
    assert_eq!(rejection_code(&out[1]), Some("STREAM_DELETED"));
    assert!(
        matches!(out[2], PushOutcome::Blocked),
        "the stream is held for the rest of the push"
    );
    let retried = accept_with(
        &server,
        vec![pushed("X", ANY, 1, 3, r#""ERASE-ME""#, 1)],
        PushPolicy::default(),
    );
    assert!(
        matches!(retried[0], PushOutcome::Already { .. }),
        "a retry of events written before the tombstone only reports them: {retried:?}"
    );
    let all = block_on(server.read_all(ReadOptions::forwards())).unwrap();
    assert!(
        all.iter().all(|e| !e.data.as_str().contains("ERASE-ME")),
        "{all:?}"
    );
    assert_eq!(
        block_on(server.read_stream("X", ReadOptions::forwards()))
            .unwrap_err()
            .code(),
        "STREAM_DELETED"
    );
}

/// An event whose payload carries `marker` (in its data and metadata).
fn marked(marker: &str) -> ProposedEvent {
    let data = Json::parse(&format!(r#"{{"note":"{marker}"}}"#)).unwrap();
    let mut e = ProposedEvent::new("Noted", data);
    e.metadata = Json::parse(&format!(r#"{{"by":"{marker}"}}"#)).unwrap();
    e
}

/// No stored text of the server or of any device (events, husks, meta records) holds `marker`.
fn erased_everywhere(w: &World, marker: &str) {
    for (who, dump) in w.raw_dumps() {
        assert!(
            !dump.contains(marker),
            "{who} still stores {marker}:\n{dump}"
        );
    }
}

fn stream_deleted_everywhere(w: &World, stream: &str) {
    let code = |s: &evstore::EventStore| {
        block_on(s.read_stream(stream, ReadOptions::forwards()))
            .unwrap_err()
            .code()
    };
    assert_eq!(code(&w.server.store), "STREAM_DELETED");
    for d in &w.devices {
        assert_eq!(code(&d.store), "STREAM_DELETED");
    }
}

#[test]
fn a_tombstone_erases_everywhere_and_an_offline_append_to_it_is_a_stream_deleted_conflict() {
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    let marker = "ERASE-ME-5e1f";
    w.call(0, |s| {
        block_on(s.append("X", vec![marked(marker), marked(marker)], NEW))
    })
    .unwrap();
    w.append(0, "Other-1", 1, NEW).unwrap();
    w.settle();
    converged(&w);
    w.disconnect(1);
    w.call(0, |s| {
        block_on(s.tombstone_stream("X", ExpectedRevision::Exact(1)))
    })
    .unwrap();
    w.settle();
    // Offline, device 1 still sees X and appends to it.
    w.call(1, |s| {
        block_on(s.append("X", vec![marked(marker)], ExpectedRevision::Exact(1)))
    })
    .unwrap();
    w.connect(1);
    w.settle();
    let cs = conflicts(&w, 1);
    assert_eq!(cs.len(), 1, "{cs:?}");
    assert_eq!(
        cs[0].rejection.as_ref().map(|r| r.0.as_str()),
        Some("STREAM_DELETED")
    );
    assert_eq!(cs[0].pending.len(), 1);
    assert!(
        cs[0]
            .theirs
            .iter()
            .all(|e| !e.data.as_str().contains(marker)),
        "no removed event in theirs"
    );
    let retried = block_on(w.devices[1].client.retry(
        "X",
        vec![ProposedEvent::new("Again", Json::null())],
        ANY,
    ));
    assert_eq!(retried.unwrap_err().code(), "STREAM_DELETED");
    assert_eq!(conflicts(&w, 1).len(), 1, "a failed retry changes nothing");
    block_on(w.devices[1].client.discard("X")).unwrap();
    w.settle();
    converged(&w);
    assert!(conflicts(&w, 1).is_empty());
    erased_everywhere(&w, marker);
    stream_deleted_everywhere(&w, "X");
    let s = w.devices[1].client.status();
    assert_eq!((s.pending, s.conflicts), (0, 0));
}

#[test]
fn a_local_delete_cancels_the_queued_appends_of_its_stream_so_they_never_leave() {
    let mut w = World::new(2);
    w.connect(1);
    let marker = "ERASE-ME-c4c3";
    w.call(0, |s| block_on(s.append("X", vec![marked(marker)], NEW)))
        .unwrap();
    w.call(0, |s| {
        block_on(s.append("X", vec![marked(marker)], ExpectedRevision::Exact(0)))
    })
    .unwrap();
    w.append(0, "Other-1", 1, NEW).unwrap();
    let deleted = w
        .call(0, |s| {
            block_on(s.delete_stream("X", ExpectedRevision::Exact(1)))
        })
        .unwrap();
    assert_eq!(
        block_on(w.devices[0].store.read_stream("X", ReadOptions::forwards())).unwrap(),
        vec![]
    );
    assert_eq!(
        block_on(w.devices[0].client.refresh()).unwrap().pending,
        2,
        "the appends of X were cancelled: Other-1's and the delete are queued"
    );
    assert!(deleted.position > 0);
    w.connect(0);
    w.settle();
    converged(&w);
    erased_everywhere(&w, marker);
    assert!(conflicts(&w, 0).is_empty());
    // Appending again recreates the stream on every device, revisions going on.
    w.append(1, "X", 1, NEW).unwrap();
    w.settle();
    converged(&w);
    let x = block_on(w.devices[0].store.read_stream("X", ReadOptions::forwards())).unwrap();
    assert_eq!(x.len(), 1);
}

#[test]
fn a_pushed_append_the_server_removed_before_its_device_pulled_it_is_erased_there_too() {
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    w.settle();
    let marker = "ERASE-ME-77aa";
    w.call(0, |s| {
        block_on(s.append("X", vec![marked(marker), marked(marker)], NEW))
    })
    .unwrap();
    // The push reaches the server; its answer and the frames are lost with the connection.
    w.deliver_to_server();
    w.disconnect(0);
    w.settle();
    // Another device deletes the stream before device 0 hears of its own events.
    w.call(1, |s| block_on(s.delete_stream("X", ANY))).unwrap();
    w.settle();
    w.connect(0);
    w.settle();
    converged(&w);
    assert!(conflicts(&w, 0).is_empty());
    assert_eq!(w.devices[0].client.status().pending, 0);
    erased_everywhere(&w, marker);
}

#[test]
fn metadata_set_elsewhere_removes_the_events_it_hides_on_every_device() {
    let mut w = World::new(3);
    for d in 0..3 {
        w.connect(d);
    }
    let old = "ERASE-ME-0ld0";
    w.call(0, |s| {
        block_on(s.append("X", vec![marked(old), marked(old)], NEW))
    })
    .unwrap();
    w.settle();
    w.call(0, |s| {
        block_on(s.append(
            "X",
            vec![marked("kept-1"), marked("kept-2"), marked("kept-3")],
            ExpectedRevision::Exact(1),
        ))
    })
    .unwrap();
    w.settle();
    let truncate = evstore::StreamMetadata {
        truncate_before: Some(2),
        custom: Some(Json::parse(r#"{"owner":"ERASE-ME-cust"}"#).unwrap()),
        ..Default::default()
    };
    w.call(1, |s| block_on(s.set_stream_metadata("X", truncate, NEW)))
        .unwrap();
    w.settle();
    // A second change supersedes the first: its custom data goes too.
    let count = evstore::StreamMetadata {
        max_count: Some(2),
        ..Default::default()
    };
    w.call(2, |s| {
        block_on(s.set_stream_metadata("X", count, ExpectedRevision::Exact(0)))
    })
    .unwrap();
    w.settle();
    converged(&w);
    erased_everywhere(&w, old);
    erased_everywhere(&w, "ERASE-ME-cust");
    erased_everywhere(&w, "kept-1");
    for d in 0..3 {
        let x = block_on(w.devices[d].store.read_stream("X", ReadOptions::forwards())).unwrap();
        let notes: Vec<_> = x.iter().map(|e| e.data.as_str().to_owned()).collect();
        assert_eq!(
            notes,
            [r#"{"note":"kept-2"}"#, r#"{"note":"kept-3"}"#],
            "device {d}"
        );
    }
    // maxCount goes on removing as the stream grows, on every device.
    w.call(0, |s| block_on(s.append("X", vec![marked("kept-4")], ANY)))
        .unwrap();
    w.settle();
    converged(&w);
    erased_everywhere(&w, "kept-2");
}

#[test]
fn a_device_that_missed_a_superseded_delete_still_removes_what_it_removed() {
    // The delete's `$metadata` is superseded (and removed on the server) before device 2 pulls
    // it: the later `$metadata` relaxes truncateBefore, but carries the floor of what is gone.
    let mut w = World::new(3);
    for d in 0..3 {
        w.connect(d);
    }
    let marker = "ERASE-ME-f100";
    w.call(0, |s| {
        block_on(s.append(
            "X",
            vec![marked(marker), marked(marker), marked(marker)],
            NEW,
        ))
    })
    .unwrap();
    w.settle();
    converged(&w);
    w.disconnect(2);
    w.call(0, |s| block_on(s.delete_stream("X", ANY))).unwrap();
    w.settle();
    let relaxed = evstore::StreamMetadata {
        truncate_before: Some(1),
        ..Default::default()
    };
    w.call(1, |s| block_on(s.set_stream_metadata("X", relaxed, ANY)))
        .unwrap();
    w.settle();
    w.connect(2);
    w.settle();
    converged(&w);
    erased_everywhere(&w, marker);
    for d in 0..3 {
        let x = block_on(w.devices[d].store.read_stream("X", ReadOptions::forwards())).unwrap();
        assert!(x.is_empty(), "device {d} still reads {x:?}");
    }
}

#[test]
fn a_subscription_that_delivered_events_removed_by_sync_is_rebased() {
    use std::cell::{Cell, RefCell};
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    w.append(0, "Keep-1", 1, NEW).unwrap();
    w.call(0, |s| {
        block_on(s.append("X", vec![marked("gone-1"), marked("gone-2")], NEW))
    })
    .unwrap();
    w.append(0, "Keep-1", 1, ExpectedRevision::Exact(0))
        .unwrap();
    w.settle();
    let store = w.devices[1].store.clone();
    let mut sub = block_on(store.subscribe(SubscribeOptions::default())).unwrap();
    let model = RefCell::new(Vec::<(u64, evstore::Uuid)>::new());
    let rebases = Cell::new(Vec::new());
    let drain = |sub: &mut evstore::Subscription| loop {
        match futures::FutureExt::now_or_never(sub.next()) {
            Some(Some(Ok(SubscriptionMessage::Event(e)))) => {
                model.borrow_mut().push((e.position, e.id))
            }
            Some(Some(Ok(SubscriptionMessage::Rebase { after }))) => {
                let mut seen = rebases.take();
                seen.push(after);
                rebases.set(seen);
                model
                    .borrow_mut()
                    .retain(|(p, _)| after.is_some_and(|a| *p <= a));
            }
            Some(Some(Ok(SubscriptionMessage::CaughtUp))) => {}
            Some(other) => panic!("{other:?}"),
            None => break,
        }
    };
    drain(&mut sub);
    assert_eq!(model.borrow().len(), 4, "everything delivered");
    w.call(0, |s| block_on(s.tombstone_stream("X", ANY)))
        .unwrap();
    w.settle();
    drain(&mut sub);
    let log: Vec<_> = w.local_log(1).iter().map(|e| (e.position, e.id)).collect();
    assert_eq!(*model.borrow(), log, "the model ends equal to readAll");
    assert_eq!(
        rebases.take(),
        vec![Some(0)],
        "rebased to before X's first event (position 1)"
    );
    converged(&w);
}

#[test]
fn an_append_whose_reply_was_lost_into_a_stream_tombstoned_since_is_erased_without_a_conflict() {
    let mut w = World::new(2);
    w.connect(0);
    w.connect(1);
    w.settle();
    let marker = "ERASE-ME-10s7";
    w.call(0, |s| {
        block_on(s.append("X", vec![marked(marker), marked(marker)], NEW))
    })
    .unwrap();
    // The push is written; its answer and the frames are lost with the connection.
    w.deliver_to_server();
    w.disconnect(0);
    w.settle();
    w.call(1, |s| block_on(s.tombstone_stream("X", ANY)))
        .unwrap();
    w.settle();
    // Device 0 foresees STREAM_DELETED, pushes the held append once: "already" (written before
    // the tombstone), so it is dropped — nothing of it stays, and nothing is left to resolve.
    w.connect(0);
    w.settle();
    assert!(conflicts(&w, 0).is_empty(), "{:?}", conflicts(&w, 0));
    assert_eq!(block_on(w.devices[0].client.refresh()).unwrap().pending, 0);
    converged(&w);
    erased_everywhere(&w, marker);
    stream_deleted_everywhere(&w, "X");
}

#[test]
fn an_offline_append_into_a_stream_tombstoned_meanwhile_is_refused_by_the_server_once() {
    let mut w = World::new(2);
    w.connect(1);
    w.call(0, |s| block_on(s.append("X", vec![marked("mine")], NEW)))
        .unwrap();
    w.call(1, |s| block_on(s.tombstone_stream("X", ANY)))
        .unwrap();
    w.settle();
    w.connect(0);
    w.settle();
    let cs = conflicts(&w, 0);
    assert_eq!(cs.len(), 1);
    assert_eq!(
        cs[0].rejection.as_ref().map(|r| r.0.as_str()),
        Some("STREAM_DELETED")
    );
    assert_eq!(cs[0].pending.len(), 1, "kept until the app discards it");
    // Pushed once: the server's refusal is the conflict now; nothing more is pushed.
    assert_eq!(w.devices[0].client.status().pushable, 0);
    assert!(w.net.is_empty());
    block_on(w.devices[0].client.discard("X")).unwrap();
    w.settle();
    converged(&w);
    erased_everywhere(&w, "mine");
}
