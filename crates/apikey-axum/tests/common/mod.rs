//! Shared end-to-end test code; `apikey-actix`'s tests include this directory by path, so both
//! frameworks run the same matrix.
#![allow(dead_code, unreachable_pub)]

pub mod fixture;
pub mod matrix;
