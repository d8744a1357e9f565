//! Which IP addresses `web_fetch` may connect to: a pure classifier over every special-purpose
//! range (IANA's IPv4 and IPv6 special-purpose registries), table-tested.
//!
//! An address is either public (globally routable) or one of the kinds below. IPv6 forms that
//! carry an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the IPv4 address inside, so
//! `::ffff:127.0.0.1` is loopback like `127.0.0.1`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, for the refusal message and the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressKind {
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `10/8`, `172.16/12`, `192.168/16`, and NAT64's local-use prefix.
    Private,
    /// `100.64/10`: carrier-grade NAT, the provider's side of the network.
    SharedCgnat,
    /// `169.254/16`, `fe80::/10`.
    LinkLocal,
    /// `fc00::/7` (and the deprecated site-local `fec0::/10`).
    UniqueLocal,
    /// Instance metadata services of the clouds: where a VM's credentials are served.
    CloudMetadata,
    /// `0.0.0.0/8`, `::`: "this host" (on Linux, connecting to it reaches loopback).
    Unspecified,
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Everything else that is not globally routable: benchmarking, IETF assignments,
    /// `240/4`, discard-only, Teredo, the deprecated IPv4-compatible form.
    Reserved,
}

/// Well-known metadata addresses (AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle: 169.254.169.254;
/// AWS ECS task credentials: 169.254.170.2; AWS DNS: 169.254.169.253; Alibaba: 100.100.100.200).
const METADATA_V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 169, 253),
    Ipv4Addr::new(100, 100, 100, 200),
];
/// AWS's IPv6 instance metadata endpoint.
const METADATA_V6: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)];

impl AddressKind {
    /// "a loopback address", for "127.0.0.1 is a loopback address".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            AddressKind::Public => "a public address",
            AddressKind::Loopback => "a loopback address (this machine)",
            AddressKind::Private => "a private network address",
            AddressKind::SharedCgnat => "a carrier-grade NAT address (100.64.0.0/10)",
            AddressKind::LinkLocal => "a link-local address",
            AddressKind::UniqueLocal => "an IPv6 unique-local (private) address",
            AddressKind::CloudMetadata => "a cloud metadata service address",
            AddressKind::Unspecified => "the unspecified address (this host)",
            AddressKind::Multicast => "a multicast address",
            AddressKind::Broadcast => "the broadcast address",
            AddressKind::Documentation => "a documentation-only address",
            AddressKind::Reserved => "a reserved, not globally routable address",
        }
    }

    /// Kinds `allow_private` opens: the person's own machine and networks. Metadata services
    /// stay closed (no one needs the model to read a VM's credentials), and so do addresses that
    /// never name a web server.
    pub(crate) fn opened_by_allow_private(self) -> bool {
        matches!(
            self,
            AddressKind::Public
                | AddressKind::Loopback
                | AddressKind::Private
                | AddressKind::SharedCgnat
                | AddressKind::LinkLocal
                | AddressKind::UniqueLocal
                | AddressKind::Documentation
                | AddressKind::Reserved
        )
    }
}

pub(crate) fn classify(ip: IpAddr) -> AddressKind {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> AddressKind {
    if METADATA_V4.contains(&ip) {
        return AddressKind::CloudMetadata;
    }
    // (network, prefix length, kind), most specific first where ranges nest.
    const RANGES: &[([u8; 4], u32, AddressKind)] = &[
        ([0, 0, 0, 0], 8, AddressKind::Unspecified),
        ([10, 0, 0, 0], 8, AddressKind::Private),
        ([100, 64, 0, 0], 10, AddressKind::SharedCgnat),
        ([127, 0, 0, 0], 8, AddressKind::Loopback),
        ([169, 254, 0, 0], 16, AddressKind::LinkLocal),
        ([172, 16, 0, 0], 12, AddressKind::Private),
        ([192, 0, 0, 0], 24, AddressKind::Reserved),
        ([192, 0, 2, 0], 24, AddressKind::Documentation),
        ([192, 88, 99, 0], 24, AddressKind::Reserved),
        ([192, 168, 0, 0], 16, AddressKind::Private),
        ([198, 18, 0, 0], 15, AddressKind::Reserved),
        ([198, 51, 100, 0], 24, AddressKind::Documentation),
        ([203, 0, 113, 0], 24, AddressKind::Documentation),
        ([224, 0, 0, 0], 4, AddressKind::Multicast),
        ([255, 255, 255, 255], 32, AddressKind::Broadcast),
        ([240, 0, 0, 0], 4, AddressKind::Reserved),
    ];
    RANGES.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)).map_or(AddressKind::Public, |(_, _, kind)| *kind)
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

