//! [`Json`]: an immutable, validated JSON text, the form in which payloads are stored.

use std::fmt;
use std::rc::Rc;

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, Result};

/// A JSON text that is known to be valid. Event `data` and `metadata` are stored as `Json`,
/// so a stored payload is immutable and is handed out as-is (no re-encoding on reads).
///
/// Cheap to clone (reference counted).
///
/// ```
/// use evstore::Json;
/// let j = Json::from_value(&serde_json::json!({ "total": 10 }))?;
/// assert_eq!(j.as_str(), r#"{"total":10}"#);
/// assert!(Json::parse("{oops").is_err());
/// # Ok::<(), evstore::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Json(Rc<str>);

impl Json {
    /// The JSON `null`.
    pub fn null() -> Self {
        Json("null".into())
    }

    /// The empty object `{}`.
    pub fn empty_object() -> Self {
        Json("{}".into())
    }

    /// Serializes `value` to JSON.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        serde_json::to_string(value)
            .map(|s| Json(s.into()))
            .map_err(|e| Error::invalid(format!("value is not JSON-serializable: {e}")))
    }

    /// Validates `text` as one JSON value.
    pub fn parse(text: &str) -> Result<Self> {
        serde_json::from_str::<serde::de::IgnoredAny>(text)
            .map_err(|e| Error::invalid(format!("not valid JSON: {e}")))?;
        Ok(Json(text.into()))
    }

    /// A text that is valid JSON by construction (written by `JSON.stringify`, or read back
    /// from storage where it was validated when written).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn trusted(text: impl Into<Rc<str>>) -> Self {
        Json(text.into())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The size of the JSON text in bytes (UTF-8).
    pub fn byte_len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is a JSON object.
    pub fn is_object(&self) -> bool {
        self.0.trim_start().starts_with('{')
    }

    /// Deserializes the value.
    pub fn to_value<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.0)
            .map_err(|e| Error::invalid(format!("cannot deserialize payload: {e}")))
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
