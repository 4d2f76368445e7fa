//! A simulated world for sync: one server store, devices with their own stores, and a network
//! of packets that the test delivers, drops, duplicates and reorders at will. Packets are the
//! protocol's texts both ways: the server is the shipped [`SyncServer`] (what the edge service
//! runs), one [`Feed`] per connection, moved by this host instead of a WebSocket; devices read
//! its frames with the same codec as the package. A push left unanswered is handled as the
//! package's host does: the socket is closed, and the device reconnects and pulls.
//!
//! Each device has a sync selection (the streams it holds) and a token's streams (what the
//! server lets it touch): the host gives the server the token's streams as the connection's
//! `Access`, and checks that no frame it delivers to a device carries an event of a stream
//! outside both.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use evstore::sync::{
    decode_server_message, encode_client_message, Access, Feed, FrameLimits, Outbox, PushAppend,
    PushPolicy, Served, ServerFrame, SyncClient, SyncServer, FRAME_BYTES,
};
use evstore::sync::{PushOutcome, ServerMessage};
use evstore::{
    EventStore, ExpectedRevision, Json, Layered, MemoryStorage, Mode, NewEvent, ProposedEvent,
    ReadOptions, RecordedEvent, Schema, Selection, Storage, Uuid,
};
use futures::executor::block_on;

/// A device's store type.
pub type DeviceStore = EventStore;

/// How many events one `Events` frame carries in the simulation (small, to split appends).
pub const FRAME: u64 = 3;

/// One packet on the network: a message's text.
#[derive(Debug, Clone)]
pub enum Packet {
    ToServer(u64, String),
    ToClient(u64, String),
}

impl Packet {
    pub fn conn(&self) -> u64 {
        match self {
            Packet::ToServer(c, _) | Packet::ToClient(c, _) => *c,
        }
    }
}

/// A server connection: its device and its feed.
#[derive(Debug)]
struct Connection {
    device: usize,
    feed: Feed,
}

pub struct Server {
    pub storage: Rc<MemoryStorage>,
    pub store: Rc<EventStore>,
    pub epoch: String,
    /// The server store's schema (none by default, as on the edge): sync keeps the stored form
    /// whatever it is.
    pub schema: Option<Schema>,
    /// The shipped server over `store` (made again whenever the store is).
    sync: SyncServer,
    feeds: HashMap<u64, Connection>,
}

impl Server {
    /// A server of `storage`'s log `epoch`, its store with `schema`.
    fn over(storage: Rc<MemoryStorage>, epoch: String, schema: Option<Schema>) -> Self {
        let mut store = EventStore::over(storage.clone(), Default::default());
        if let Some(schema) = &schema {
            store = store.with_schema(schema.clone()).unwrap();
        }
        let store = Rc::new(store);
        // Small frames, so that frames split appends.
        let limits = FrameLimits {
            events: FRAME,
            bytes: FRAME_BYTES,
        };
        let max_events = PushPolicy::default().max_append_events;
        let sync = SyncServer::new(store.clone(), epoch.clone(), max_events).with_limits(limits);
        Server {
            storage,
            store,
            epoch,
            schema,
            sync,
            feeds: HashMap::new(),
        }
    }

    /// The same server over a new store of `storage` (a restart, or a restored copy).
    fn reopen(&mut self, storage: Rc<MemoryStorage>, epoch: String) {
        let feeds = std::mem::take(&mut self.feeds);
        *self = Server::over(storage, epoch, self.schema.take());
        self.feeds = feeds;
    }
}

pub struct Device {
    pub storage: Rc<MemoryStorage>,
    pub store: Rc<DeviceStore>,
    pub client: SyncClient,
    pub conn: Option<u64>,
    /// Ids of every locally acknowledged append, with its stream.
    pub acked: Vec<(String, Vec<Uuid>)>,
    /// Ids the app discarded through the conflict API.
    pub discarded: HashSet<Uuid>,
    /// The streams the device holds (its sync selection).
    pub selection: Selection,
    /// The streams its token lets it touch.
    pub token: Selection,
    /// The app's schema on this device (none: no schema); a reload keeps it.
    pub schema: Option<Schema>,
}

impl Device {
    /// Whether the device holds `stream`'s events: selected, and allowed by its token.
    pub fn holds(&self, stream: &str) -> bool {
        self.selection.matches(stream) && self.token.matches(stream)
    }
}

