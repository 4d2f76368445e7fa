//! `EventStore.open(options)`: the set of storages compiled into this build (cargo features
//! `indexeddb`, `durable-object` and `postgres`; memory always), each with its own options and, where it has
//! them, its own methods on the store.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::Object;
use wasm_bindgen::prelude::*;

use super::convert::{self, field};
#[cfg(feature = "sync")]
use crate::sync::TappedOutbox;
#[cfg(feature = "sync")]
use crate::Layered;
use crate::{Error, EventStore, HeapStorage, Result, Schema, Selection, Storage, StoreOptions};

#[wasm_bindgen(module = "/src/codec.js")]
extern "C" {
    /// The `schema` option → a compiled `Schema` (src/codec.js), `undefined` when absent or
    /// empty; throws a `TypeError` naming the type and key of what it refuses.
    #[wasm_bindgen(js_name = compileSchema, catch)]
    fn compile_schema(raw: &JsValue) -> std::result::Result<JsValue, JsValue>;
    /// A compiled schema (`Schema` in src/codec.js).
    #[wasm_bindgen(js_name = Schema)]
    type CompiledSchema;
    /// Its current versions as JSON text `[[type, version], …]`.
    #[wasm_bindgen(method)]
    fn versions(this: &CompiledSchema) -> String;
}

/// The property of the JS store that holds its compiled schema (non-enumerable): how the
/// package's own modules (index.js, emmett.js) reach it.
const SCHEMA_KEY: &str = "evstore.schema";

/// An opened storage, and the JS-heap storage under it if that is what it is (its events are
/// owned by the JS store object, and held while a subscription or a sync engine runs).
pub(crate) struct Opened {
    storage: Rc<dyn Storage>,
    heap: Option<Rc<HeapStorage>>,
    /// Whether other processes write to the storage at any time (PostgreSQL: other server
    /// processes), and may change a stream's lifecycle without any subscription running here: the
    /// store watches them from open, not only from its first subscription.
    shared: bool,
}

impl Opened {
    fn of(storage: impl Storage + 'static) -> Self {
        Opened {
            storage: Rc::new(storage),
            heap: None,
            shared: false,
        }
    }
}

/// Opens one kind of storage from the open options.
type Opener = fn(Option<Object>) -> Pin<Box<dyn Future<Output = Result<Opened>>>>;

/// A storage a JS caller can choose with `{ storage: name }`.
struct Kind {
    name: &'static str,
    /// The open options it reads besides `storage` and `maxEventBytes`.
    options: &'static [&'static str],
    open: Opener,
    /// Adds the storage's own methods to the JS store object.
    extend: Option<fn(&JsValue)>,
}

fn kinds() -> Vec<Kind> {
    #[allow(unused_mut)] // a build with no optional storage adds none
    let mut kinds = vec![Kind {
        name: "memory",
        options: &["sync"],
        open: |_| {
            Box::pin(async {
                let heap = Rc::new(HeapStorage::new());
                Ok(Opened {
                    storage: heap.clone(),
                    heap: Some(heap),
                    shared: false,
                })
            })
        },
        extend: None,
    }];
    #[cfg(feature = "indexeddb")]
    kinds.push(indexeddb::KIND);
    #[cfg(not(feature = "indexeddb"))]
    kinds.push(NO_INDEXEDDB);
    #[cfg(feature = "durable-object")]
    kinds.push(durable_object::KIND);
    #[cfg(feature = "postgres")]
    kinds.push(postgres::KIND);
    kinds
}

/// The options of `{ storage: "indexeddb", name, durability }` as `(name, durability)`, checked
/// alike in every build: a build without IndexedDB refuses valid options only.
fn indexeddb_options(o: Option<&Object>) -> Result<(String, &'static str)> {
    let name = match field(o, "name") {
        None => "evstore".to_owned(),
        Some(v) => convert::string(&v, "name")?,
    };
    if name.is_empty() {
        return Err(Error::invalid("name must not be empty"));
    }
    let durability = match field(o, "durability") {
        None => "default",
        Some(v) => match v.as_string().as_deref() {
            Some("default") => "default",
            Some("strict") => "strict",
            Some("relaxed") => "relaxed",
            _ => {
                return Err(Error::invalid(format!(
                    "durability must be \"strict\", \"relaxed\" or \"default\", got {}",
                    convert::describe(&v)
                )))
            }
        },
    };
    Ok((name, durability))
}

