//! QMP error replies, with QEMU's error classes and wording.

use serde_json::{json, Value};
use std::fmt;

/// The `class` member of a QMP error, as QEMU names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    GenericError,
    CommandNotFound,
    DeviceNotFound,
    DeviceNotActive,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::GenericError => "GenericError",
            ErrorClass::CommandNotFound => "CommandNotFound",
            ErrorClass::DeviceNotFound => "DeviceNotFound",
            ErrorClass::DeviceNotActive => "DeviceNotActive",
        }
    }
}

/// An error a command returns: becomes `{"error": {"class", "desc"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QmpError {
    pub class: ErrorClass,
    pub desc: String,
}

impl QmpError {
    pub fn generic(desc: impl Into<String>) -> Self {
        QmpError {
            class: ErrorClass::GenericError,
            desc: desc.into(),
        }
    }

    /// `DeviceNotFound` with QEMU's usual text.
    pub fn device_not_found(name: &str) -> Self {
        QmpError {
            class: ErrorClass::DeviceNotFound,
            desc: format!("Device '{name}' not found"),
        }
    }

    pub fn command_not_found(desc: impl Into<String>) -> Self {
        QmpError {
            class: ErrorClass::CommandNotFound,
            desc: desc.into(),
        }
    }

    /// QEMU's `QERR_INVALID_PARAMETER_VALUE` wording.
    pub fn invalid_value(name: &str, expected: &str) -> Self {
        QmpError::generic(format!("Parameter '{name}' expects {expected}"))
    }

    pub fn missing(name: &str) -> Self {
        QmpError::generic(format!("Parameter '{name}' is missing"))
    }

    pub fn to_json(&self) -> Value {
        json!({"class": self.class.as_str(), "desc": self.desc})
    }
}

impl fmt::Display for QmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.as_str(), self.desc)
    }
}

impl std::error::Error for QmpError {}

/// What a command handler returns.
pub type CmdResult = Result<Value, QmpError>;

/// The empty-object return most action commands give.
pub fn ok() -> CmdResult {
    Ok(json!({}))
}
