//! Opening databases, running transactions, awaiting requests, building keys and key ranges:
//! IndexedDB through `web_sys` and two small JS helpers, with no wrapper crate (whose error
//! formatting alone pulled float formatting into the wasm).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbCursor, IdbDatabase, IdbFactory, IdbKeyRange, IdbRequest, IdbTransaction,
    IdbTransactionMode, IdbVersionChangeEvent,
};

use crate::storage::js::js_error;
use crate::Result;

#[wasm_bindgen(module = "/src/storage/host.js")]
extern "C" {
    fn settle(request: &IdbRequest) -> Promise;
    fn finished(tx: &IdbTransaction) -> Promise;
}

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase`, for the one call `web_sys` has no binding of.
    #[wasm_bindgen(extends = IdbDatabase, js_name = IDBDatabase)]
    type Database;

    /// `db.transaction(stores, mode, options)`.
    #[wasm_bindgen(method, catch, js_class = "IDBDatabase", js_name = transaction)]
    fn transaction_with_options(
        this: &Database,
        stores: &JsValue,
        mode: IdbTransactionMode,
        options: &JsValue,
    ) -> std::result::Result<IdbTransaction, JsValue>;
}

/// The runtime's `indexedDB`, `None` where it has none.
pub(super) fn factory() -> std::result::Result<Option<IdbFactory>, JsValue> {
    let factory = Reflect::get(&js_sys::global(), &"indexedDB".into())?;
    Ok((!factory.is_null() && !factory.is_undefined()).then(|| factory.unchecked_into()))
}

/// Why [`open_database`] failed.
pub(super) enum OpenError {
    /// The runtime has no `indexedDB`.
    NoFactory,
    /// `indexedDB.open` refused the arguments.
    Refused,
    /// The open request (or the upgrade) failed with this error.
    Failed(JsValue),
}

/// Opens the database `name` at `version`, running `upgrade(db, old_version)` inside the
/// `versionchange` transaction when the database is older (its error aborts the open).
pub(super) async fn open_database(
    name: &str,
    version: u32,
    upgrade: fn(&IdbDatabase, u32) -> std::result::Result<(), JsValue>,
) -> std::result::Result<IdbDatabase, OpenError> {
    let factory = factory()
        .map_err(OpenError::Failed)?
        .ok_or(OpenError::NoFactory)?;
    let request = factory
        .open_with_u32(name, version)
        .map_err(|_| OpenError::Refused)?;
    let upgrade_error = Rc::new(RefCell::new(None));
    let on_upgrade = {
        let request = request.clone();
        let upgrade_error = upgrade_error.clone();
        Closure::once(
            move |event: IdbVersionChangeEvent| -> std::result::Result<(), JsValue> {
                let db: IdbDatabase = request.result()?.unchecked_into();
                upgrade(&db, event.old_version() as u32).inspect_err(|e| {
                    *upgrade_error.borrow_mut() = Some(e.clone());
                })
            },
        )
    };
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let opened = JsFuture::from(settle(&request)).await;
    request.set_onupgradeneeded(None);
    match opened {
        Ok(db) => Ok(db.unchecked_into()),
        Err(e) => Err(OpenError::Failed(upgrade_error.take().unwrap_or(e))),
    }
}

/// An IndexedDB transaction whose end is observed from its start (an end before the commit is
/// not missed). Dropped without [`commit`](Tx::commit), it is aborted: nothing it wrote is kept.
pub(super) struct Tx {
    pub(super) raw: IdbTransaction,
    end: JsFuture,
    committing: bool,
}

impl Tx {
    /// A transaction of `db` over `stores` (a name or an array of names), with the
    /// `durability` hint when one is given.
    pub(super) fn begin(
        db: &IdbDatabase,
        stores: &JsValue,
        mode: IdbTransactionMode,
        durability: Option<&str>,
    ) -> std::result::Result<Tx, JsValue> {
        let options = match durability {
            Some(d) => {
                let o = Object::new();
                Reflect::set(&o, &"durability".into(), &d.into())?;
                o.into()
            }
            None => JsValue::UNDEFINED,
        };
        let raw = db
            .unchecked_ref::<Database>()
            .transaction_with_options(stores, mode, &options)?;
        Ok(Tx {
            end: JsFuture::from(finished(&raw)),
            raw,
            committing: false,
        })
    }

    /// Commits and waits for the end: the error that failed the transaction (a request's
    /// `DOMException`, else the transaction's, else a fixed description).
    pub(super) async fn commit(mut self) -> std::result::Result<(), JsValue> {
        self.committing = true;
        // web_sys marks `commit()` deprecated; every browser evstore supports has it.
        #[allow(deprecated)]
        self.raw.commit()?;
        let end = (&mut self.end).await.unwrap_or_else(|e| e);
        if end.is_null() {
            Ok(())
        } else if end.is_undefined() {
            Err("IndexedDB failed with a JS error".into())
        } else {
            Err(end)
        }
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if !self.committing {
            // Fails only when the transaction already ended.
            let _ = self.raw.abort();
        }
    }
}

/// A request in flight, with its completion handlers attached at creation: a request may be
/// awaited after others issued later (each request completes in its own event; an unobserved
/// completion would be lost).
pub(super) struct Pending(JsFuture);

/// Starts observing `request` (the value of a `web_sys` request call).
pub(super) fn pending(request: std::result::Result<IdbRequest, JsValue>) -> Result<Pending> {
    let request = request.map_err(js_error)?;
    Ok(Pending(JsFuture::from(settle(&request))))
}

impl Pending {
    /// The request's result. Only requests of the current transaction may be awaited inside it
    /// (IndexedDB commits as soon as no request is pending).
    pub(super) async fn result(self) -> Result<JsValue> {
        self.0.await.map_err(js_error)
    }
}

/// `IDBKeyRange.bound(lower, upper)`.
pub(super) fn bound(lower: &JsValue, upper: &JsValue) -> Result<IdbKeyRange> {
    IdbKeyRange::bound(lower, upper).map_err(js_error)
}

/// The key `[text, n]` of the compound indexes.
pub(super) fn pair(text: &str, n: f64) -> JsValue {
    Array::of2(&text.into(), &n.into()).into()
}

/// A revision or position as a key number (past 2^53 nothing is stored: +∞ bounds a range).
pub(super) fn key_number(n: u64) -> f64 {
    if n > 9_007_199_254_740_991 {
        f64::INFINITY
    } else {
        n as f64
    }
}

/// The last number of a key cursor's key (`n` of `n` or of `[…, n]`), `None` for no cursor.
pub(super) fn cursor_number(cursor: JsValue) -> Option<u64> {
    let cursor: IdbCursor = cursor.dyn_into().ok()?;
    let key = cursor.key().ok()?;
    let n = match key.dyn_ref::<Array>() {
        Some(a) => a.get(a.length() - 1).as_f64()?,
        None => key.as_f64()?,
    };
    Some(n as u64)
}
