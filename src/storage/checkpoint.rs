//! Checkpoints (a subscription's last handled position, by name) in a storage's meta area, under
//! `checkpoint/{name}`: written by the core once for every storage, in a transaction of its own.

use super::{commit_failure, CommitError, Mode, Storage};
use crate::error::{Error, Result};
use crate::json::Json;
use crate::model::Position;

/// The meta-area prefix of checkpoints.
pub const PREFIX: &str = "checkpoint/";

/// How many transactions one save may take when commits keep conflicting.
const ATTEMPTS: usize = 4;

/// The meta key of checkpoint `name`.
pub fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

/// The position recorded under checkpoint `name`, if any.
pub async fn load(storage: &dyn Storage, name: &str) -> Result<Option<Position>> {
    let mut tx = storage.begin(Mode::Read).await?;
    let Some(value) = tx.get_meta(&key(name)).await? else {
        return Ok(None);
    };
    match value.as_str().parse::<Position>() {
        Ok(position) => Ok(Some(position)),
        Err(_) => Err(Error::storage(format!(
            "checkpoint {name:?} holds {}, not a position",
            value.as_str()
        ))),
    }
}

/// Records `position` under checkpoint `name`, durably as the storage allows.
pub async fn save(storage: &dyn Storage, name: &str, position: Position) -> Result<()> {
    let value = Json::parse(&position.to_string())?;
    let mut last = CommitError::Conflict;
    for _ in 0..ATTEMPTS {
        let mut tx = storage.begin(Mode::Write).await?;
        tx.put_meta(&key(name), Some(&value)).await?;
        match tx.commit().await {
            Ok(()) => return Ok(()),
            Err(CommitError::Conflict) => last = CommitError::Conflict,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    Err(commit_failure(last))
}
