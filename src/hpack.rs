//! HPACK (placeholder while being written).
