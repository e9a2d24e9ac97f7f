//! `help`, `help CMD`, `help info` and bare `info`.