/// `{ storage: "indexeddb" }` in a build without it (the server build, which Node.js, Deno and
/// workerd load: runtimes with no IndexedDB), refused as where the runtime has none.
#[cfg(not(feature = "indexeddb"))]
const NO_INDEXEDDB: Kind = Kind {
    name: "indexeddb",
    options: &["name", "durability", "sync"],
    open: |o| {
        Box::pin(async move {
            indexeddb_options(o.as_ref())?;
            Err(Error::storage(
                "IndexedDB is not available in this runtime; use { storage: \"memory\" }",
            ))
        })
    },
    extend: None,
};

/// The open options every storage accepts (`wasm` is read by the package's entry before the core
/// sees the options; it is listed so that "accepted: …" says all).
const COMMON: [&str; 4] = ["storage", "maxEventBytes", "schema", "wasm"];

/// Opens the store that `options` describe, as the JS object the caller gets.
pub(crate) async fn open(options: JsValue) -> Result<JsValue> {
    let options = convert::options_object(&options, "open options")?;
    let o = options.as_ref();
    let kinds = kinds();
    let name = match field(o, "storage") {
        None => "memory".to_owned(),
        Some(v) => convert::string(&v, "storage")?,
    };
    let Some(kind) = kinds.iter().find(|k| k.name == name) else {
        let names: Vec<String> = kinds.iter().map(|k| format!("\"{}\"", k.name)).collect();
        return Err(Error::invalid(format!(
            "storage must be {}, got \"{name}\"{}",
            names.join(" or "),
            convert::suggestion(&name, kinds.iter().map(|k| k.name))
        )));
    };
    let accepted: Vec<&str> = COMMON.iter().chain(kind.options).copied().collect();
    convert::check_keys(o, "open options", &accepted)?;
    let mut store_options = StoreOptions::default();
    if let Some(max) = field(o, "maxEventBytes") {
        let n = max
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= f64::from(u32::MAX))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "maxEventBytes must be a positive integer, got {}",
                    convert::describe(&max)
                ))
            })?;
        store_options.max_event_bytes = n as usize;
    }
    // `sync` was checked by the package's JS (url, token); here it says "queue appends", and
    // which streams the device holds (`{ streams }`).
    let synced = match field(o, "sync") {
        Some(v) if v.is_truthy() => Some(sync_selection(&v)?),
        _ => None,
    };
    // Checked before the storage opens: a bad schema changes nothing.
    let schema = compile_schema(&field(o, "schema").unwrap_or_default()).map_err(|e| {
        Error::invalid(
            js_sys::Error::from(e)
                .message()
                .as_string()
                .unwrap_or_default(),
        )
    })?;
    #[cfg(not(feature = "sync"))]
    if synced.is_some() {
        // The package's `EventStore.open` loads the build with sync for a synced store.
        return Err(Error::invalid(
            "this build of evstore has no sync client (the package opens a synced store on the build with sync)",
        ));
    }
    let Opened {
        storage,
        heap,
        shared,
    } = (kind.open)(options.clone()).await?;
    #[cfg(feature = "sync")]
    let (storage, tap): (Rc<dyn Storage>, _) = match synced {
        Some(_) => {
            let (outbox, tap) = TappedOutbox::new();
            (Rc::new(Layered::over(storage, Rc::new(outbox))), Some(tap))
        }
        None => (storage, None),
    };
    let mut store = EventStore::over(storage, store_options);
    if !schema.is_undefined() {
        // The core stamps appends with the versions; the steps run in JS, on every read.
        store = store.with_schema(Schema::host_versions(
            &schema.unchecked_ref::<CompiledSchema>().versions(),
        )?)?;
    }
    let inner = Rc::new(store);
    if shared {
        // Before anything is read: a change by another process from now on wakes the store (its
        // lifecycle registry reloads, its subscriptions read on).
        inner.watch_other_writers();
    }
    // Retention that came due while the store was closed is applied now (and the store learns
    // which streams have retention).
    inner.enforce_retention().await?;
    #[cfg(feature = "sync")]
    let engine: Option<JsValue> = match synced {
        Some(selection) => {
            let hold = heap.as_ref().map(|h| h.hold());
            let engine = super::sync::JsSyncEngine::open(
                inner.clone(),
                hold,
                selection,
                schema.clone(),
                tap,
            )
            .await?;
            Some(engine.into())
        }
        None => None,
    };
    #[cfg(not(feature = "sync"))]
    let engine: Option<JsValue> = None;
    let js: JsValue = super::JsEventStore {
        inner: inner.clone(),
        heap: heap.clone(),
        schema: schema.clone(),
    }
    .into();
    // Always defined (`undefined` without a schema), so that reading it never walks the
    // prototype chain; non-enumerable, non-writable.
    let descriptor = Object::new();
    let _ = js_sys::Reflect::set(&descriptor, &"value".into(), &schema);
    let key: JsValue = js_sys::Symbol::for_(SCHEMA_KEY).into();
    let _ = js_sys::Reflect::define_property(js.unchecked_ref::<Object>(), &key, &descriptor);
    if let Some(heap) = &heap {
        heap.attach(&js);
    }
    if let Some(engine) = engine {
        // Picked up (and removed) by the package's `EventStore.open`, which starts syncing.
        let _ = js_sys::Reflect::set(&js, &"__syncEngine".into(), &engine);
    }
    if let Some(extend) = kind.extend {
        extend(&js);
    }
    Ok(js)
}

