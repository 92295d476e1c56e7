//! [`FieldList`]: header fields as an owned list, for code without a framework's header map — a
//! client building a request to sign, a test, a fuzz target.

use std::fmt;

use super::head::HeaderFields;

/// Header field lines in order; names are kept in lower case. `Debug` shows the names only (a
/// value may be a credential).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FieldList(Vec<(String, Vec<u8>)>);

impl FieldList {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a line of field `name`.
    pub fn push(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.0.push((name.to_ascii_lowercase(), value.into()));
    }

    /// [`push`](Self::push), chained.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.push(name, value);
        self
    }

    /// Removes every line of field `name`.
    pub fn remove(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        self.0.retain(|(n, _)| *n != name);
    }

    /// Replaces every line of field `name` with one line holding `value`.
    pub fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.remove(name);
        self.push(name, value);
    }
}

impl HeaderFields for FieldList {
    fn line(&self, name: &str, index: usize) -> Option<&[u8]> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .nth(index)
            .map(|(_, v)| v.as_slice())
    }

    fn for_each(&self, f: &mut dyn FnMut(&str, &[u8])) {
        for (n, v) in &self.0 {
            f(n, v);
        }
    }
}

impl fmt::Debug for FieldList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}
