//! The per-method scope map: which scopes each gRPC method (`/package.Service/Method`) requires,
//! which methods are public, and what an unlisted method gets.

use std::collections::HashMap;

pub use apikey_core::routes::Access;
use apikey_core::routes::{Route, RouteTable};
use apikey_core::{Error, Result};

/// The gRPC health service (`grpc.health.v1.Health`).
pub const HEALTH_SERVICE: &str = "/grpc.health.v1.Health";
/// The gRPC reflection services (`v1` and `v1alpha`).
pub const REFLECTION_SERVICES: [&str; 2] = [
    "/grpc.reflection.v1.ServerReflection",
    "/grpc.reflection.v1alpha.ServerReflection",
];

/// The scope map of a gRPC server.
///
/// Entries are exact methods (`/pkg.Service/Method`) or whole services (`/pkg.Service/*`); an exact
/// entry wins over its service's entry. A method with no entry is **denied** (`PERMISSION_DENIED`,
/// without looking at the credential) unless [`default_scopes`](Self::default_scopes) is set.
/// Health and reflection are ordinary services: public only when declared so
/// ([`public_health`](Self::public_health), [`public_reflection`](Self::public_reflection)).
///
/// ```
/// use apikey_tonic::MethodScopes;
///
/// let methods = MethodScopes::new()
///     .method("/shop.Orders/Get", ["orders:read"])?
///     .method("/shop.Orders/Create", ["orders:write"])?
///     .method("/shop.Catalog/*", ["catalog:read"])?
///     .public_health();
/// # Ok::<(), apikey_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodScopes {
    methods: HashMap<Box<str>, Access>,
    services: HashMap<Box<str>, Access>,
    default: Option<Access>,
}

/// Splits `/pkg.Service/Method` (or `/pkg.Service/*`) into its service and method parts.
fn split(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let (service, method) = rest.split_once('/')?;
    if service.is_empty() || method.is_empty() || method.contains('/') {
        return None;
    }
    Some((&path[..service.len() + 1], method))
}

impl MethodScopes {
    /// An empty map: every method is denied.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(mut self, path: &str, access: Access) -> Result<Self> {
        let Some((service, method)) = split(path) else {
            return Err(Error::invalid(
                "grpc method",
                format_args!(
                    "{path:?} is not \"/package.Service/Method\" or \"/package.Service/*\""
                ),
            ));
        };
        if method == "*" {
            self.services.insert(service.into(), access);
        } else {
            self.methods.insert(path.into(), access);
        }
        Ok(self)
    }

    /// `path` (`/pkg.Service/Method` or `/pkg.Service/*`) requires a valid key with every scope in
    /// `required` (an empty list: any valid key).
    pub fn method<I, T>(self, path: &str, required: I) -> Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let access = Access::scopes(required)?;
        self.insert(path, access)
    }

    /// `path` (`/pkg.Service/Method` or `/pkg.Service/*`) needs no key.
    pub fn public(self, path: &str) -> Result<Self> {
        self.insert(path, Access::Public)
    }

    /// `path` (`/pkg.Service/Method` or `/pkg.Service/*`) is never served, whatever the
    /// credential: a method left out on purpose, declared so (an unlisted method is denied too,
    /// but [`route_table`](Self::route_table) reports it as undeclared).
    pub fn deny(self, path: &str) -> Result<Self> {
        self.insert(path, Access::Denied)
    }

    /// Methods with no entry require a valid key with these scopes (an empty list: any valid key)
    /// instead of being denied.
    pub fn default_scopes<I, T>(mut self, required: I) -> Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.default = Some(Access::scopes(required)?);
        Ok(self)
    }

    /// Makes the gRPC health service public.
    #[must_use]
    pub fn public_health(mut self) -> Self {
        self.services.insert(HEALTH_SERVICE.into(), Access::Public);
        self
    }

    /// Makes the gRPC reflection services (`v1`, `v1alpha`) public.
    #[must_use]
    pub fn public_reflection(mut self) -> Self {
        for s in REFLECTION_SERVICES {
            self.services.insert(s.into(), Access::Public);
        }
        self
    }

    /// The route table of a server that serves `methods` (`/pkg.Service/Method` paths; see
    /// [`methods_of_descriptors`](crate::methods_of_descriptors) to read them from the
    /// services' file descriptor set): each with what this map gives it, and a method the map
    /// neither names nor covers with a service entry or a default as undeclared.
    pub fn route_table<I, T>(&self, methods: I) -> RouteTable
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        methods
            .into_iter()
            .map(|m| {
                let path = m.as_ref();
                match self.lookup(path) {
                    Some(a) => Route::declared("GRPC", path, a.clone()),
                    None => Route::undeclared("GRPC", path),
                }
            })
            .collect()
    }

    /// What `path` requires; `None` (or [`Access::Denied`]) means the method is denied.
    /// Allocation-free.
    pub fn lookup(&self, path: &str) -> Option<&Access> {
        if let Some(a) = self.methods.get(path) {
            return Some(a);
        }
        if let Some((service, _)) = split(path)
            && let Some(a) = self.services.get(service)
        {
            return Some(a);
        }
        self.default.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(a: Option<&Access>) -> Option<Vec<String>> {
        match a? {
            Access::Public => Some(vec!["<public>".into()]),
            Access::Scopes(s) => Some(s.iter().map(|s| s.as_str().to_owned()).collect()),
            _ => Some(vec!["<denied>".into()]),
        }
    }

    #[test]
    fn exact_then_service_then_default() {
        let m = MethodScopes::new()
            .method("/a.S/Get", ["a:read"])
            .unwrap()
            .method("/a.S/*", ["a:write"])
            .unwrap()
            .public("/a.P/Ping")
            .unwrap();
        assert_eq!(names(m.lookup("/a.S/Get")), Some(vec!["a:read".into()]));
        assert_eq!(names(m.lookup("/a.S/Put")), Some(vec!["a:write".into()]));
        assert_eq!(names(m.lookup("/a.P/Ping")), Some(vec!["<public>".into()]));
        assert_eq!(m.lookup("/a.P/Other"), None);
        assert_eq!(m.lookup("/grpc.health.v1.Health/Check"), None);
        assert_eq!(m.lookup("garbage"), None);
        let d = m.default_scopes([] as [&str; 0]).unwrap();
        assert_eq!(names(d.lookup("/a.P/Other")), Some(vec![]));
        // A default does not make health public.
        assert_eq!(
            names(d.lookup("/grpc.health.v1.Health/Check")),
            Some(vec![])
        );
    }

    #[test]
    fn health_and_reflection_only_when_declared() {
        let m = MethodScopes::new().public_health().public_reflection();
        assert_eq!(
            m.lookup("/grpc.health.v1.Health/Check"),
            Some(&Access::Public)
        );
        assert_eq!(
            m.lookup("/grpc.health.v1.Health/Watch"),
            Some(&Access::Public)
        );
        assert_eq!(
            m.lookup("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            Some(&Access::Public)
        );
    }

    #[test]
    fn bad_paths_and_scopes_are_refused() {
        for p in ["", "/", "a.S/M", "/a.S", "/a.S/", "//M", "/a.S/M/x"] {
            assert!(MethodScopes::new().public(p).is_err(), "{p:?}");
        }
        assert!(
            MethodScopes::new()
                .method("/a.S/M", ["not a scope"])
                .is_err()
        );
    }
}