/// The IPv4 address in the low 32 bits.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32)
}

fn classify_v6(ip: Ipv6Addr) -> AddressKind {
    if METADATA_V6.contains(&ip) {
        return AddressKind::CloudMetadata;
    }
    if ip.is_unspecified() {
        return AddressKind::Unspecified;
    }
    if ip.is_loopback() {
        return AddressKind::Loopback;
    }
    // Forms that carry an IPv4 address are as safe as that address: a socket connects to
    // the IPv4 host (mapped), or a gateway translates to it (NAT64, 6to4).
    if in_v6(ip, [0, 0, 0, 0, 0, 0xffff, 0, 0], 96) || in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return classify_v4(low_v4(ip));
    }
    if in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) {
        let bits = (u128::from(ip) >> 80) as u32;
        return classify_v4(Ipv4Addr::from(bits));
    }
    const RANGES: &[([u16; 8], u32, AddressKind)] = &[
        // The deprecated IPv4-compatible form `::a.b.c.d`.
        ([0, 0, 0, 0, 0, 0, 0, 0], 96, AddressKind::Reserved),
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, AddressKind::Private),
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, AddressKind::Reserved),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, AddressKind::Documentation),
        // Teredo tunnels (an obfuscated IPv4 address inside).
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32, AddressKind::Reserved),
        // IETF protocol assignments (benchmarking 2001:2::/48, ORCHID…); a few anycast
        // services live here too, none of them web servers.
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, AddressKind::Reserved),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, AddressKind::Documentation),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, AddressKind::UniqueLocal),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, AddressKind::LinkLocal),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, AddressKind::UniqueLocal),
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, AddressKind::Multicast),
    ];
    if let Some((_, _, kind)) = RANGES.iter().find(|(net, prefix, _)| in_v6(ip, *net, *prefix)) {
        return *kind;
    }
    // Only 2000::/3 is allocated for global unicast; anything else is unassigned.
    if in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) { AddressKind::Public } else { AddressKind::Reserved }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressKind::*;

    #[test]
    fn every_range_is_classified() {
        let table: &[(&str, AddressKind)] = &[
            // IPv4
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("11.0.0.1", Public),
            ("100.63.255.255", Public),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Public),
            ("100.100.100.200", CloudMetadata),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.0.1", LinkLocal),
            ("169.254.169.254", CloudMetadata),
            ("169.254.170.2", CloudMetadata),
            ("169.254.169.253", CloudMetadata),
            ("172.15.255.255", Public),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Public),
            ("192.0.0.8", Reserved),
            ("192.0.2.10", Documentation),
            ("192.88.99.1", Reserved),
            ("192.168.1.1", Private),
            ("192.169.0.1", Public),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("198.20.0.0", Public),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.255", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.254", Reserved),
            ("255.255.255.255", Broadcast),
            ("1.1.1.1", Public),
            ("8.8.8.8", Public),
            ("93.184.215.14", Public),
            // IPv6
            ("::", Unspecified),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:169.254.169.254", CloudMetadata),
            ("::ffff:8.8.8.8", Public),
            ("::ffff:0.0.0.0", Unspecified),
            ("::127.0.0.1", Reserved),
            ("::8.8.8.8", Reserved),
            ("64:ff9b::7f00:1", Loopback),
            ("64:ff9b::808:808", Public),
            ("64:ff9b:1::1", Private),
            ("100::1", Reserved),
            ("2001::1", Reserved),
            ("2001:2::1", Reserved),
            ("2001:db8::1", Documentation),
            ("2002:7f00:1::1", Loopback),
            ("2002:c0a8:101::1", Private),
            ("2002:808:808::1", Public),
            ("3fff::1", Documentation),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fd00:ec2::254", CloudMetadata),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", UniqueLocal),
            ("ff02::1", Multicast),
            ("ff0e::1", Multicast),
            ("2606:4700::1111", Public),
            ("2a00:1450:4001::200e", Public),
            ("4000::1", Reserved),
            ("1::1", Reserved),
        ];
        for (text, expected) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), *expected, "{text}");
        }
    }

    #[test]
    fn allow_private_opens_own_networks_but_not_metadata() {
        assert!(Loopback.opened_by_allow_private());
        assert!(Private.opened_by_allow_private());
        assert!(UniqueLocal.opened_by_allow_private());
        assert!(!CloudMetadata.opened_by_allow_private());
        assert!(!Multicast.opened_by_allow_private());
        assert!(!Broadcast.opened_by_allow_private());
        assert!(!Unspecified.opened_by_allow_private());
    }
}
