//! The recordings' HTTP API (docs/protocol.md, "Recordings"): the bodies
//! both sides read and write.
