//! In-process backends.
