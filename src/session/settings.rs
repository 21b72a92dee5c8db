//! SETTINGS identifiers and entries (RFC 9113 section 6.5.2).

use std::fmt;

/// A SETTINGS identifier. Open: unknown identifiers are kept as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SettingId(pub i32);

macro_rules! setting_ids {
    ($($(#[$doc:meta])* $name:ident = $code:expr;)*) => {
        impl SettingId {
            $($(#[$doc])* pub const $name: SettingId = SettingId($code);)*

            /// The RFC name (`SETTINGS_MAX_FRAME_SIZE`), or `None`.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(concat!("SETTINGS_", stringify!($name))),)*
                    _ => None,
                }
            }
        }
    };
}

setting_ids! {
    /// SETTINGS_HEADER_TABLE_SIZE (0x1).
    HEADER_TABLE_SIZE = 0x1;
    /// SETTINGS_ENABLE_PUSH (0x2).
    ENABLE_PUSH = 0x2;
    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
    MAX_CONCURRENT_STREAMS = 0x3;
    /// SETTINGS_INITIAL_WINDOW_SIZE (0x4).
    INITIAL_WINDOW_SIZE = 0x4;
    /// SETTINGS_MAX_FRAME_SIZE (0x5).
    MAX_FRAME_SIZE = 0x5;
    /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6).
    MAX_HEADER_LIST_SIZE = 0x6;
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8, RFC 8441).
    ENABLE_CONNECT_PROTOCOL = 0x8;
    /// SETTINGS_NO_RFC7540_PRIORITIES (0x9, RFC 9218).
    NO_RFC7540_PRIORITIES = 0x9;
}

impl fmt::Debug for SettingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "SettingId(0x{:x})", self.0),
        }
    }
}

/// One SETTINGS entry: an identifier and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    /// Which setting.
    pub id: SettingId,
    /// Its value.
    pub value: u32,
}

impl Setting {
    /// An entry.
    pub fn new(id: SettingId, value: u32) -> Setting {
        Setting { id, value }
    }
}