pub struct World {
    pub server: Server,
    pub devices: Vec<Device>,
    pub net: Vec<Packet>,
    next_conn: u64,
    next_id: u128,
    pub server_up: bool,
    pub conflicts_seen: usize,
    /// Ids the server lost in a wipe (confirmed before it; gone everywhere after).
    pub lost: HashSet<Uuid>,
    epochs: u64,
}

/// A store over `storage` with `schema` and its client, opened with `selection` (what the
/// storage held under another selection is reconciled at once).
fn device_store(
    storage: &Rc<MemoryStorage>,
    selection: &Selection,
    schema: Option<&Schema>,
) -> (Rc<DeviceStore>, SyncClient) {
    let mut store = EventStore::new(Layered::over(storage.clone(), Rc::new(Outbox)));
    if let Some(schema) = schema {
        store = store.with_schema(schema.clone()).unwrap();
    }
    let store = Rc::new(store);
    let client = block_on(SyncClient::open(store.clone(), selection.clone())).unwrap();
    (store, client)
}

/// The selection of `patterns`.
pub fn selection(patterns: &[&str]) -> Selection {
    Selection::parse(patterns).unwrap()
}

impl World {
    /// `devices` devices that hold every stream, with tokens for every stream.
    pub fn new(devices: usize) -> Self {
        Self::scoped(vec![(Selection::all(), Selection::all()); devices])
    }

    /// One device per `(selection, token's streams)`.
    pub fn scoped(scopes: Vec<(Selection, Selection)>) -> Self {
        let server = Server::over(Rc::new(MemoryStorage::new()), "epoch-1".into(), None);
        let devices = scopes
            .into_iter()
            .map(|(selection, token)| {
                let storage = Rc::new(MemoryStorage::new());
                let (store, client) = device_store(&storage, &selection, None);
                Device {
                    storage,
                    store,
                    client,
                    conn: None,
                    acked: Vec::new(),
                    discarded: HashSet::new(),
                    selection,
                    token,
                    schema: None,
                }
            })
            .collect();
        World {
            server,
            devices,
            net: Vec::new(),
            next_conn: 1,
            next_id: 1,
            server_up: true,
            conflicts_seen: 0,
            lost: HashSet::new(),
            epochs: 1,
        }
    }

    /// These devices with their own schemas (`schemas[d]` for device `d`; none: no schema):
    /// each device's store is opened again with it, offline.
    pub fn with_schemas(mut self, schemas: Vec<Option<Schema>>) -> Self {
        assert_eq!(schemas.len(), self.devices.len(), "one schema per device");
        for (d, schema) in schemas.into_iter().enumerate() {
            self.reload_with(d, schema);
        }
        self
    }

    /// The server's store with `schema` (a restart keeps it).
    pub fn with_server_schema(mut self, schema: Schema) -> Self {
        self.server.schema = Some(schema);
        self.restart_server();
        self
    }

    pub fn fresh_id(&mut self) -> Uuid {
        self.next_id += 1;
        Uuid::from_u128(self.next_id)
    }

    /// A local append on device `d`; acknowledged ones are remembered.
    pub fn append(
        &mut self,
        d: usize,
        stream: &str,
        n: usize,
        expected: ExpectedRevision,
    ) -> evstore::Result<evstore::AppendResult> {
        let events: Vec<ProposedEvent> = (0..n)
            .map(|i| {
                let id = self.fresh_id();
                ProposedEvent::new(
                    "Happened",
                    Json::parse(&format!("{{\"d\":{d},\"i\":{i}}}")).unwrap(),
                )
                .with_id(id)
            })
            .collect();
        self.append_events(d, stream, events, expected)
    }

    /// A local append of `events` on device `d` (each given an id if it has none);
    /// acknowledged ones are remembered.
    pub fn append_events(
        &mut self,
        d: usize,
        stream: &str,
        events: Vec<ProposedEvent>,
        expected: ExpectedRevision,
    ) -> evstore::Result<evstore::AppendResult> {
        let events: Vec<ProposedEvent> = events
            .into_iter()
            .map(|e| match e.id {
                Some(_) => e,
                None => {
                    let id = self.fresh_id();
                    e.with_id(id)
                }
            })
            .collect();
        let ids: Vec<Uuid> = events.iter().filter_map(|e| e.id).collect();
        let device = &mut self.devices[d];
        let r = block_on(device.store.append(stream, events, expected));
        if r.is_ok() {
            device.acked.push((stream.to_owned(), ids));
        }
        block_on(device.client.pump()).unwrap();
        self.flush_outgoing(d);
        r
    }

