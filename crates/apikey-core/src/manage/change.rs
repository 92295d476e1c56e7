//! [`Change`]: who makes a change to a key and why, as one value rather than a tail of positional
//! `Option<String>`s that read the same at every call site (`revoke(&t, id, None, Some(x))`: which
//! one was the reason?).

/// Who makes a change and why: the actor and reason recorded in the audit log, on the key (a
/// lifecycle change's `state_reason`, an approval's `approved_by`) and on its event.
///
/// ```
/// use apikey_core::Change;
///
/// let change = Change::by("alice@example.com").because("leaked in a CI log");
/// assert_eq!(change.actor(), Some("alice@example.com"));
/// assert_eq!(change.reason(), Some("leaked in a CI log"));
/// assert_eq!(Change::new().actor(), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub(crate) actor: Option<String>,
    pub(crate) reason: Option<String>,
}

impl Change {
    /// A change with no recorded actor or reason.
    pub fn new() -> Self {
        Self::default()
    }

    /// A change made by `actor` (a user id, an email, a service name: a label of at most the
    /// documented length, checked when the change is applied).
    pub fn by(actor: impl Into<String>) -> Self {
        Self {
            actor: Some(actor.into()),
            reason: None,
        }
    }

    /// The same change, made for `reason`.
    #[must_use]
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The same change with `actor` recorded, or none (for callers holding an `Option`, such as a
    /// command line's `--actor`).
    #[must_use]
    pub fn with_actor(mut self, actor: Option<String>) -> Self {
        self.actor = actor;
        self
    }

    /// The same change with `reason` recorded, or none.
    #[must_use]
    pub fn with_reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    /// The same limits every recorded actor and reason meets, checked before anything is written.
    pub(crate) fn validate(&self) -> crate::error::Result<()> {
        if let Some(a) = &self.actor {
            super::validate::label("actor", a)?;
        }
        if let Some(r) = &self.reason {
            super::validate::text("reason", r, super::validate::MAX_DESCRIPTION_LEN)?;
        }
        Ok(())
    }

    /// Who makes the change, if recorded.
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// Why, if recorded.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}
