package lab

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"time"
)

// LeaseHolders asks a `vigil arbiter` for its leases' holders over its
// JSON status on a unix socket (not bound to any namespace); nil when it
// does not answer within a second.
func LeaseHolders(sock string) []string {
	hc := http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	resp, err := hc.Get("http://arbiter/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st struct {
		Leases []struct {
			Holder string `json:"holder"`
		} `json:"leases"`
	}
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil
	}
	out := make([]string, 0, len(st.Leases))
	for _, l := range st.Leases {
		out = append(out, l.Holder)
	}
	return out
}
