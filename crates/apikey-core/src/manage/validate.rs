//! Input validation for management calls: each failure names its field and changes nothing.

use crate::error::{Error, Result};

/// Longest key name.
pub const MAX_NAME_LEN: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 2_000;
/// Longest owner, group, environment, tag, alias, actor or reason.
pub const MAX_LABEL_LEN: usize = 200;
/// Most tags or aliases on a key.
pub const MAX_TAGS: usize = 64;
/// Most endpoint limits on a key.
pub const MAX_ENDPOINT_LIMITS: usize = 128;

fn no_control(field: &str, s: &str) -> Result<()> {
    if s.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

pub(crate) fn name(s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    if s.chars().count() > MAX_NAME_LEN {
        return Err(Error::invalid(
            "name",
            format_args!("at most {MAX_NAME_LEN} characters"),
        ));
    }
    no_control("name", s)
}

pub(crate) fn text(field: &str, s: &str, max: usize) -> Result<()> {
    if s.chars().count() > max {
        return Err(Error::invalid(
            field,
            format_args!("at most {max} characters"),
        ));
    }
    if field == "description" {
        // Descriptions may span lines, nothing else may.
        if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(Error::invalid(field, "must not contain control characters"));
        }
        return Ok(());
    }
    no_control(field, s)
}

pub(crate) fn label(field: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    text(field, s, MAX_LABEL_LEN)
}

/// Validates, sorts and de-duplicates a list of labels (tags, aliases).
pub(crate) fn labels(field: &str, items: Vec<String>) -> Result<Vec<String>> {
    if items.len() > MAX_TAGS {
        return Err(Error::invalid(field, format_args!("at most {MAX_TAGS}")));
    }
    for s in &items {
        label(field, s)?;
    }
    let mut items = items;
    items.sort();
    items.dedup();
    Ok(items)
}
