//! Exit statuses, as documented in the README and the man page.

/// The process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    /// A command failed (QEMU answered with an error).
    CommandFailed = 1,
    /// A usage or parse error.
    Usage = 2,
    /// qhmp could not reach or keep talking to QEMU.
    Connection = 3,
}

impl Exit {
    /// The worse of two statuses (a usage error outranks a failed command).
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Success => 0,
                Exit::CommandFailed => 1,
                Exit::Usage => 2,
                Exit::Connection => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}
