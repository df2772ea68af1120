// Package vrrpd is Vigil's VRRP subsystem: the engine that runs every
// vrrp_instance of a node. The protocol itself is the pure state machine in
// vrrpd/vrrp (events and the time in, actions out); vrrpd/packet is the
// advert codec and vrrpd/netio the raw sockets. This package is the thin
// driver between them and the kernel: it feeds packets, timers and tracking
// events to the state machines and carries out their actions (adverts, VIPs
// and routes over netlink, gratuitous ARP / unsolicited NA, notify scripts).
package vrrpd
