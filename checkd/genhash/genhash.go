// Package genhash is `vigil genhash`, keepalived's genhash: fetch a URL
// the way HTTP_GET/SSL_GET do and print the MD5 digest of the body, the
// value a url block's digest line wants.
//
// The flags are keepalived's (genhash -h), long and short:
//
//	vigil genhash [-S|--use-ssl] [-I|--use-sni] [--sni NAME]
//	    [-V|--use-virtualhost|--virtualhost HOST] [-P|--protocol 1.0|1.0c|1.1]
//	    [-t|--timeout SECONDS] [-m|--fwmark MARK] [-H|--hash md5] [-v|--verbose]
//	    -s|--server ADDRESS -p|--port PORT -u|--url PATH
//
// The output is keepalived's: the digest in lowercase hex on a line of its
// own. Unlike keepalived's genhash, which exits 0 even when the
// connection fails, a failure exits 1 with the reason on standard error.
package genhash

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ha/vigil/checkd/probe"
)

// DefaultTimeout bounds the connection and each read when -t is not given
// (keepalived's genhash waits indefinitely).
const DefaultTimeout = 10 * time.Second

// Main runs genhash with args (without the command name) and returns the
// exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vigil genhash", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		ssl, sni, verbose, help        bool
		server, url, vhost, sniName    string
		proto, hash, port, timeout, fw string
	)
	for _, n := range []string{"S", "use-ssl"} {
		fs.BoolVar(&ssl, n, false, "")
	}
	for _, n := range []string{"I", "use-sni"} {
		fs.BoolVar(&sni, n, false, "")
	}
	for _, n := range []string{"v", "verbose"} {
		fs.BoolVar(&verbose, n, false, "")
	}
	for _, n := range []string{"h", "help"} {
		fs.BoolVar(&help, n, false, "")
	}
	str := func(p *string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, *p, "")
		}
	}
	str(&server, "s", "server")
	str(&port, "p", "port")
	str(&url, "u", "url")
	str(&vhost, "V", "use-virtualhost", "virtualhost")
	str(&sniName, "sni")
	str(&proto, "P", "protocol")
	str(&hash, "H", "hash")
	str(&timeout, "t", "timeout")
	str(&fw, "m", "fwmark")

	usageErr := func(format string, a ...any) int {
		if format != "" {
			fmt.Fprintf(stderr, "vigil genhash: "+format+"\n", a...)
		}
		fmt.Fprint(stderr, usage)
		return 1
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return usageErr("%v", err)
	}
	if help {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument(s): %s", strings.Join(fs.Args(), " "))
	}
	if server == "" || port == "" || url == "" {
		return usageErr("-s, -p and -u are required")
	}
	addr, err := netip.ParseAddr(server)
	if err != nil {
		return usageErr("server should be an IP, not %s", server)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return usageErr("invalid port number '%s'", port)
	}
	t := probe.HTTPTarget{Conn: probe.Conn{Addr: netip.AddrPortFrom(addr, uint16(p)), Timeout: DefaultTimeout}}
	if timeout != "" {
		secs, err := strconv.ParseUint(strings.TrimSpace(timeout), 10, 32)
		if err != nil || secs == 0 {
			return usageErr("invalid timeout '%s'", timeout)
		}
		t.Timeout = time.Duration(secs) * time.Second
	}
	if fw != "" {
		mark, err := strconv.ParseUint(strings.TrimSpace(fw), 10, 32)
		if err != nil {
			return usageErr("invalid fwmark '%s'", fw)
		}
		t.Fwmark = uint32(mark)
	}
	switch strings.ToUpper(proto) {
	case "", "1.0":
		t.Protocol = probe.HTTP10
	case "1.0C":
		t.Protocol = probe.HTTP10C
	case "1.1":
		t.Protocol = probe.HTTP11
	case "1.0K":
		t.Protocol = probe.HTTP10K
	case "1.1K":
		t.Protocol = probe.HTTP11K
	default:
		return usageErr("invalid HTTP protocol version '%s'", proto)
	}
	if hash != "" && !strings.EqualFold(hash, "md5") {
		return usageErr("hash %q not supported: digest lines hold MD5", hash)
	}
	if ssl {
		t.TLS = &tls.Config{}
		t.EnableSNI = sni
		t.SNIName = sniName
	} else if sni || sniName != "" {
		return usageErr("SNI needs --use-ssl")
	}

	start := time.Now()
	resp, err := probe.Fetch(ctx, t, probe.URL{Path: url, Host: vhost})
	if err != nil {
		fmt.Fprintf(stderr, "vigil genhash: %s%s: %v\n", t.Addr, url, err)
		return 1
	}
	if verbose {
		fmt.Fprintf(stdout, "%s\n", strings.TrimRight(string(resp.Header), "\r\n"))
		fmt.Fprintf(stdout, "\nStatus code %d, %d body bytes", resp.Status, resp.BodyBytes)
		if resp.ContentLength >= 0 {
			fmt.Fprintf(stdout, " (Content-Length %d)", resp.ContentLength)
		}
		fmt.Fprintf(stdout, "\nGlobal response time for [%s] = %d usecs\n", url, time.Since(start).Microseconds())
	}
	fmt.Fprintln(stdout, resp.DigestHex())
	return 0
}

const usage = `Usage: vigil genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --sni NAME                 Send NAME as SNI during SSL handshake.
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query (also --virtualhost).
   --hash            -H       Use the specified hash algorithm (md5 only).
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds (default 10).
`
