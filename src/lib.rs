//! Luméa Market's core: the peer-to-peer energy market for households.
//! Builds and tests without any webview toolchain; the Tauri shell depends on it.

pub mod app;
pub mod check;
pub mod clock;
pub mod community;
pub mod energy;
pub mod geo;
pub mod market;
pub mod replay;
pub mod store;
