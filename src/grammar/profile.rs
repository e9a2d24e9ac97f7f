//! The QEMU versions the tables describe ("profiles"), and how a live QEMU's
//! version maps onto one.

use std::fmt;
use std::str::FromStr;

/// A QEMU release line whose command set the grammar records.
///
/// A live QEMU is matched to the newest profile not newer than itself (or the
/// oldest profile when it predates them all): QEMU adds HMP commands far more
/// often than it drops them, so an unlisted release (say 9.1) is best described
/// by the release before it (8.2). That mapping only decides the *command set*
/// and argument grammar; what the connected QEMU really offers over QMP is
/// read from it (`query-commands`, `query-qmp-schema`), and renderers key on the
/// exact `query-version`, never on the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    /// QEMU 5.2 (Debian 11).
    V5_2,
    /// QEMU 7.2 (Debian 12).
    V7_2,
    /// QEMU 8.2 (Ubuntu 24.04, RHEL 9-like builds).
    V8_2,
    /// QEMU 10.0 (Debian 12 backports).
    V10_0,
    /// QEMU 11.1 (Debian 13 backports).
    V11_1,
}

impl Profile {
    /// Every profile, oldest first.
    pub const ALL: [Profile; 5] = [
        Profile::V5_2,
        Profile::V7_2,
        Profile::V8_2,
        Profile::V10_0,
        Profile::V11_1,
    ];

    /// The profile assumed when no QEMU is connected (dry run).
    pub const DEFAULT: Profile = Profile::V10_0;

    /// `(major, minor)` of the release line.
    pub fn major_minor(self) -> (u32, u32) {
        match self {
            Profile::V5_2 => (5, 2),
            Profile::V7_2 => (7, 2),
            Profile::V8_2 => (8, 2),
            Profile::V10_0 => (10, 0),
            Profile::V11_1 => (11, 1),
        }
    }

    /// The profile that best describes a live QEMU `major.minor`.
    pub fn for_version(major: u32, minor: u32) -> Profile {
        Profile::ALL
            .iter()
            .rev()
            .copied()
            .find(|p| p.major_minor() <= (major, minor))
            .unwrap_or(Profile::ALL[0])
    }
}

impl Profile {
    /// `7.2`, `10.0`: the spelling of the tables and of `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::V5_2 => "5.2",
            Profile::V7_2 => "7.2",
            Profile::V8_2 => "8.2",
            Profile::V10_0 => "10.0",
            Profile::V11_1 => "11.1",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .iter()
            .copied()
            // No string built per candidate: the tables name profiles
            // hundreds of times, and every run of qhmp reads them.
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Profile::ALL.iter().map(|p| p.as_str()).collect();
                format!("unknown QEMU version '{s}' (known: {})", known.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_versions_map_to_the_nearest_older_profile() {
        assert_eq!(Profile::for_version(5, 2), Profile::V5_2);
        assert_eq!(Profile::for_version(6, 2), Profile::V5_2);
        assert_eq!(Profile::for_version(7, 2), Profile::V7_2);
        assert_eq!(Profile::for_version(8, 1), Profile::V7_2);
        assert_eq!(Profile::for_version(8, 2), Profile::V8_2);
        assert_eq!(Profile::for_version(9, 1), Profile::V8_2);
        assert_eq!(Profile::for_version(10, 0), Profile::V10_0);
        assert_eq!(Profile::for_version(10, 2), Profile::V10_0);
        assert_eq!(Profile::for_version(11, 1), Profile::V11_1);
        assert_eq!(Profile::for_version(12, 0), Profile::V11_1);
        // Older than every profile: the oldest describes it best.
        assert_eq!(Profile::for_version(4, 2), Profile::V5_2);
    }

    #[test]
    fn profiles_round_trip_through_text() {
        for p in Profile::ALL {
            assert_eq!(p.to_string().parse::<Profile>().unwrap(), p);
            let (major, minor) = p.major_minor();
            assert_eq!(p.as_str(), format!("{major}.{minor}"));
        }
        assert!("9.9".parse::<Profile>().is_err());
    }
}
