//! A refusal or failure as the UI receives it: a stable code it maps to a
//! sentence, and the core's own words for the log.

use lumea_market::ErrorCode;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[error("{message}")]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    /// A file the app keeps beside the market could not be written.
    pub(crate) fn storage(err: std::io::Error) -> CommandError {
        CommandError {
            code: ErrorCode::StorageFailure,
            message: format!("the app's settings could not be saved: {err}"),
        }
    }
}

impl From<lumea_store::Error> for CommandError {
    fn from(err: lumea_store::Error) -> Self {
        CommandError {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

impl From<lumea_community::Error> for CommandError {
    fn from(err: lumea_community::Error) -> Self {
        CommandError {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

impl From<lumea_community::RemoteError> for CommandError {
    fn from(err: lumea_community::RemoteError) -> Self {
        lumea_community::Error::from(err).into()
    }
}

impl From<lumea_market::Reason> for CommandError {
    fn from(reason: lumea_market::Reason) -> Self {
        CommandError {
            code: reason.into(),
            message: reason.to_string(),
        }
    }
}

/// A refusal that is its code alone (the home form's fields).
impl From<ErrorCode> for CommandError {
    fn from(code: ErrorCode) -> Self {
        CommandError {
            code,
            message: format!("refused: {code}"),
        }
    }
}
