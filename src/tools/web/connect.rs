//! Connections that reach only checked addresses: the SSRF defence of `web_fetch`.
//!
//! ureq resolves a host once per connection and hands the addresses to a chain of connectors.
//! This module puts two links in that chain: [`Gate`] refuses the connection when *any*
//! resolved address is not allowed (a name that mixes public and private addresses is not
//! trusted), and [`GuardedTcp`] connects to those same addresses only — nothing is resolved
//! again — and checks the peer address of the socket it got before a byte is sent. Every
//! redirect is a new request, so it goes through both again.
//!
//! With a CONNECT proxy the proxy resolves the name itself, so the address it connects to cannot
//! be seen from here. [`Gate`] then resolves the name here and refuses it when any address is
//! not allowed (a name that does not resolve here is refused too), before the proxy is asked.
//! That stops names that point at private addresses in the DNS pincer sees; it cannot stop a
//! proxy whose own DNS answers differently (split horizon, or rebinding between the two
//! lookups), nor what the proxy itself can reach. (ureq's `resolve_target`, which would send
//! the checked IP to the proxy, writes the port twice in the CONNECT line in ureq 3.5.2.) The
//! connection to the proxy itself is the person's configuration and is not checked. Each socket
//! is also registered with [`Sockets`], so a cancel or the deadline can shut down a read that is
//! blocked waiting for a slow server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, RustlsConnector,
    Transport,
};

use super::address::{AddressKind, classify};

/// Which addresses may be reached.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressPolicy {
    pub allow_private: bool,
    /// Tests serve on loopback, which the real policy refuses: they declare their one public
    /// server's exact address here. Every other address, that server's other ports included,
    /// still goes through the classifier. Not compiled outside tests.
    #[cfg(test)]
    pub treat_as_public: Vec<SocketAddr>,
}

/// Why a connection was refused: it becomes the tool's error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is {}", .addr.ip(), .kind.describe())]
pub(crate) struct Refused {
    pub addr: SocketAddr,
    pub kind: AddressKind,
}

impl AddressPolicy {
    pub(crate) fn new(allow_private: bool) -> AddressPolicy {
        AddressPolicy {
            allow_private,
            #[cfg(test)]
            treat_as_public: Vec::new(),
        }
    }

    pub(crate) fn check(&self, addr: SocketAddr) -> Result<(), Refused> {
        #[cfg(test)]
        if self.treat_as_public.contains(&addr) {
            return Ok(());
        }
        let kind = classify(addr.ip());
        let allowed = kind == AddressKind::Public || (self.allow_private && kind.opened_by_allow_private());
        if allowed { Ok(()) } else { Err(Refused { addr, kind }) }
    }
}

/// Sockets opened for one fetch, so another thread can shut them down (cancel, deadline).
#[derive(Debug, Default)]
pub(crate) struct Sockets(Mutex<Vec<TcpStream>>);

impl Sockets {
    fn add(&self, stream: &TcpStream) {
        if let Ok(clone) = stream.try_clone() {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(clone);
        }
    }

    /// Wakes every blocked read or write with an error; the sockets are closed when dropped.
    pub(crate) fn shut_down(&self) {
        for stream in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[derive(Debug)]
struct Shared {
    policy: AddressPolicy,
    /// The agent has a proxy (hosts in `NO_PROXY` are still connected to directly by ureq).
    via_proxy: bool,
    sockets: Arc<Sockets>,
}

impl Shared {
    /// The connection to the proxy itself: ureq connects to it with the proxy removed from
    /// the config.
    fn is_proxy_hop(&self, details: &ConnectionDetails) -> bool {
        self.via_proxy && details.config.proxy().is_none()
    }
}

fn refused(r: Refused) -> ureq::Error {
    ureq::Error::Other(Box::new(r))
}

/// Refuses a connection when any resolved address of the target is not allowed.
#[derive(Debug)]
struct Gate(Arc<Shared>);

impl<In: Transport> Connector<In> for Gate {
    type Out = In;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<In>, ureq::Error> {
        if !self.0.is_proxy_hop(details) {
            // Through a proxy ureq resolves nothing: look the name up here to check it.
            let looked_up;
            let addrs = if details.addrs.is_empty() {
                looked_up = details.resolver.resolve(details.uri, details.config, details.timeout)?;
                &looked_up
            } else {
                &details.addrs
            };
            for addr in addrs.iter() {
                self.0.policy.check(*addr).map_err(refused)?;
            }
        }
        Ok(chained)
    }
}

/// Plain TCP to the resolved (and checked) addresses, in order, each within its share of the
/// connect timeout; the connected socket's peer is checked again.
#[derive(Debug)]
struct GuardedTcp(Arc<Shared>);

impl<In: Transport> Connector<In> for GuardedTcp {
    type Out = Either<In, Guarded>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(transport) = chained {
            // A proxy tunnel is already open.
            return Ok(Some(Either::A(transport)));
        }
        let check = !self.0.is_proxy_hop(details);
        let per_address = details.timeout.not_zero().map(|t| *t / details.addrs.len().max(1) as u32);
        let mut last_error = None;
        // [`Gate`], before this in the chain, has checked every one of these addresses.
        for addr in details.addrs.iter() {
            let attempt = match per_address {
                Some(limit) => TcpStream::connect_timeout(addr, limit.max(MIN_CONNECT_TIMEOUT)),
                None => TcpStream::connect(addr),
            };
            let stream = match attempt {
                Ok(stream) => stream,
                Err(e) => {
                    last_error = Some(e);
                    continue;
                }
            };
            // Sockets are registered before the check so nothing escapes a shutdown.
            self.0.sockets.add(&stream);
            if check {
                check_connected(&self.0.policy, &stream).map_err(|e| match e {
                    PeerError::Refused(r) => refused(r),
                    PeerError::Io(e) => ureq::Error::Io(e),
                })?;
            }
            stream.set_nodelay(true)?;
            let buffers = LazyBuffers::new(details.config.input_buffer_size(), details.config.output_buffer_size());
            return Ok(Some(Either::B(Guarded { stream, buffers })));
        }
        Err(match last_error {
            Some(e) if e.kind() == std::io::ErrorKind::TimedOut => ureq::Error::Timeout(ureq::Timeout::Connect),
            Some(e) => ureq::Error::Io(e),
            None => ureq::Error::ConnectionFailed,
        })
    }
}

/// The shortest connect attempt per address, however many addresses share the timeout.
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(crate) enum PeerError {
    Refused(Refused),
    Io(std::io::Error),
}

/// Checks the address a connected socket actually reached.
pub(crate) fn check_connected(policy: &AddressPolicy, stream: &TcpStream) -> Result<(), PeerError> {
    let peer = stream.peer_addr().map_err(PeerError::Io)?;
    policy.check(peer).map_err(PeerError::Refused)
}

/// A TCP socket as a ureq transport (ureq does not export its own). Connections are never
/// reused: each hop of a fetch gets a new agent, so `is_open` says no.
struct Guarded {
    stream: TcpStream,
    buffers: LazyBuffers,
}

impl std::fmt::Debug for Guarded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guarded").field("peer", &self.stream.peer_addr().ok()).finish()
    }
}

