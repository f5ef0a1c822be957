//! The TCP TLS upgrade over real loopback sockets: what two Delos nodes negotiate, that stock
//! libp2p-tls peers and noise-only peers still connect both ways, and that peers without a
//! valid libp2p certificate are refused.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{AsyncReadExt, AsyncWriteExt, FutureExt};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use rustls::SupportedCipherSuite;
use rustls::crypto::aws_lc_rs::cipher_suite::{
    TLS13_AES_128_GCM_SHA256, TLS13_CHACHA20_POLY1305_SHA256,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use super::super::tls::{PeerCertificateVerifier, TlsHandshakeError, TlsUpgrade, aes_hardware};
use super::{eventually, no_discovery, noise_only_swarm, plain};

type Socket = Compat<TcpStream>;
type Secured = (PeerId, futures_rustls::TlsStream<Socket>);

/// A loopback TCP connection, `server` on the accepting side and `client` on the dialling one.
async fn handshake<S, C>(
    server: S,
    client: C,
) -> (Result<Secured, S::Error>, Result<Secured, C::Error>)
where
    S: InboundConnectionUpgrade<Socket, Output = Secured, Info = &'static str>,
    C: OutboundConnectionUpgrade<Socket, Output = Secured, Info = &'static str>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = async {
        let (socket, _) = listener.accept().await.unwrap();
        server.upgrade_inbound(socket.compat(), "/tls/1.0.0").await
    };
    let dial = async {
        let socket = TcpStream::connect(addr).await.unwrap();
        client.upgrade_outbound(socket.compat(), "/tls/1.0.0").await
    };
    tokio::join!(accept, dial)
}

fn suite(secured: &Secured) -> SupportedCipherSuite {
    secured.1.get_ref().1.negotiated_cipher_suite().unwrap()
}

/// Bytes written on one side arrive on the other.
async fn carries_bytes(from: &mut Secured, to: &mut Secured) {
    from.1.write_all(b"a module zip").await.unwrap();
    from.1.flush().await.unwrap();
    let mut got = [0u8; 12];
    to.1.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"a module zip");
}

#[tokio::test]
async fn two_delos_nodes_learn_each_others_identity_and_use_aes_gcm_where_the_cpu_has_it() {
    let (server_key, client_key) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let upgrade = TlsUpgrade::new(&client_key).unwrap();
    let preferred = upgrade.preferred_suite();
    let (server, client) = handshake(TlsUpgrade::new(&server_key).unwrap(), upgrade).await;
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    assert_eq!(server.0, client_key.public().to_peer_id());
    assert_eq!(client.0, server_key.public().to_peer_id());
    let want = if aes_hardware() {
        TLS13_AES_128_GCM_SHA256
    } else {
        TLS13_CHACHA20_POLY1305_SHA256
    };
    assert_eq!(preferred.suite(), want.suite());
    assert_eq!(suite(&server).suite(), want.suite());
    assert_eq!(suite(&client).suite(), want.suite());
    carries_bytes(&mut client, &mut server).await;
    carries_bytes(&mut server, &mut client).await;
}

#[tokio::test]
async fn stock_libp2p_tls_peers_connect_both_ways_and_the_dialler_picks_the_suite() {
    let (ours, stock) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());

    // We dial a stock peer: it follows our order.
    let (server, client) = handshake(
        libp2p::tls::Config::new(&stock).unwrap(),
        TlsUpgrade::new(&ours).unwrap(),
    )
    .await;
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    assert_eq!(server.0, ours.public().to_peer_id());
    assert_eq!(client.0, stock.public().to_peer_id());
    let preferred = TlsUpgrade::new(&ours).unwrap().preferred_suite();
    assert_eq!(suite(&client).suite(), preferred.suite());
    carries_bytes(&mut client, &mut server).await;

    // A stock peer dials us: we follow its order (ChaCha20 first in libp2p-tls).
    let (server, client) = handshake(
        TlsUpgrade::new(&ours).unwrap(),
        libp2p::tls::Config::new(&stock).unwrap(),
    )
    .await;
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    assert_eq!(server.0, stock.public().to_peer_id());
    assert_eq!(client.0, ours.public().to_peer_id());
    assert_eq!(
        suite(&server).suite(),
        TLS13_CHACHA20_POLY1305_SHA256.suite()
    );
    carries_bytes(&mut server, &mut client).await;
}

/// A TLS server presenting `cert` (signed by `key`) with the libp2p ALPN, and no client auth.
fn server_presenting(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> impl InboundConnectionUpgrade<Socket, Output = Secured, Info = &'static str, Error = std::io::Error>
{
    let provider = provider();
    let key = provider.key_provider.load_private_key(key).unwrap();
    let presented = SingleCertAndKey::from(CertifiedKey::new(vec![cert], key));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(presented));
    config.alpn_protocols = vec![b"libp2p".to_vec()];
    PlainTls::Server(Arc::new(config))
}

