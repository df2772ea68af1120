// Package netio holds vrrpd's Linux VRRP sockets: one raw socket per
// address family (IP protocol 112), shared by every instance on every
// interface. It is the I/O edge around the pure codec in vrrpd/packet: it
// moves payload bytes and reports what the IP layer said about them
// (interface, source, destination, TTL / hop limit); it does not decode,
// log or count.
//
// Kernel facts this package relies on, each proven by a test in a lab
// namespace:
//
//   - An IPv4 raw socket delivers the IP header in front of the payload;
//     Recv strips it (by the header's IHL) and returns only the VRRP
//     message. The kernel builds the header on send (no IP_HDRINCL).
//   - IPv4 raw sockets do not verify the VRRP checksum: a corrupt packet
//     reaches Recv and packet.Decode reports it. With IPV6_CHECKSUM set,
//     the kernel fills in the IPv6 checksum on send and silently drops
//     received packets whose checksum is wrong, so they never reach Recv.
//   - IP_MULTICAST_ALL (on by default) would let a raw socket receive every
//     group any socket on the host joined, on any interface; it is turned
//     off, so the kernel gives an IPv4 Conn only groups it joined, on the
//     interfaces it joined them on. The kernel does no such filtering for
//     a raw IPv6 socket bound to the unspecified address, with or without
//     IPV6_MULTICAST_ALL (set off anyway): it gets every group any socket
//     joined on any interface. So the IPv6 Conn drops multicast for
//     groups it has not joined on the arrival interface itself, in Recv.
//   - The outgoing interface and source address are chosen per packet with
//     IP_PKTINFO / IPV6_PKTINFO, also for multicast, so one socket serves
//     every interface.
package netio
