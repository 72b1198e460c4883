//! A running theatre's services, wired together: membership (who is there), the
//! exported actors, the directory, activation, and the router that hands each
//! arriving frame to one of them. [`Theatre`](crate::Theatre) is the public face of
//! a node; the runtime sees it as a [`Fabric`].
//!
//! The services talk through narrow seams: a connection hands frames to a sink
//! made by the router; membership announces changes, and the directory listens.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Weak};

use stage_runtime::remote::{self, Emigrant, Fabric, FabricError, Inbound, Landing, Link};
use stage_runtime::{ActorId, MigrationError, ReplySender, Stage};

use crate::activation::{Activation, Factory};
use crate::balance::Balance;
use crate::directory::Directory;
use crate::error::NetError;
use crate::exports::Exports;
use crate::membership::{self, Listener, Membership, Settings, Wiring};
use crate::migration::Migration;
use crate::router::{Route, Router};

/// A theatre's services.
pub(crate) struct Node {
    pub(crate) members: Arc<Membership>,
    pub(crate) exports: Arc<Exports>,
    pub(crate) directory: Arc<Directory>,
    pub(crate) activation: Arc<Activation>,
    pub(crate) migration: Arc<Migration>,
    pub(crate) balance: Arc<Balance>,
    pub(crate) stage: Stage,
    /// Those waiting for the theatre to leave the cluster (see
    /// [`Theatre::closed`](crate::Theatre::closed)); `None` once it has.
    pub(crate) closing: std::sync::Mutex<Option<Vec<ReplySender<()>>>>,
    /// Owns the router; connections reach it weakly, through their sinks.
    _router: Arc<Router>,
}

impl Node {
    /// Builds the services around `stage`, wires them, attaches the stage, and
    /// starts accepting on `listener`.
    ///
    /// # Errors
    ///
    /// [`NetError::StageTaken`] for a stage that serves another open theatre; the
    /// error of starting the accepting thread.
    pub(crate) fn start(
        settings: Settings,
        stage: Stage,
        factories: HashMap<u64, Factory>,
        listener: TcpListener,
    ) -> Result<Arc<Node>, NetError> {
        let members = Membership::new(settings);
        let exports = Arc::new(Exports::default());
        let directory = Arc::new(Directory::new(Arc::clone(&members)));
        let activation = Activation::new(
            Arc::clone(&members),
            Arc::clone(&directory),
            Arc::clone(&exports),
            stage.clone(),
            factories,
        );
        let migration = Migration::new(
            Arc::clone(&members),
            Arc::clone(&exports),
            Arc::clone(&directory),
            stage.clone(),
        );
        let balance = Arc::new(Balance::default());
        let router = Arc::new(Router {
            exports: Arc::clone(&exports),
            directory: Arc::clone(&directory),
            activation: Arc::clone(&activation),
            migration: Arc::clone(&migration),
            balance: Arc::clone(&balance),
            traffic: Arc::clone(&members.traffic),
        });
        let node = Arc::new(Node {
            members: Arc::clone(&members),
            exports,
            directory: Arc::clone(&directory),
            activation,
            migration,
            balance,
            stage: stage.clone(),
            closing: std::sync::Mutex::new(Some(Vec::new())),
            _router: Arc::clone(&router),
        });
        let fabric: Arc<dyn Fabric> = Arc::new(NodeFabric {
            id: members.id(),
            locator: members.locator().to_owned(),
            node: Arc::downgrade(&node),
        });
        let routes = Arc::downgrade(&router);
        members.wire(Wiring {
            fabric: Arc::clone(&fabric),
            stage: stage.clone(),
            sink: Box::new(move |peer| Box::new(Route::new(routes.clone(), Arc::clone(peer)))),
            observer: Box::new({
                let members = Arc::downgrade(&members);
                move |stream, welcome| {
                    if let Some(members) = members.upgrade() {
                        crate::observer::admit(&members, stream, welcome);
                    }
                }
            }),
        });
        let listener_of_members: Weak<dyn Listener> = Arc::downgrade(&directory) as _;
        members.listen(listener_of_members);
        let gates: Weak<dyn Listener> = Arc::downgrade(&node.exports) as _;
        members.listen(gates);
        if !remote::attach(&stage, fabric) {
            return Err(NetError::StageTaken);
        }
        let weak = Arc::downgrade(&members);
        let local = listener.local_addr()?;
        std::thread::Builder::new()
            .name(format!("stage-net-accept-{local}"))
            .spawn(move || membership::accept_loop(&listener, &weak))?;
        Ok(node)
    }
}

/// The node as the runtime sees it when addresses cross the wire.
struct NodeFabric {
    id: u64,
    locator: String,
    node: Weak<Node>,
}

impl NodeFabric {
    fn node(&self) -> Result<Arc<Node>, FabricError> {
        self.node.upgrade().ok_or(FabricError::Closed)
    }
}

impl Fabric for NodeFabric {
    fn theatre(&self) -> u64 {
        self.id
    }

    fn is_open(&self) -> bool {
        self.node
            .upgrade()
            .is_some_and(|node| !node.members.is_closed())
    }

    fn locator(&self) -> &str {
        &self.locator
    }

    fn export(&self, inbound: Arc<dyn Inbound>) {
        if let Some(node) = self.node.upgrade() {
            node.exports.export(inbound);
        }
    }

    fn exported(&self, actor: ActorId) -> Option<Arc<dyn Inbound>> {
        self.node.upgrade()?.exports.get(actor)
    }

    fn link(&self, theatre: u64, locator: &str) -> Result<Arc<dyn Link>, FabricError> {
        self.node()?
            .members
            .link(theatre, locator)
            .map(|peer| peer as Arc<dyn Link>)
            .map_err(|error| FabricError::NoLink(error.to_string()))
    }

    fn named(&self, name: &str) -> Result<Arc<dyn Link>, FabricError> {
        Ok(self.node()?.activation.named_link(name) as Arc<dyn Link>)
    }

    fn migrate(&self, to: &str, emigrants: Vec<Emigrant>, then: Box<dyn FnOnce(Landing) + Send>) {
        match self.node() {
            Ok(node) => node.migration.carry(to, emigrants, then),
            Err(_) => then(Err(MigrationError::NoTheatre)),
        }
    }
}