/// An I/O result of a socket with a timeout set: a timeout is ureq's timeout of that reason.
fn io_result<T>(result: std::io::Result<T>, timeout: NextTimeout) -> Result<T, ureq::Error> {
    result.map_err(|e| match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ureq::Error::Timeout(timeout.reason),
        _ => ureq::Error::Io(e),
    })
}

impl Transport for Guarded {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        io_result(self.stream.set_write_timeout(timeout.not_zero().map(|t| *t)), timeout)?;
        let output = &self.buffers.output()[..amount];
        io_result((&self.stream).write_all(output), timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        io_result(self.stream.set_read_timeout(timeout.not_zero().map(|t| *t)), timeout)?;
        let input = self.buffers.input_append_buf();
        let amount = loop {
            // A signal (Ctrl-C's handler) interrupts a read with a timeout; the watcher ends
            // the fetch on cancel by shutting the socket down, which is not an interruption.
            match (&self.stream).read(input) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                result => break io_result(result, timeout)?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        false
    }
}

/// ureq's resolvers are `'static` values; this shares one (the system's, or a test's script).
#[derive(Debug, Clone)]
pub(crate) struct SharedResolver(pub Arc<dyn ureq::unversioned::resolver::Resolver>);

impl ureq::unversioned::resolver::Resolver for SharedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        self.0.resolve(uri, config, timeout)
    }
}

/// What one agent needs beyond its config.
pub(crate) struct AgentParts {
    pub policy: AddressPolicy,
    pub proxy: Option<ureq::Proxy>,
    pub resolver: SharedResolver,
    pub connect_timeout: Duration,
    pub sockets: Arc<Sockets>,
    /// The CAs every pincer connection trusts (`crate::http::tls`).
    pub tls: ureq::tls::TlsConfig,
}

/// Response headers larger than this are refused (a page's cookies and CSP fit easily).
const MAX_HEADER_BYTES: usize = 64 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 16 * 1024;

/// An agent for one fetch: pincer's identity, no redirects (the tool follows them itself, so
/// each hop is checked), no cookies, statuses as responses, and the guarded connector chain.
pub(crate) fn agent(parts: AgentParts) -> ureq::Agent {
    let via_proxy = parts.proxy.is_some();
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .user_agent(crate::http::USER_AGENT)
        .max_redirects(0)
        .proxy(parts.proxy)
        .timeout_connect(Some(parts.connect_timeout))
        .max_response_header_size(MAX_HEADER_BYTES)
        .input_buffer_size(MAX_HEADER_BYTES)
        .output_buffer_size(OUTPUT_BUFFER_BYTES)
        .tls_config(parts.tls)
        .build();
    let shared = Arc::new(Shared { policy: parts.policy, via_proxy, sockets: parts.sockets });
    let chain =
        ().chain(Gate(shared.clone()))
            .chain(ConnectProxyConnector::default())
            .chain(GuardedTcp(shared))
            .chain(RustlsConnector::default());
    ureq::Agent::with_parts(config, chain, parts.resolver)
}

/// The proxy ureq found in the environment, when web_fetch can use it: HTTP(S) CONNECT proxies.
/// SOCKS proxies are not built into pincer (ureq's `socks-proxy` feature is off), so, as for
/// the rest of pincer, connections are direct.
pub(crate) fn usable_proxy(proxy: &ureq::Proxy) -> Option<ureq::Proxy> {
    matches!(proxy.protocol(), ureq::ProxyProtocol::Http | ureq::ProxyProtocol::Https).then(|| proxy.clone())
}
