//! Live-QEMU test harness shared by the integration tests (`mod support;`).
//!
//! Everything here talks to QEMU with its own small clients (QMP, RFB, SPICE)
//! and never uses qhmp's code, so native QEMU stays an independent oracle.
// Each test binary uses a different subset of the harness.
#![allow(dead_code)]

pub mod compare;
pub mod fixture;
pub mod product;
pub mod qemu;
pub mod qmp_raw;
pub mod rfb;
pub mod spice;
pub mod spice_ticket;
pub mod text;

#[allow(unused_imports)]
pub use fixture::{ids, Fixture};
#[allow(unused_imports)]
pub use qemu::{in_ci, require_qemu, QemuBinary, VERSIONS};
