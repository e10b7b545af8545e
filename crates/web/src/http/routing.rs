//! Routes that know what they are. [`Routes`] builds the axum router and, as it goes, the table of
//! every path and method it registers ([`Registered`]), so the route-wide tests (the authorization
//! matrix, the CSRF test, the marker search) iterate over exactly what is served: a route added
//! here and not to those tests fails them.
//!
//! The handlers are given as with axum (`get(handler).post(other)`); these functions only record
//! the method beside axum's own [`MethodRouter`].

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

/// One path and method the application serves, as registered (the path with its `{parameters}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Registered {
    pub method: Method,
    pub path: String,
}

/// The handlers of one path, and their methods.
pub struct Methods<S> {
    router: MethodRouter<S>,
    methods: Vec<Method>,
}

macro_rules! method {
    ($name:ident, $method:ident) => {
        #[doc = concat!("A `", stringify!($method), "` handler.")]
        pub fn $name<H, T, S>(handler: H) -> Methods<S>
        where
            H: Handler<T, S>,
            T: 'static,
            S: Clone + Send + Sync + 'static,
        {
            Methods {
                router: axum::routing::$name(handler),
                methods: vec![Method::$method],
            }
        }

        impl<S: Clone + Send + Sync + 'static> Methods<S> {
            #[doc = concat!("Adds a `", stringify!($method), "` handler.")]
            pub fn $name<H, T>(mut self, handler: H) -> Self
            where
                H: Handler<T, S>,
                T: 'static,
            {
                self.router = self.router.$name(handler);
                self.methods.push(Method::$method);
                self
            }
        }
    };
}

method!(get, GET);
method!(post, POST);
method!(put, PUT);
method!(patch, PATCH);
method!(delete, DELETE);

impl<S: Clone + Send + Sync + 'static> Methods<S> {
    /// Takes bodies up to `bytes` (uploads), instead of the application's small-body limit.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.router = self.router.layer(DefaultBodyLimit::max(bytes));
        self
    }
}

/// A router with its table of registered routes.
pub struct Routes<S> {
    router: Router<S>,
    table: Vec<Registered>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            table: Vec::new(),
        }
    }

    /// Serves `path` with these handlers.
    pub fn route(mut self, path: &str, methods: Methods<S>) -> Self {
        self.table
            .extend(methods.methods.into_iter().map(|method| Registered {
                method,
                path: path.to_owned(),
            }));
        self.router = self.router.route(path, methods.router);
        self
    }

    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.table.extend(other.table);
        self.router = self.router.merge(other.router);
        self
    }

    /// Serves `other` under `prefix` (its own fallback included).
    pub fn nest(mut self, prefix: &str, other: Routes<S>) -> Self {
        self.table
            .extend(other.table.into_iter().map(|r| Registered {
                method: r.method,
                path: format!("{prefix}{}", r.path),
            }));
        self.router = self.router.nest(prefix, other.router);
        self
    }

    /// Changes the router without adding routes (a fallback, a layer over what is there so far).
    pub fn map(mut self, f: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The registered routes, sorted.
    pub fn table(&self) -> Vec<Registered> {
        let mut table = self.table.clone();
        table.sort();
        table
    }

    pub fn into_router(self) -> Router<S> {
        self.router
    }
}
