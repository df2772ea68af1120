// Package ipc is how Vigil's processes talk: core (the parent) and each child
// (vrrpd, checkd, lvsd, arbiter) over the Unix socketpair the child inherits
// at spawn, and the vigil CLI to core over the control socket.
//
// # Wire format, version 1
//
// Every message is one frame:
//
//	length   4 bytes, big-endian: the size N of what follows (16 + body)
//	version  1 byte, = 1
//	kind     1 byte: Event 1, Request 2, Response 3, Error 4
//	type     2 bytes, big-endian: a Type code (TypeHello, TypePing, …); 0 is invalid
//	reserved 4 bytes, must be 0
//	id       8 bytes, big-endian: a Request's id, echoed by its Response or Error;
//	         0 for events (and for an Error that says why the sender is closing)
//	body     N-16 bytes of JSON, possibly empty
//
// A frame longer than the limit (DefaultMaxFrame, 16 MiB, settable per Conn),
// a wrong version, an unknown kind, non-zero reserved bytes, a bad id or a
// non-empty body that is not valid JSON is a *ProtocolError: the Conn that
// reads it tells the peer why and closes, and only that Conn.
//
// # Session
//
// Each side first sends an Event of TypeHello whose body is a Hello
// ({"version":1,"role":"vrrpd","pid":123,"binary":"…"}); Conn.Handshake
// does this and refuses a peer that sends anything else first or speaks
// another version. Then either side may send events (Conn.Notify) and
// requests (Conn.Request) at any time, while Conn.Serve reads, dispatching
// events in order and requests concurrently to a Handler. Bodies are JSON;
// this package does not know their schema (configuration, snapshots and the
// like are opaque here).
//
// # Sockets
//
// Socketpair makes the parent/child pair (the child end goes in
// exec.Cmd.ExtraFiles, and the child takes it back with InheritedConn);
// ListenControl, DialControl and PeerCred serve the control socket.
package ipc