#[tokio::test]
async fn a_server_certificate_without_the_libp2p_extension_is_refused() {
    let plain = rcgen::generate_simple_self_signed(vec!["peer.example".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(plain.key_pair.serialize_der()));
    let server = server_presenting(plain.cert.der().clone(), key);
    let client = TlsUpgrade::new(&Keypair::generate_ed25519()).unwrap();
    let (_, client) = handshake(server, client).await;
    refused_in_the_handshake(client.err(), "a certificate with no libp2p extension");
}

#[tokio::test]
async fn a_libp2p_certificate_with_a_broken_self_signature_is_refused() {
    let (cert, key) = libp2p::tls::certificate::generate(&Keypair::generate_ed25519()).unwrap();
    let mut forged = cert.to_vec();
    let last = forged.last_mut().unwrap(); // inside the certificate's own signature
    *last ^= 0x01;
    let server = server_presenting(CertificateDer::from(forged), key);
    let client = TlsUpgrade::new(&Keypair::generate_ed25519()).unwrap();
    let (_, client) = handshake(server, client).await;
    refused_in_the_handshake(client.err(), "a forged libp2p certificate");
}

#[tokio::test]
async fn a_client_without_a_certificate_is_refused() {
    let server_key = Keypair::generate_ed25519();
    // A client that checks the server exactly as a node does, but presents no certificate.
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PeerCertificateVerifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"libp2p".to_vec()];
    config.enable_sni = false;
    let (server, _) = handshake(
        TlsUpgrade::new(&server_key).unwrap(),
        PlainTls::Client(Arc::new(config)),
    )
    .await;
    refused_in_the_handshake(server.err(), "a client without a certificate");
}

/// The TLS handshake itself refused the peer (so the peer is told, with an alert), rather
/// than a check after it.
fn refused_in_the_handshake(error: Option<TlsHandshakeError>, what: &str) {
    match error {
        Some(TlsHandshakeError::Handshake(_)) => {}
        Some(other) => panic!("{what} passed the handshake, refused only after: {other}"),
        None => panic!("{what} was accepted"),
    }
}

/// The crypto provider a node uses (aws-lc-rs), for the plain peers.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A plain rustls peer in the libp2p upgrade's shape, for the refused cases: it reports its
/// remote as a random identity (it has none to check).
#[derive(Clone)]
enum PlainTls {
    Server(Arc<rustls::ServerConfig>),
    Client(Arc<rustls::ClientConfig>),
}

impl libp2p::core::UpgradeInfo for PlainTls {
    type Info = &'static str;
    type InfoIter = std::iter::Once<&'static str>;

    fn protocol_info(&self) -> Self::InfoIter {
        std::iter::once("/tls/1.0.0")
    }
}

impl InboundConnectionUpgrade<Socket> for PlainTls {
    type Output = Secured;
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Secured, std::io::Error>>;

    fn upgrade_inbound(self, socket: Socket, _: &'static str) -> Self::Future {
        let PlainTls::Server(config) = self else {
            unreachable!("a plain client never accepts")
        };
        async move {
            let stream = futures_rustls::TlsAcceptor::from(config)
                .accept(socket)
                .await?;
            Ok((PeerId::random(), stream.into()))
        }
        .boxed()
    }
}

impl OutboundConnectionUpgrade<Socket> for PlainTls {
    type Output = Secured;
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Secured, std::io::Error>>;

    fn upgrade_outbound(self, socket: Socket, _: &'static str) -> Self::Future {
        let PlainTls::Client(config) = self else {
            unreachable!("a plain server never dials")
        };
        async move {
            let name = ServerName::try_from("peer.example").unwrap();
            // In TLS 1.3 the server checks the client's certificate after the client's side of
            // the handshake ends, so only the server's result tells.
            let stream = futures_rustls::TlsConnector::from(config)
                .connect(name, socket)
                .await?;
            Ok((PeerId::random(), stream.into()))
        }
        .boxed()
    }
}

/// A peer from before TLS: a swarm securing TCP with noise only, answering pings, listening on
/// loopback and dialling `dial` if given. Returns its identity and address.
async fn noise_only_peer(dial: Option<Multiaddr>) -> (PeerId, Multiaddr) {
    use futures::StreamExt;
    let keypair = Keypair::generate_ed25519();
    let (mut swarm, addr) = noise_only_swarm(keypair, libp2p::ping::Behaviour::default()).await;
    if let Some(node) = dial {
        swarm.dial(node).unwrap();
    }
    let peer = *swarm.local_peer_id();
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    (peer, addr.with(Protocol::P2p(peer)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_and_a_noise_only_peer_connect_whoever_dials() {
    let node = plain(31, no_discovery("t-tls-noise"));

    let (old, addr) = noise_only_peer(None).await;
    node.handle.dial(addr).await.unwrap();
    eventually("the node's dial to a noise-only peer", || async {
        node.is_connected_to(old).await.then_some(())
    })
    .await;

    let (dialler, _) = noise_only_peer(Some(node.addr(false).await)).await;
    eventually("a noise-only peer's dial to the node", || async {
        node.is_connected_to(dialler).await.then_some(())
    })
    .await;
}
