//! A fault-injecting TCP proxy for link tests: the [link simulator](crate::link) with the
//! `unthrottled` profile and a per-connection fault plan.
//!
//! [`Proxy`] listens on `127.0.0.1:0` and forwards every connection to a target. For each new
//! connection it asks its [`FaultPlan`] what to do; a [`Cut`] closes the connection (both
//! ways) once a chosen number of bytes has passed in one direction — mid-request when cutting
//! [`Direction::Upstream`], after the server has answered (and committed) when cutting
//! [`Direction::Downstream`] (a cut at offset 0 drops the whole reply).
//!
//! For latency, bandwidth caps, random cuts and outages use [`crate::link::Link`] directly
//! (the proxy's [`Proxy::link`] gives access to the same controls).

use std::net::SocketAddr;

use crate::link::{self, Link, LinkProfile};

pub use crate::link::{Cut, Direction};

/// What happens to one connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Cut the connection at a byte offset; `None` forwards everything.
    pub cut: Option<Cut>,
}

/// Decides the faults of each new connection (given its index, from 0).
pub type FaultPlan = Box<dyn FnMut(u64) -> Faults + Send>;

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    link: Link,
}

impl Proxy {
    /// Starts a proxy to `target` that forwards everything faithfully.
    pub fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        Ok(Proxy {
            link: Link::start(target, LinkProfile::unthrottled(), 0)?,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.link.addr()
    }

    /// `http://` URL of the proxy.
    pub fn url(&self) -> String {
        self.link.url()
    }

    /// Replaces the fault plan for connections accepted from now on.
    pub fn set_plan(&self, mut plan: impl FnMut(u64) -> Faults + Send + 'static) {
        self.link.set_plan(move |i| {
            Some(link::Faults {
                cut: plan(i).cut,
                cut_after: None,
            })
        });
    }

    /// Cuts only the next connection; later ones pass untouched.
    pub fn cut_next(&self, cut: Cut) {
        self.link.cut_next(cut);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.link.stats().connections
    }

    /// Connections cut so far.
    pub fn cuts(&self) -> u64 {
        self.link.stats().cuts
    }

    /// The underlying link simulator (outages, counters, …).
    pub fn link(&self) -> &Link {
        &self.link
    }
}
