//! Live-QEMU test harness shared by the integration tests (`mod support;`).
//!
//! The oracle side talks to QEMU with its own small clients (QMP, RFB, SPICE)
//! and never uses qhmp's code, so native QEMU stays an independent reference;
//! `product` runs the built qhmp binary for comparisons.
//!
//! ```ignore
//! let Some(fx) = Fixture::start("10.0") else { return }; // None: skip (not under CI)
//! let native = fx.hmp("info block");                      // QEMU's own text (CR LF)
//! let run = product::run_line_on(&fx, "info block")?;     // qhmp on the spare socket
//! let _vnc = fx.vnc_client();                             // listed by `info vnc`
//! let mut spice = fx.spice_session();                     // listed by `info spice`
//! spice.open_channel(spice::CHANNEL_INPUTS, 0)?;
//! ```
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
