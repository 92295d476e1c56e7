//! The route contract: every route of a service says what it needs — scopes, or an explicit
//! `public` (or, for a method that exists but must never answer, `denied`) — in a form that can
//! be read at run time.
//!
//! The classic API-key bug is not a weak hash but a route nobody protected, or one protected with
//! the wrong scope. The integrations build a [`RouteTable`] as routes are declared (`Routes` in
//! apikey-axum and apikey-actix, `MethodScopes` plus the service descriptors in apikey-tonic); a
//! test fails when a route in it has no declaration ([`RouteTable::check`], or
//! `apikey_testkit::assert_routes_declared` for a one-line test), the table prints as a start-up
//! report ([`RouteTable::log`], its `Display`), and apikey-openapi turns it into OpenAPI
//! `security` requirements.
//!
//! The table only knows what it was told: a route added to a framework's router behind the
//! tracked builder's back is invisible to it. That is why the builders own the router and offer
//! an explicit escape hatch (`undeclared`), which the check then names.

mod table;

use std::fmt;
use std::sync::Arc;

use crate::{Result, Scope};

pub use table::{RouteTable, UndeclaredRoutes};

/// What a route requires.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// No key at all.
    Public,
    /// A valid key holding every one of these scopes (none: any valid key).
    Scopes(Arc<[Scope]>),
    /// Never served, whatever the credential (gRPC methods left out on purpose).
    Denied,
}

impl Access {
    /// Requires a valid key with every scope in `scopes` (an empty list: any valid key).
    ///
    /// # Errors
    ///
    /// If a scope is not `resource:action`.
    pub fn scopes<I, T>(scopes: I) -> Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let v = scopes
            .into_iter()
            .map(|s| Scope::new(s.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::Scopes(v.into()))
    }

    /// What the route requires behind a guard that itself requires `outer` on every request:
    /// the guard's scopes first, then the route's own (without repeating one). Public and denied
    /// routes are not behind the guard and stay as they are.
    #[must_use]
    pub fn behind(self, outer: &[Scope]) -> Self {
        match self {
            Self::Scopes(own) if !outer.is_empty() => {
                let mut all = outer.to_vec();
                all.extend(own.iter().filter(|s| !outer.contains(s)).cloned());
                Self::Scopes(all.into())
            }
            other => other,
        }
    }

    /// The scopes a key needs, empty for [`Public`](Self::Public) and [`Denied`](Self::Denied).
    pub fn required(&self) -> &[Scope] {
        match self {
            Self::Scopes(s) => s,
            Self::Public | Self::Denied => &[],
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Public => f.write_str("public"),
            Self::Denied => f.write_str("denied"),
            Self::Scopes(s) if s.is_empty() => f.write_str("any valid key"),
            Self::Scopes(s) => {
                for (i, scope) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    f.write_str(scope.as_str())?;
                }
                Ok(())
            }
        }
    }
}

/// One operation of a service: an HTTP method and path template, or a gRPC method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, … in upper case; `*` for any method; `GRPC` for a gRPC method.
    pub method: Box<str>,
    /// The path template as the framework writes it (`/projects/{id}`), or the gRPC path
    /// (`/package.Service/Method`).
    pub path: Box<str>,
    /// What it requires; `None` is an undeclared route, the one [`RouteTable::check`] refuses.
    pub access: Option<Access>,
}

impl Route {
    /// A route with a declaration.
    pub fn declared(method: &str, path: &str, access: Access) -> Self {
        Self {
            method: method.to_ascii_uppercase().into(),
            path: path.into(),
            access: Some(access),
        }
    }

    /// A route served without a declaration (the builders' escape hatch).
    pub fn undeclared(method: &str, path: &str) -> Self {
        Self {
            method: method.to_ascii_uppercase().into(),
            path: path.into(),
            access: None,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}
