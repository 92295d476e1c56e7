//! [`RouteTable`]: the routes of a service with their declarations, and the check that refuses a
//! route without one.

use std::fmt;

use super::{Access, Route};
use crate::http::CredentialConfig;

/// Every route of a service as its builder saw it, with how credentials are presented to it.
///
/// Built by the integrations' route builders; read by tests ([`check`](Self::check)), start-up
/// reports ([`log`](Self::log), `Display`) and apikey-openapi.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
    credentials: Option<CredentialConfig>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route (a later entry for the same method and path replaces the earlier one, as the
    /// frameworks' routers do not allow both).
    pub fn push(&mut self, route: Route) {
        match self
            .routes
            .iter_mut()
            .find(|r| r.method == route.method && r.path == route.path)
        {
            Some(existing) => *existing = route,
            None => self.routes.push(route),
        }
    }

    /// Adds every route of `other`, with `prefix` before each path (`""` for none).
    pub fn extend_prefixed(&mut self, prefix: &str, other: &Self) {
        let prefix = prefix.trim_end_matches('/');
        for r in &other.routes {
            let mut r = r.clone();
            if !prefix.is_empty() {
                r.path = format!("{prefix}{}", r.path).into();
            }
            self.push(r);
        }
        if self.credentials.is_none() {
            self.credentials.clone_from(&other.credentials);
        }
    }

    /// Records how the guard in front of these routes takes credentials (for OpenAPI's security
    /// schemes).
    #[must_use]
    pub fn with_credentials(mut self, credentials: CredentialConfig) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// How credentials are presented, when the builder knew its guard.
    pub fn credentials(&self) -> Option<&CredentialConfig> {
        self.credentials.as_ref()
    }

    /// The routes, in the order they were declared.
    pub fn iter(&self) -> std::slice::Iter<'_, Route> {
        self.routes.iter()
    }

    /// How many routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// What `method` on `path` (a template, exactly as declared) requires; `None` if the table
    /// has no such route or it is undeclared. A `*` entry answers for every method.
    pub fn access(&self, method: &str, path: &str) -> Option<&Access> {
        let exact = self
            .routes
            .iter()
            .find(|r| r.path.as_ref() == path && r.method.eq_ignore_ascii_case(method));
        exact
            .or_else(|| {
                self.routes
                    .iter()
                    .find(|r| r.path.as_ref() == path && r.method.as_ref() == "*")
            })
            .and_then(|r| r.access.as_ref())
    }

    /// The routes without a declaration.
    pub fn undeclared(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(|r| r.access.is_none())
    }

    /// Ok when every route declares its scopes, `public` or `denied`.
    ///
    /// # Errors
    ///
    /// [`UndeclaredRoutes`], naming each route without a declaration.
    pub fn check(&self) -> Result<(), UndeclaredRoutes> {
        let missing: Vec<Route> = self.undeclared().cloned().collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(UndeclaredRoutes { routes: missing })
        }
    }

    /// Logs the table at `INFO` under the `apikey::routes` target, one event per route (fields
    /// `method`, `path`, `access`), and an undeclared route at `WARN`: the start-up report.
    pub fn log(&self) {
        for r in &self.routes {
            match &r.access {
                Some(a) => tracing::info!(
                    target: "apikey::routes",
                    method = %r.method,
                    path = %r.path,
                    access = %a,
                    "route"
                ),
                None => tracing::warn!(
                    target: "apikey::routes",
                    method = %r.method,
                    path = %r.path,
                    "route without a scope declaration"
                ),
            }
        }
    }
}

impl<'a> IntoIterator for &'a RouteTable {
    type Item = &'a Route;
    type IntoIter = std::slice::Iter<'a, Route>;

    fn into_iter(self) -> Self::IntoIter {
        self.routes.iter()
    }
}

impl FromIterator<Route> for RouteTable {
    fn from_iter<I: IntoIterator<Item = Route>>(iter: I) -> Self {
        let mut t = Self::new();
        for r in iter {
            t.push(r);
        }
        t
    }
}

/// One line per route, aligned: method, path, what it requires.
impl fmt::Display for RouteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mw = self
            .routes
            .iter()
            .map(|r| r.method.len())
            .max()
            .unwrap_or(0);
        let pw = self.routes.iter().map(|r| r.path.len()).max().unwrap_or(0);
        for r in &self.routes {
            let access = r
                .access
                .as_ref()
                .map_or_else(|| "UNDECLARED".to_owned(), ToString::to_string);
            writeln!(f, "{:<mw$}  {:<pw$}  {access}", r.method, r.path)?;
        }
        Ok(())
    }
}

/// Routes served without a declaration of scopes, `public` or `denied`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.routes))]
pub struct UndeclaredRoutes {
    /// Each route without a declaration.
    pub routes: Vec<Route>,
}

fn describe(routes: &[Route]) -> String {
    let names: Vec<String> = routes.iter().map(ToString::to_string).collect();
    let noun = if routes.len() == 1 { "route" } else { "routes" };
    format!(
        "{} {noun} declare neither scopes nor public: {} (declare each one's scopes, or public \
         if it needs no key)",
        routes.len(),
        names.join(", ")
    )
}