    /// A lifecycle call (or any call) on device `d`'s store, then what the device sends.
    pub fn call<T>(
        &mut self,
        d: usize,
        f: impl FnOnce(&EventStore) -> evstore::Result<T>,
    ) -> evstore::Result<T> {
        let r = f(&self.devices[d].store);
        block_on(self.devices[d].client.pump()).unwrap();
        self.flush_outgoing(d);
        r
    }

    /// Every stored text of the server and of each device (events, husks, meta records).
    pub fn raw_dumps(&self) -> Vec<(String, String)> {
        let mut dumps = vec![("server".to_owned(), self.server.storage.raw_dump())];
        for (d, dev) in self.devices.iter().enumerate() {
            dumps.push((format!("device {d}"), dev.storage.raw_dump()));
        }
        dumps
    }

    /// Connects device `d` (if the server is up).
    pub fn connect(&mut self, d: usize) {
        if self.devices[d].conn.is_some() || !self.server_up {
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.server.feeds.insert(
            conn,
            Connection {
                device: d,
                feed: Feed::default(),
            },
        );
        let device = &mut self.devices[d];
        device.conn = Some(conn);
        device.client.connecting();
        block_on(device.client.connected()).unwrap();
        self.flush_outgoing(d);
    }

    pub fn disconnect(&mut self, d: usize) {
        if let Some(conn) = self.devices[d].conn.take() {
            self.server.feeds.remove(&conn);
            self.net.retain(|p| p.conn() != conn);
            self.devices[d].client.disconnected();
        }
    }

    /// The page reloads: a new store and client over the same storage, offline (with the
    /// same schema).
    pub fn reload(&mut self, d: usize) {
        let selection = self.devices[d].selection.clone();
        self.reselect(d, selection);
    }

    /// The page reloads with another app version: a new store with `schema` and client over
    /// the same storage, offline.
    pub fn reload_with(&mut self, d: usize, schema: Option<Schema>) {
        self.devices[d].schema = schema;
        self.reload(d);
    }

    /// The page reloads with another sync selection: a new store and client over the same
    /// storage, offline.
    pub fn reselect(&mut self, d: usize, selection: Selection) {
        self.disconnect(d);
        let device = &self.devices[d];
        let (store, client) = device_store(&device.storage, &selection, device.schema.as_ref());
        self.devices[d].store = store;
        self.devices[d].client = client;
        self.devices[d].selection = selection;
    }

    /// The access of device `d`'s connections: every scope, the token's streams.
    fn access(&self, d: usize) -> Access {
        Access {
            read: true,
            append: true,
            delete: true,
            expired: false,
            streams: self.devices[d].token.clone(),
        }
    }

    /// The server's log as device `d` should hold it: the events of the streams it holds.
    pub fn server_log_for(&self, d: usize) -> Vec<RecordedEvent> {
        let device = &self.devices[d];
        self.server_log()
            .into_iter()
            .filter(|e| device.holds(e.stream_id.as_str()))
            .collect()
    }

    /// The server process restarts: every connection closes; the data stays.
    pub fn restart_server(&mut self) {
        for d in 0..self.devices.len() {
            self.disconnect(d);
        }
        let (storage, epoch) = (self.server.storage.clone(), self.server.epoch.clone());
        self.server.reopen(storage, epoch);
    }

    /// The server is restored from an earlier copy holding its first `keep` events (fewer, to
    /// end on a whole append): the same
    /// log (same epoch), an earlier state of it. Every later event is lost for good.
    pub fn restore_server(&mut self, keep: usize) {
        for d in 0..self.devices.len() {
            self.disconnect(d);
        }
        let log = self.server_log();
        // A copy holds whole transactions: cut where the next event starts another append (the
        // events of one append share their stream and date).
        let mut keep = keep.min(log.len());
        while keep > 0
            && keep < log.len()
            && (log[keep].stream_id.clone(), log[keep].created_at)
                == (log[keep - 1].stream_id.clone(), log[keep - 1].created_at)
        {
            keep -= 1;
        }
        for e in &log[keep..] {
            self.lost.insert(e.id);
        }
        let epoch = self.server.epoch.clone();
        self.server.reopen(Rc::new(MemoryStorage::new()), epoch);
        // The copy's events, as they were: same ids, positions and dates.
        let copy = log[..keep].iter().map(|e| {
            Ok(PushAppend {
                kind: evstore::sync::PushKind::Events,
                seq: 0,
                stream_id: e.stream_id.clone(),
                expected: ExpectedRevision::Any,
                events: vec![NewEvent {
                    id: e.id,
                    event_type: e.event_type.clone(),
                    data: e.data.clone(),
                    metadata: e.metadata.clone(),
                }],
                created_at: e.created_at,
            })
        });
        let policy = PushPolicy::default();
        block_on(self.server.store.accept_push(copy.collect(), policy));
    }

    /// The server loses its data (a reset, a restore from nothing): a new log with a new epoch.
    /// Every event it held is lost for good.
    pub fn wipe_server(&mut self) {
        for d in 0..self.devices.len() {
            self.disconnect(d);
        }
        for e in self.server_log() {
            self.lost.insert(e.id);
        }
        self.epochs += 1;
        let epoch = format!("epoch-{}", self.epochs);
        self.server.reopen(Rc::new(MemoryStorage::new()), epoch);
    }

    /// Time passes with no answer (a lost push reply, lost frames): as the package's host does,
    /// the socket is closed, and the device reconnects and pulls (and pushes its queue again).
    pub fn tick(&mut self, d: usize) {
        if self.devices[d].conn.is_none() {
            return;
        }
        self.disconnect(d);
        self.connect(d);
    }

    fn flush_outgoing(&mut self, d: usize) {
        let device = &self.devices[d];
        let out = device.client.take_outgoing();
        if let Some(conn) = device.conn {
            self.net.extend(
                out.iter()
                    .map(|m| Packet::ToServer(conn, encode_client_message(m))),
            );
        }
    }

    /// Delivers packet `i` (removing it).
    pub fn deliver(&mut self, i: usize) {
        let packet = self.net.remove(i);
        if std::env::var("SIM_TRACE").is_ok() {
            eprintln!("    deliver {:?}", packet);
        }
        match packet {
            Packet::ToServer(conn, msg) => self.serve(conn, msg),
            Packet::ToClient(conn, text) => {
                let Some(d) = self.devices.iter().position(|dev| dev.conn == Some(conn)) else {
                    return;
                };
                let frame = decode_server_message(&text).unwrap();
                let Some(ServerFrame::Message(msg)) = frame else {
                    panic!("the server answered an error: {text}");
                };
                self.check_frame(d, &msg, &text);
                let held = block_on(self.devices[d].client.receive(msg)).unwrap();
                self.conflicts_seen += held.len();
                self.flush_outgoing(d);
            }
        }
    }

    /// No frame carries an event of a stream device `d` does not hold (unselected, or not
    /// allowed by its token): neither events nor a conflict's `theirs`.
    fn check_frame(&self, d: usize, msg: &ServerMessage, text: &str) {
        let device = &self.devices[d];
        let events: Vec<&RecordedEvent> = match msg {
            ServerMessage::Events { events, .. } => events.iter().collect(),
            ServerMessage::PushResult { outcomes, .. } => outcomes
                .iter()
                .flat_map(|o| match o {
                    PushOutcome::Conflict { theirs, .. } => theirs.iter().collect(),
                    _ => Vec::new(),
                })
                .collect(),
            _ => Vec::new(),
        };
        for e in events {
            assert!(
                device.holds(e.stream_id.as_str()),
                "device {d} (selection {}, token {}) received an event of {}: {text}",
                device.selection,
                device.token,
                e.stream_id
            );
        }
    }

    /// Delivers the first packet bound for the server (a push, in the named cases).
    pub fn deliver_to_server(&mut self) {
        let i = self
            .net
            .iter()
            .position(|p| matches!(p, Packet::ToServer(_, _)))
            .expect("a packet for the server");
        self.deliver(i);
    }

    pub fn duplicate(&mut self, i: usize) {
        let p = self.net[i].clone();
        self.net.push(p);
    }

    pub fn drop_packet(&mut self, i: usize) {
        self.net.remove(i);
    }

    /// The server: the shipped `SyncServer` serves the message's text; this host sends what it
    /// answers, as the edge service does (a push's commits reach every live feed first).
    fn serve(&mut self, conn: u64, text: String) {
        let Some(device) = self.server.feeds.get(&conn).map(|c| c.device) else {
            return;
        };
        let access = self.access(device);
        let server = &mut self.server;
        let connection = server.feeds.get_mut(&conn).unwrap();
        match block_on(server.sync.serve(&mut connection.feed, &text, &access)) {
            Served::Reply(frame) => self.net.push(Packet::ToClient(conn, frame)),
            Served::Pull => self.send_from(conn),
            Served::Pushed(result) => {
                let live: Vec<u64> = server
                    .feeds
                    .iter()
                    .filter(|(_, f)| f.feed.live)
                    .map(|(c, _)| *c)
                    .collect();
                for c in live {
                    self.send_from(c);
                }
                self.net.push(Packet::ToClient(conn, result));
            }
            other => panic!("a device's message was answered {other:?}: {text}"),
        }
    }

    /// Sends `conn` every frame its feed has now.
    fn send_from(&mut self, conn: u64) {
        let access = self.access(self.server.feeds[&conn].device);
        let server = &mut self.server;
        let feed = &mut server.feeds.get_mut(&conn).unwrap().feed;
        while let Some(frame) = block_on(server.sync.next_frame_for(feed, &access)).unwrap() {
            self.net.push(Packet::ToClient(conn, frame));
        }
    }

    /// Delivers every packet in order, with ticks when the network goes quiet while a device
    /// still has something to push or pull, until nothing moves.
    pub fn settle(&mut self) {
        for _ in 0..200 {
            let mut steps = 0;
            while !self.net.is_empty() {
                self.deliver(0);
                steps += 1;
                assert!(steps < 100_000, "the network never went quiet");
            }
            let mut moved = false;
            for d in 0..self.devices.len() {
                if self.devices[d].conn.is_none() {
                    continue;
                }
                let status = block_on(self.devices[d].client.refresh()).unwrap();
                let pushable = block_on(self.devices[d].client.pushable()).unwrap();
                // The position of the server's last event (its head may be a removed one); a
                // device that holds only some streams reaches the log's head.
                let server_head = self.server_log().last().map(|e| e.position);
                let log_head = block_on(self.server.store.head_position()).unwrap();
                let epoch = self.devices[d].client.epoch();
                let other_log = epoch.is_some_and(|e| e != self.server.epoch);
                // Same head, other events (a restored server that grew again): a lost pull's
                // refusal is found only by pulling again.
                let id_at =
                    |log: &[RecordedEvent], at| log.iter().find(|e| e.position == at).map(|e| e.id);
                // Stored logs, not reads: a read may hide a confirmed event by a retention rule
                // that counts the device's pending events too.
                let device = &self.devices[d];
                let held: Vec<RecordedEvent> = stored_log(&*self.server.storage)
                    .into_iter()
                    .filter(|e| device.holds(e.stream_id.as_str()))
                    .collect();
                // A husk counts as its event: a held lifecycle call keeps what it removed
                // locally removed until the app resolves it.
                let diverged = status.confirmed.is_some_and(|at| {
                    let ours = id_at(&stored_log(&*device.storage), at);
                    let theirs = id_at(&held, at);
                    ours != theirs
                        && !(ours.is_none()
                            && theirs.is_some_and(|id| husk_at(&*device.storage, id, at)))
                });
                let behind = status.confirmed != server_head && status.confirmed != log_head;
                if pushable > 0 || behind || other_log || diverged {
                    self.tick(d);
                    moved = true;
                }
            }
            if !moved && self.net.is_empty() {
                return;
            }
        }
        for d in 0..self.devices.len() {
            eprintln!(
                "device {d}: {:?} conn {:?}",
                self.devices[d].client.status(),
                self.devices[d].conn
            );
            eprintln!("  local {:?}", content(&self.local_log(d)));
        }
        eprintln!("server {:?}", content(&self.server_log()));
        panic!("sync never settled");
    }

    /// The server's log as stored (read, not upcast by a schema).
    pub fn server_log(&self) -> Vec<RecordedEvent> {
        stored_form(&self.server.store)
    }

    /// Device `d`'s log as stored (read, not upcast by a schema).
    pub fn local_log(&self, d: usize) -> Vec<RecordedEvent> {
        stored_form(&self.devices[d].store)
    }

    /// Device `d`'s log as its app reads it (upcast by its schema).
    pub fn app_log(&self, d: usize) -> Vec<RecordedEvent> {
        block_on(self.devices[d].store.read_all(ReadOptions::forwards())).unwrap()
    }
}

/// `store`'s readable log, in the stored form (the page read, which never upcasts).
fn stored_form(store: &EventStore) -> Vec<RecordedEvent> {
    block_on(store.read_all_page(ReadOptions::forwards()))
        .and_then(|page| page.into_events())
        .unwrap()
}

/// Every live event `storage` holds, as its primitives return them (no read-time hiding).
/// Whether `storage` holds the event `id` at `position`, removed (a husk).
fn husk_at(storage: &dyn Storage, id: evstore::Uuid, position: evstore::Position) -> bool {
    block_on(async {
        let mut tx = storage.begin(Mode::Read).await?;
        tx.locate(&[id]).await
    })
    .unwrap()
    .pop()
    .flatten()
    .is_some_and(|l| l.removed && l.position == position)
}

fn stored_log(storage: &dyn Storage) -> Vec<RecordedEvent> {
    block_on(async {
        let mut tx = storage.begin(Mode::Read).await?;
        tx.read_log(0..=u64::MAX).await?.into_events()
    })
    .unwrap()
}

/// Positions increasing, ids unique, revisions increasing per stream; with no hole at all
/// (nothing was ever removed: `dense`), positions dense from 0 and revisions contiguous.
pub fn check_log(log: &[RecordedEvent], what: &str) {
    let dense = !HOLES.with(|h| h.get())
        && !log
            .iter()
            .any(|e| e.stream_id.is_system() || &*e.event_type == evstore::DELETED_TYPE);
    let mut ids = HashSet::new();
    let mut heads: HashMap<&str, u64> = HashMap::new();
    let mut last: Option<u64> = None;
    for (i, e) in log.iter().enumerate() {
        if dense {
            assert_eq!(e.position, i as u64, "{what}: positions dense");
        }
        assert!(last < Some(e.position), "{what}: positions increase");
        last = Some(e.position);
        assert!(ids.insert(e.id), "{what}: id {} twice", e.id);
        let next = heads.entry(e.stream_id.as_str()).or_insert(0);
        if dense {
            assert_eq!(
                e.revision, *next,
                "{what}: revisions of {} contiguous",
                e.stream_id
            );
        } else {
            assert!(
                e.revision >= *next,
                "{what}: revisions of {} increase",
                e.stream_id
            );
        }
        *next = e.revision + 1;
    }
}

thread_local! {
    /// Lifecycle calls were made in this scenario: logs may have holes.
    pub static HOLES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The ids of the live events a memory storage holds (readable or hidden).
pub fn stored_ids(storage: &MemoryStorage) -> HashSet<Uuid> {
    storage
        .raw_dump()
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .filter_map(|l| l.split(' ').nth(1))
        .filter_map(|id| Uuid::try_parse(id).ok())
        .collect()
}

/// The ids of the removed events a memory storage holds (husks: their id, stream and revision
/// stay).
pub fn husked_ids(storage: &MemoryStorage) -> HashSet<Uuid> {
    storage
        .raw_dump()
        .lines()
        .filter_map(|l| l.strip_prefix("husk "))
        .filter_map(|l| l.split(' ').next())
        .filter_map(|id| Uuid::try_parse(id).ok())
        .collect()
}

/// One event's comparable content: id, stream, revision, position, data, metadata, date.
pub type Content = (Uuid, String, u64, u64, String, String, u64);

/// The comparable content of a log (data and metadata as their texts).
pub fn content(log: &[RecordedEvent]) -> Vec<Content> {
    log.iter()
        .map(|e| {
            (
                e.id,
                e.stream_id.to_string(),
                e.revision,
                e.position,
                e.data.to_string(),
                e.metadata.to_string(),
                e.created_at,
            )
        })
        .collect()
}