/// The streams a synced store holds: its `sync` option's `streams` (the package passes them on as
/// given: an array of stream patterns), every stream when absent.
fn sync_selection(sync: &JsValue) -> Result<Selection> {
    let Some(streams) = field(sync.dyn_ref::<Object>(), "streams") else {
        return Ok(Selection::all());
    };
    let bad = || {
        Error::invalid(format!(
            "sync.streams must be an array of stream patterns (non-empty strings: a stream id, \
             or a prefix ending in \"*\"), got {}",
            convert::describe(&streams)
        ))
    };
    if !js_sys::Array::is_array(&streams) {
        return Err(bad());
    }
    let patterns = js_sys::Array::from(&streams)
        .iter()
        .map(|p| p.as_string().ok_or_else(bad))
        .collect::<Result<Vec<String>>>()?;
    Selection::parse(&patterns).map_err(|e| Error::invalid(format!("sync.streams: {e}")))
}

#[cfg(feature = "indexeddb")]
mod indexeddb {
    //! `{ storage: "indexeddb", name, durability }`; the store gains `persistStorage()` and
    //! `storageEstimate()`.

    use super::*;
    use crate::{Durability, IndexedDbStorage};

    #[wasm_bindgen(module = "/src/storage/host.js")]
    extern "C" {
        #[wasm_bindgen(js_name = addStorageMethods)]
        fn add_storage_methods(store: &JsValue);
    }

    pub(super) const KIND: Kind = Kind {
        name: "indexeddb",
        options: &["name", "durability", "sync"],
        open: |o| Box::pin(open(o)),
        extend: Some(add_storage_methods),
    };

    async fn open(o: Option<Object>) -> Result<Opened> {
        let (name, durability) = super::indexeddb_options(o.as_ref())?;
        let durability = match durability {
            "strict" => Durability::Strict,
            "relaxed" => Durability::Relaxed,
            _ => Durability::Default,
        };
        Ok(Opened::of(IndexedDbStorage::open(&name, durability).await?))
    }
}

#[cfg(feature = "durable-object")]
mod durable_object {
    //! `{ storage: "durable-object", durableObjectStorage: ctx.storage }`.

    use super::*;
    use crate::DurableObjectStorage;

    pub(super) const KIND: Kind = Kind {
        name: "durable-object",
        options: &["durableObjectStorage"],
        open: |o| {
            Box::pin(async move {
                let storage = field(o.as_ref(), "durableObjectStorage").ok_or_else(|| {
                    Error::invalid(
                        "storage \"durable-object\" needs durableObjectStorage: the object's ctx.storage (with its SQLite API)",
                    )
                })?;
                Ok(Opened::of(DurableObjectStorage::open(storage)?))
            })
        },
        extend: None,
    };
}

#[cfg(feature = "postgres")]
mod postgres {
    //! `{ storage: "postgres", database: db, tenant }`: the tenant's log in a PostgreSQL database
    //! (`db`: the query interface of server/db.js, over a `pg.Pool` or a PGlite).

    use super::*;
    use crate::PostgresStorage;

    pub(super) const KIND: Kind = Kind {
        name: "postgres",
        options: &["database", "tenant"],
        open: |o| Box::pin(open(o)),
        extend: None,
    };

    async fn open(o: Option<Object>) -> Result<Opened> {
        let database = field(o.as_ref(), "database").ok_or_else(|| {
            Error::invalid(
                "storage \"postgres\" needs database: the query interface { query(sql, params), transaction(fn) } (server/db.js makes one from a pg.Pool or a PGlite)",
            )
        })?;
        let tenant = match field(o.as_ref(), "tenant") {
            None => {
                return Err(Error::invalid(
                    "storage \"postgres\" needs tenant: the name of the tenant whose log the store is (a non-empty string)",
                ))
            }
            Some(v) => convert::string(&v, "tenant")?,
        };
        Ok(Opened {
            shared: true,
            ..Opened::of(PostgresStorage::open(database, &tenant).await?)
        })
    }
}
