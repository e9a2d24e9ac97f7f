//! The version of the QEMU being talked to, as `query-version` reports it.

use crate::grammar::Profile;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuVersion {
    pub major: u32,
    pub minor: u32,
    pub micro: u32,
    /// Distribution suffix, printed verbatim by `info version`.
    pub package: String,
}

impl QemuVersion {
    pub fn new(major: u32, minor: u32, micro: u32) -> Self {
        QemuVersion {
            major,
            minor,
            micro,
            package: String::new(),
        }
    }

    /// From a `query-version` return value.
    pub fn from_query_version(v: &serde_json::Value) -> Option<Self> {
        let q = v.get("qemu")?;
        let num = |k: &str| q.get(k).and_then(|x| x.as_u64()).map(|x| x as u32);
        Some(QemuVersion {
            major: num("major")?,
            minor: num("minor")?,
            micro: num("micro")?,
            package: v
                .get("package")
                .and_then(|p| p.as_str())
                .unwrap_or("")
                .to_string(),
        })
    }

    /// True when this QEMU is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// The grammar profile that describes this QEMU.
    pub fn profile(&self) -> Profile {
        Profile::for_version(self.major, self.minor)
    }
}

impl fmt::Display for QemuVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}
