package mysqlpair_test

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// myConn is the smallest MySQL protocol client the test needs: handshake
// with mysql_native_password, COM_QUERY, OK/ERR packets and text result
// sets. The module has no MySQL driver, and the writers must hold real
// connections (demote.sh kills them), which a CLI client per statement
// would not model.
type myConn struct {
	c   net.Conn
	r   *bufio.Reader
	seq byte
	// deadline bounds every query: an isolated server must fail the
	// writer, not hang it.
	deadline time.Duration
}

// myErr is a server's ERR packet.
type myErr struct {
	Code  uint16
	State string
	Msg   string
}

func (e *myErr) Error() string { return fmt.Sprintf("mysql error %d (%s): %s", e.Code, e.State, e.Msg) }

const (
	capLongPassword   = 0x1
	capConnectWithDB  = 0x8
	capProtocol41     = 0x200
	capTransactions   = 0x2000
	capSecureConn     = 0x8000
	capMultiResults   = 0x20000
	capPluginAuth     = 0x80000
	nativePasswordStr = "mysql_native_password"
)

// myDial connects with dial (TCP inside a namespace, or a unix socket)
// and logs in.
func myDial(dial func() (net.Conn, error), user, password, db string, deadline time.Duration) (*myConn, error) {
	c, err := dial()
	if err != nil {
		return nil, err
	}
	m := &myConn{c: c, r: bufio.NewReader(c), deadline: deadline}
	_ = c.SetDeadline(time.Now().Add(deadline))
	if err := m.handshake(user, password, db); err != nil {
		c.Close()
		return nil, fmt.Errorf("mysql handshake: %w", err)
	}
	return m, nil
}

func (m *myConn) Close() error { return m.c.Close() }

func (m *myConn) readPacket() ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(m.r, h[:]); err != nil {
		return nil, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	m.seq = h[3] + 1
	p := make([]byte, n)
	if _, err := io.ReadFull(m.r, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (m *myConn) writePacket(p []byte) error {
	h := []byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), m.seq}
	m.seq++
	_, err := m.c.Write(append(h, p...))
	return err
}

func scramble(password string, salt []byte) []byte {
	if password == "" {
		return nil
	}
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	s := sha1.New()
	s.Write(salt)
	s.Write(h2[:])
	h3 := s.Sum(nil)
	for i := range h3 {
		h3[i] ^= h1[i]
	}
	return h3
}

