package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vigil-ha/vigil/internal/lab"
)

// webServer is one node's real nginx: its configuration, pid file, error
// log, temp paths and page live in a directory of its own (nothing under
// /etc or /var is touched), and it runs in the foreground (daemon off) in
// the node's namespace, in a process group the lab kills at the end.
type webServer struct {
	r      *reporter
	ns     *lab.NS
	dir    string
	cmd    *exec.Cmd
	exited <-chan struct{}
	out    lab.Buffer
}

// nginxConf is the main nginx.conf, in place of Debian's /etc/nginx: one
// worker, no access log, every path in the node's directory; the server
// is the example's site (examples/nginx-pair/nginx/nginx-pair.conf).
const nginxConf = `daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events {
    worker_connections 512;
}
http {
    access_log off;
    default_type text/html;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[1]s/site.conf;
}
`

// newWebServer writes node's nginx configuration, the example's site and
// the page naming the node; nothing runs until start.
func newWebServer(r *reporter, s *scratch, e *example, ns *lab.NS, node string) *webServer {
	dir := s.mkdir(r, "nginx-"+node)
	files := map[string]string{
		"nginx.conf": fmt.Sprintf(nginxConf, dir),
		"site.conf":  e.site(r, filepath.Join(dir, "www")),
		// The page the README writes: printf 'served by %s\n' "$(hostname)".
		"www/index.html": fmt.Sprintf("served by %s\n", node),
	}
	for _, d := range []string{"www", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			r.Fatalf("nginx %s: %v", node, err)
		}
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			r.Fatalf("nginx %s: %v", node, err)
		}
	}
	return &webServer{r: r, ns: ns, dir: dir}
}

// start runs nginx; -e keeps even its first log line out of /var/log.
func (w *webServer) start() {
	w.cmd = w.ns.StartOutput(&w.out, &w.out, "nginx", "-p", w.dir+"/", "-e", filepath.Join(w.dir, "error.log"),
		"-c", filepath.Join(w.dir, "nginx.conf"))
	w.exited = lab.Track(w.cmd).Done()
}

// stop is `nginx -s stop`: SIGTERM to the master, which stops its worker
// and exits; it waits (at most 5 s) and returns when the signal went out.
func (w *webServer) stop() time.Time {
	at := time.Now()
	_ = syscall.Kill(w.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-w.exited
	}
	return at
}

// kill is the host dying under nginx: SIGKILL to its whole group.
func (w *webServer) kill() {
	_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	<-w.exited
}

// errorLog is nginx's error log and console output, for -v and failures.
func (w *webServer) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(w.dir, "error.log"))
	return string(b) + w.out.String()
}