func (m *myConn) handshake(user, password, db string) error {
	p, err := m.readPacket()
	if err != nil {
		return err
	}
	if len(p) > 0 && p[0] == 0xff {
		return parseErr(p)
	}
	if len(p) < 1 || p[0] != 10 {
		return errors.New("not a protocol 10 handshake")
	}
	i := bytes.IndexByte(p[1:], 0)
	if i < 0 {
		return errors.New("short handshake")
	}
	rest := p[1+i+1:]
	if len(rest) < 4+8+1+2+1+2+2+1+10 {
		return errors.New("short handshake")
	}
	salt := append([]byte{}, rest[4:12]...)
	rest = rest[12+1+2+1+2+2+1+10:]
	if j := bytes.IndexByte(rest, 0); j >= 0 {
		salt = append(salt, rest[:j]...)
	} else {
		salt = append(salt, rest...)
	}
	if len(salt) > 20 {
		salt = salt[:20]
	}
	caps := uint32(capLongPassword | capProtocol41 | capTransactions | capSecureConn | capMultiResults | capPluginAuth)
	if db != "" {
		caps |= capConnectWithDB
	}
	var out bytes.Buffer
	_ = binary.Write(&out, binary.LittleEndian, caps)
	_ = binary.Write(&out, binary.LittleEndian, uint32(1<<24))
	out.WriteByte(33) // utf8_general_ci
	out.Write(make([]byte, 23))
	out.WriteString(user)
	out.WriteByte(0)
	auth := scramble(password, salt)
	out.WriteByte(byte(len(auth)))
	out.Write(auth)
	if db != "" {
		out.WriteString(db)
		out.WriteByte(0)
	}
	out.WriteString(nativePasswordStr)
	out.WriteByte(0)
	if err := m.writePacket(out.Bytes()); err != nil {
		return err
	}
	for range 3 {
		p, err := m.readPacket()
		if err != nil {
			return err
		}
		switch {
		case len(p) > 0 && p[0] == 0x00:
			return nil
		case len(p) > 0 && p[0] == 0xff:
			return parseErr(p)
		case len(p) > 0 && p[0] == 0xfe: // auth switch
			rest := p[1:]
			j := bytes.IndexByte(rest, 0)
			if j < 0 || string(rest[:j]) != nativePasswordStr {
				return fmt.Errorf("auth switch to an unsupported plugin: %q", rest)
			}
			s := bytes.TrimRight(rest[j+1:], "\x00")
			if err := m.writePacket(scramble(password, s)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected packet 0x%x during login", p)
		}
	}
	return errors.New("login did not finish")
}

func parseErr(p []byte) error {
	e := &myErr{}
	if len(p) >= 3 {
		e.Code = binary.LittleEndian.Uint16(p[1:3])
	}
	rest := p[min(3, len(p)):]
	if len(rest) >= 6 && rest[0] == '#' {
		e.State, rest = string(rest[1:6]), rest[6:]
	}
	e.Msg = string(rest)
	return e
}

// lenenc reads a length-encoded integer; null reports 0xfb (SQL NULL).
func lenenc(b []byte) (v uint64, n int, null bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch b[0] {
	case 0xfb:
		return 0, 1, true
	case 0xfc:
		if len(b) < 3 {
			return 0, len(b), false
		}
		return uint64(binary.LittleEndian.Uint16(b[1:3])), 3, false
	case 0xfd:
		if len(b) < 4 {
			return 0, len(b), false
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, 4, false
	case 0xfe:
		if len(b) < 9 {
			return 0, len(b), false
		}
		return binary.LittleEndian.Uint64(b[1:9]), 9, false
	}
	return uint64(b[0]), 1, false
}

// result is a query's outcome: rows for a SELECT, the insert id for an
// INSERT.
type result struct {
	Rows     [][]string
	InsertID uint64
}

// Query runs one statement (no multi-statements) within the deadline.
func (m *myConn) Query(q string) (result, error) {
	_ = m.c.SetDeadline(time.Now().Add(m.deadline))
	m.seq = 0
	if err := m.writePacket(append([]byte{0x03}, q...)); err != nil {
		return result{}, err
	}
	p, err := m.readPacket()
	if err != nil {
		return result{}, err
	}
	switch {
	case len(p) == 0:
		return result{}, errors.New("empty response")
	case p[0] == 0x00:
		_, n, _ := lenenc(p[1:])
		id, _, _ := lenenc(p[1+n:])
		return result{InsertID: id}, nil
	case p[0] == 0xff:
		return result{}, parseErr(p)
	}
	ncols, _, _ := lenenc(p)
	for range ncols { // column definitions
		if _, err := m.readPacket(); err != nil {
			return result{}, err
		}
	}
	if p, err = m.readPacket(); err != nil { // EOF after the columns
		return result{}, err
	} else if len(p) == 0 || p[0] != 0xfe {
		return result{}, fmt.Errorf("expected EOF after columns, got 0x%x", p)
	}
	var res result
	for range 1 << 20 {
		p, err := m.readPacket()
		if err != nil {
			return result{}, err
		}
		if len(p) > 0 && p[0] == 0xfe && len(p) < 9 {
			return res, nil
		}
		if len(p) > 0 && p[0] == 0xff {
			return result{}, parseErr(p)
		}
		row := make([]string, 0, ncols)
		for b := p; len(b) > 0; {
			l, n, null := lenenc(b)
			b = b[n:]
			if null {
				row = append(row, "NULL")
				continue
			}
			if int(l) > len(b) {
				return result{}, errors.New("short row")
			}
			row = append(row, string(b[:l]))
			b = b[l:]
		}
		res.Rows = append(res.Rows, row)
	}
	return result{}, errors.New("result set too large")
}

// value runs a query expected to return one value.
func (m *myConn) value(q string) (string, error) {
	r, err := m.Query(q)
	if err != nil {
		return "", err
	}
	if len(r.Rows) != 1 || len(r.Rows[0]) != 1 {
		return "", fmt.Errorf("%s: %d rows, want one value", q, len(r.Rows))
	}
	return r.Rows[0][0], nil
}
