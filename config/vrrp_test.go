package config

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// vrrpMinimal wraps body in an otherwise valid IPv4 instance VI_1.
func vrrpMinimal(body string) string {
	return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  198.18.0.1/24\n }\n" + body + "\n}\n"
}

// vrrpBare wraps body in an instance with nothing else in it.
func vrrpBare(body string) string {
	return "vrrp_instance VI_1 {\n" + body + "\n}\n"
}

func vrrpSec(f float64) Duration { return Duration(f * float64(time.Second)) }

func TestVRRPInstanceDefaults(t *testing.T) {
	cfg, ds := vrrpLoad(t, vrrpMinimal(""))
	vrrpExpect(t, ds, "", "")
	if len(ds) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", ds.Error())
	}
	v := cfg.Instances[0]
	if v.Name != "VI_1" || v.State != StateBackup || v.Priority != 100 || v.AdvertInt != vrrpSec(1) || v.Version != 2 ||
		v.DownTimerAdverts != 3 || v.Interface != "eth0" || v.VirtualRouterID != 51 {
		t.Errorf("defaults: %+v", v)
	}
	if v.StrictMode != nil || v.Accept != nil || v.GarpMasterDelay != nil || v.SMTPAlert != nil || v.Nopreempt {
		t.Errorf("inherited settings must stay unset: %+v", v)
	}
	if !v.Pos.IsValid() || v.VirtualIPAddresses[0].Pos.Line != 5 {
		t.Errorf("positions: %+v %+v", v.Pos, v.VirtualIPAddresses[0].Pos)
	}
}

// TestVRRPInstanceKeywords reads every supported instance keyword.
func TestVRRPInstanceKeywords(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		errSub  string
		warnSub string
		check   func(t *testing.T, v *VRRPInstance)
	}{
		{name: "state master", body: "state MASTER\npriority 150", check: func(t *testing.T, v *VRRPInstance) {
			if v.State != StateMaster || v.Priority != 150 {
				t.Errorf("state %q priority %d", v.State, v.Priority)
			}
		}},
		{name: "state master alone", body: "state MASTER", warnSub: "no priority", check: func(t *testing.T, v *VRRPInstance) {
			if v.State != StateMaster || v.Priority != 255 {
				t.Errorf("state %q priority %d", v.State, v.Priority)
			}
		}},
		{name: "priority 255 alone", body: "priority 255", check: func(t *testing.T, v *VRRPInstance) {
			if v.State != StateMaster {
				t.Errorf("state %q", v.State)
			}
		}},
		{name: "priority 255 backup", body: "priority 255\nstate BACKUP", check: func(t *testing.T, v *VRRPInstance) {
			if v.State != StateBackup {
				t.Errorf("state %q", v.State)
			}
		}},
		{name: "state lower case", body: "state master", errSub: "unknown state \"master\""},
		{name: "state bogus", body: "state PRIMARY", errSub: "unknown state"},
		{name: "state master then backup", body: "state MASTER\nstate BACKUP", warnSub: "BACKUP is ignored", check: func(t *testing.T, v *VRRPInstance) {
			if v.State != StateMaster {
				t.Errorf("state %q", v.State)
			}
		}},
		{name: "interface too long", body: "interface abcdefghijklmnopq", errSub: "not a valid interface name"},
		{name: "vrid 0", body: "virtual_router_id 0", errSub: "out of range"},
		{name: "vrid 256", body: "virtual_router_id 256", errSub: "out of range"},
		{name: "vrid word", body: "virtual_router_id one", errSub: "not a number"},
		{name: "priority", body: "priority 150", check: func(t *testing.T, v *VRRPInstance) {
			if v.Priority != 150 {
				t.Errorf("priority %d", v.Priority)
			}
		}},
		{name: "priority 0", body: "priority 0", errSub: "out of range"},
		{name: "priority 256", body: "priority 256", errSub: "out of range"},
		{name: "priority missing", body: "priority", errSub: "needs 1 argument"},
		{name: "priority extra", body: "priority 1 2", errSub: "at most 1 argument"},
		{name: "advert_int v2", body: "advert_int 3", check: func(t *testing.T, v *VRRPInstance) {
			if v.AdvertInt != vrrpSec(3) {
				t.Errorf("advert_int %v", v.AdvertInt)
			}
		}},
		{name: "advert_int v2 rounded", body: "advert_int 1.5", warnSub: "rounds it to 2s", check: func(t *testing.T, v *VRRPInstance) {
			if v.AdvertInt != vrrpSec(2) {
				t.Errorf("advert_int %v", v.AdvertInt)
			}
		}},
		{name: "advert_int v2 rounded to 1s minimum", body: "advert_int 0.4", warnSub: "rounds it to 1s", check: func(t *testing.T, v *VRRPInstance) {
			if v.AdvertInt != vrrpSec(1) {
				t.Errorf("advert_int %v", v.AdvertInt)
			}
		}},
		{name: "advert_int 0", body: "advert_int 0", errSub: "advert_int"},
		{name: "advert_int too big", body: "advert_int 255.5", errSub: "advert_int"},
		{name: "advert_int below 10ms", body: "version 3\nadvert_int 0.005", errSub: "advert_int"},
		{name: "advert_int v3 centiseconds", body: "version 3\nadvert_int 0.25", check: func(t *testing.T, v *VRRPInstance) {
			if v.AdvertInt != vrrpSec(0.25) || v.Version != 3 {
				t.Errorf("advert_int %v version %d", v.AdvertInt, v.Version)
			}
		}},
		{name: "advert_int v3 rounded", body: "version 3\nadvert_int 0.123", warnSub: "units of 10ms", check: func(t *testing.T, v *VRRPInstance) {
			if v.AdvertInt != vrrpSec(0.12) {
				t.Errorf("advert_int %v", v.AdvertInt)
			}
		}},
		{name: "advert_int v3 max", body: "version 3\nadvert_int 41", warnSub: "40.95s", check: func(t *testing.T, v *VRRPInstance) {
			if v.AdvertInt != vrrpSec(40.95) {
				t.Errorf("advert_int %v", v.AdvertInt)
			}
		}},
		{name: "advert_int not a number", body: "advert_int fast", errSub: "advert_int"},
		{name: "advert_int exponent", body: "advert_int 1e1", errSub: "advert_int"},
		{name: "version 4", body: "version 4", errSub: "out of range"},
		{name: "authentication", body: "authentication {\nauth_type PASS\nauth_pass secret\n}", check: func(t *testing.T, v *VRRPInstance) {
			if v.Authentication == nil || v.Authentication.Type != "PASS" || v.Authentication.Pass != "secret" {
				t.Errorf("auth %+v", v.Authentication)
			}
		}},
		{name: "auth_pass truncated", body: "authentication {\nauth_type AH\nauth_pass 192837465\n}", warnSub: "longer than 8", check: func(t *testing.T, v *VRRPInstance) {
			if v.Authentication.Pass != "19283746" {
				t.Errorf("pass %q", v.Authentication.Pass)
			}
		}},
		{name: "auth_type lower case", body: "authentication {\nauth_type pass\nauth_pass x\n}", errSub: "unknown authentication type"},
		{name: "auth_type MD5", body: "authentication {\nauth_type MD5\nauth_pass x\n}", errSub: "MD5"},
		{name: "auth without pass", body: "authentication {\nauth_type PASS\n}", errSub: "auth_pass"},
		{name: "auth without type", body: "authentication {\nauth_pass x\n}", errSub: "auth_type"},
		{name: "auth v3 ignored", body: "version 3\nauthentication {\nauth_type PASS\nauth_pass x\n}", warnSub: "VRRPv3 has no authentication", check: func(t *testing.T, v *VRRPInstance) {
			if v.Authentication != nil {
				t.Errorf("auth kept")
			}
		}},
		{name: "auth strict ignored", body: "strict_mode\nauthentication {\nauth_type PASS\nauth_pass x\n}", warnSub: "strict mode does not support authentication"},
		{name: "auth AH master", body: "state MASTER\npriority 150\nauthentication {\nauth_type AH\nauth_pass x\n}", warnSub: "incompatible with AH", check: func(t *testing.T, v *VRRPInstance) {
			if v.State != StateBackup {
				t.Errorf("state %q", v.State)
			}
		}},
		{name: "hmac accepted", body: "authentication {\nauth_type PASS\nauth_pass x\nanti_replay\n}", warnSub: "not implemented"},
		{name: "excluded mixes families", body: "virtual_ipaddress_excluded {\n2001:db8::1/64\n198.18.0.9\n}", check: func(t *testing.T, v *VRRPInstance) {
			if len(v.VirtualIPAddressesExcluded) != 2 {
				t.Errorf("evips %v", v.VirtualIPAddressesExcluded)
			}
		}},
		{name: "vip family mismatch", body: "virtual_ipaddress {\n2001:db8::1\n}", errSub: "is IPv6 but the instance is IPv4"},
		{name: "no_virtual_ipaddress", body: "no_virtual_ipaddress", check: func(t *testing.T, v *VRRPInstance) {
			if !v.NoVirtualIPAddress {
				t.Error("not set")
			}
		}},
		{name: "flag with argument", body: "nopreempt yes", errSub: "takes no arguments"},
		{name: "promote_secondaries", body: "promote_secondaries", check: func(t *testing.T, v *VRRPInstance) {
			if !v.PromoteSecondaries {
				t.Error("not set")
			}
		}},
		{name: "track_interface", body: "track_interface {\neth1\neth2 weight -10 reverse\neth3 weight 254\n}", warnSub: "out of range -253..253", check: func(t *testing.T, v *VRRPInstance) {
			want := []Track{{Name: "eth1"}, {Name: "eth2", Weight: -10, Reverse: true}, {Name: "eth3", Weight: 253}}
			if len(v.TrackInterfaces) != 3 {
				t.Fatalf("got %d", len(v.TrackInterfaces))
			}
			for i, w := range want {
				g := v.TrackInterfaces[i]
				if g.Name != w.Name || g.Weight != w.Weight || g.Reverse != w.Reverse {
					t.Errorf("track %d = %+v, want %+v", i, g, w)
				}
			}
		}},
		{name: "track_interface bad option", body: "track_interface {\neth3 foo\n}", errSub: "unknown option \"foo\""},
		{name: "track_interface weight range", body: "track_interface {\neth3 weight 300\n}", errSub: "out of range"},
		{name: "track_interface noreverse", body: "track_interface {\neth3 weight 3 noreverse\n}", errSub: "unknown weight option"},
		{name: "track_interface own", body: "track_interface {\neth0\neth1\n}", warnSub: "own interface", check: func(t *testing.T, v *VRRPInstance) {
			if len(v.TrackInterfaces) != 1 || v.TrackInterfaces[0].Name != "eth1" {
				t.Errorf("got %+v", v.TrackInterfaces)
			}
		}},
		{name: "track_interface duplicate", body: "track_interface {\neth1\neth1\n}", warnSub: "listed twice"},
		{name: "track_interface weight missing", body: "track_interface {\neth1 weight\n}", errSub: "weight needs a value"},
		{name: "track_process accepted", body: "track_process {\nhaproxy\n}", warnSub: "not implemented"},
		{name: "track_bfd accepted", body: "track_bfd {\nb1\n}", warnSub: "not implemented"},
		{name: "dont_track_primary track_src_ip", body: "dont_track_primary\nmcast_src_ip 198.18.0.2\ntrack_src_ip", check: func(t *testing.T, v *VRRPInstance) {
			if !v.DontTrackPrimary || !v.TrackSrcIP || v.McastSrcIP != netip.MustParseAddr("198.18.0.2") {
				t.Errorf("got %+v", v)
			}
		}},
		{name: "track_src_ip without source", body: "track_src_ip", warnSub: "no effect"},
		{name: "mcast_src_ip family", body: "mcast_src_ip 2001:db8::2", errSub: "is IPv6 but the instance is IPv4"},
		{name: "mcast_dst_ip", body: "mcast_dst_ip 224.0.0.19", check: func(t *testing.T, v *VRRPInstance) {
			if v.McastDstIP != netip.MustParseAddr("224.0.0.19") {
				t.Errorf("got %v", v.McastDstIP)
			}
		}},
		{name: "mcast_dst_ip unicast", body: "mcast_dst_ip 198.18.0.5", errSub: "not a multicast"},
		{name: "mcast_dst_ip bad", body: "mcast_dst_ip 224.0.0", errSub: "not an IP address"},
		{name: "unicast", body: "unicast_src_ip 198.18.0.10\nunicast_peer {\n198.18.0.11\n198.18.0.12 min_ttl 2 max_ttl 9\n}\nunicast_ttl 5\nunicast_fault_no_peer", check: func(t *testing.T, v *VRRPInstance) {
			if v.UnicastSrcIP != netip.MustParseAddr("198.18.0.10") || len(v.UnicastPeers) != 2 || *v.UnicastTTL != 5 || !v.UnicastFaultNoPeer {
				t.Fatalf("got %+v", v)
			}
			p := v.UnicastPeers[1]
			if p.MinTTL != 2 || p.MaxTTL != 9 || v.CheckUnicastSrc == nil || !*v.CheckUnicastSrc {
				t.Errorf("peer %+v check %v", p, v.CheckUnicastSrc)
			}
			if q := v.UnicastPeers[0]; q.MinTTL != 0 || q.MaxTTL != 255 {
				t.Errorf("peer defaults %+v", q)
			}
		}},
		{name: "empty unicast_peer", body: "unicast_src_ip 198.18.0.10\nunicast_peer {\n}", errSub: "unicast_peer block is empty"},
		{name: "unicast_peer without block", body: "unicast_peer 198.18.0.2", errSub: "needs a { } block"},
		{name: "unicast_peer bad", body: "unicast_peer {\npeer-b.example\n}", errSub: "peer-b.example"},
		{name: "unicast_peer family", body: "unicast_src_ip 198.18.0.10\nunicast_peer {\n2001:db8::1\n}", errSub: "is IPv6 but the instance is IPv4"},
		{name: "unicast_peer option", body: "unicast_peer {\n198.18.0.2 ttl 3\n}", errSub: "unknown option \"ttl\""},
		{name: "unicast_peer option value", body: "unicast_peer {\n198.18.0.2 min_ttl\n}", errSub: "needs a value"},
		{name: "unicast_peer min > max", body: "unicast_peer {\n198.18.0.2 min_ttl 9 max_ttl 2\n}", errSub: "min_ttl 9 > max_ttl 2"},
		{name: "unicast_peer twice", body: "unicast_peer {\n198.18.0.2\n198.18.0.2\n}", warnSub: "listed twice"},
		{name: "unicast_src_ip without peers", body: "unicast_src_ip 198.18.0.10", warnSub: "sends multicast"},
		{name: "unicast_fault_no_peer alone", body: "unicast_fault_no_peer", warnSub: "stays in FAULT"},
		{name: "unicast_ttl without peers", body: "unicast_ttl 4", warnSub: "unicast_ttl without unicast peers", check: func(t *testing.T, v *VRRPInstance) {
			if v.UnicastTTL != nil {
				t.Error("kept")
			}
		}},
		{name: "check_unicast_src", body: "check_unicast_src\nunicast_peer {\n198.18.0.2\n}", check: func(t *testing.T, v *VRRPInstance) {
			if v.CheckUnicastSrc == nil || !*v.CheckUnicastSrc {
				t.Error("not set")
			}
		}},
		{name: "use_vmac", body: "use_vmac vrrp.51 02:00:00:00:00\nuse_vmac_addr\nvmac_xmit_base", check: func(t *testing.T, v *VRRPInstance) {
			if v.UseVMAC == nil || v.UseVMAC.Name != "vrrp.51" || v.UseVMAC.MAC != "02:00:00:00:00" || !v.UseVMACAddr || !v.VMACXmitBase {
				t.Errorf("got %+v %+v", v.UseVMAC, v)
			}
		}},
		{name: "use_vmac bare", body: "use_vmac", check: func(t *testing.T, v *VRRPInstance) {
			if v.UseVMAC == nil || v.UseVMAC.Name != "" {
				t.Errorf("got %+v", v.UseVMAC)
			}
		}},
		{name: "use_vmac multicast mac", body: "use_vmac 01:00:00:00:00:01", errSub: "invalid MAC"},
		{name: "use_vmac vrrp mac", body: "use_vmac 00:00:5e:00:01:05", errSub: "invalid MAC"},
		{name: "use_vmac unicast sets xmit_base", body: "use_vmac\nunicast_peer {\n198.18.0.2\n}", warnSub: "needs vmac_xmit_base", check: func(t *testing.T, v *VRRPInstance) {
			if !v.VMACXmitBase {
				t.Error("not set")
			}
		}},
		{name: "vmac_xmit_base alone", body: "vmac_xmit_base", warnSub: "only with use_vmac"},
		{name: "promote_secondaries with vmac", body: "use_vmac\npromote_secondaries", warnSub: "automatic with use_vmac"},
		{name: "garp_extra_if", body: "garp_extra_if all 30", check: func(t *testing.T, v *VRRPInstance) {
			if v.GarpExtraIf == nil || !v.GarpExtraIf.All || v.GarpExtraIf.Interval != vrrpSec(30) {
				t.Errorf("got %+v", v.GarpExtraIf)
			}
		}},
		{name: "vmac_garp_intvl", body: "vmac_garp_intvl 5", warnSub: "deprecated", check: func(t *testing.T, v *VRRPInstance) {
			if v.GarpExtraIf.Interval != vrrpSec(5) {
				t.Errorf("got %+v", v.GarpExtraIf)
			}
		}},
		{name: "garp_extra_if no time", body: "garp_extra_if all", errSub: "no interval"},
		{name: "use_ipvlan accepted", body: "use_ipvlan ipvl0 198.18.0.7", warnSub: "not implemented"},
		{name: "nopreempt preempt_delay", body: "nopreempt\npreempt_delay 2.5", warnSub: "incompatible with nopreempt", check: func(t *testing.T, v *VRRPInstance) {
			if !v.Nopreempt || v.PreemptDelay != 0 {
				t.Errorf("got %v %v", v.Nopreempt, v.PreemptDelay)
			}
		}},
		{name: "preempt_delay", body: "preempt_delay 4.12", check: func(t *testing.T, v *VRRPInstance) {
			if v.PreemptDelay != vrrpSec(4.12) {
				t.Errorf("got %v", v.PreemptDelay)
			}
		}},
		{name: "preempt_delay range", body: "preempt_delay 1001", errSub: "preempt_delay"},
		{name: "preempt cancels nopreempt", body: "nopreempt\npreempt", check: func(t *testing.T, v *VRRPInstance) {
			if v.Nopreempt {
				t.Error("still nopreempt")
			}
		}},
		{name: "accept", body: "accept", check: func(t *testing.T, v *VRRPInstance) {
			if v.Accept == nil || !*v.Accept {
				t.Error("not set")
			}
		}},
		{name: "no_accept", body: "no_accept", check: func(t *testing.T, v *VRRPInstance) {
			if v.Accept == nil || *v.Accept {
				t.Error("not set")
			}
		}},
		{name: "optional booleans", body: "strict_mode off\nskip_check_adv_addr\nlower_prio_no_advert false\nhigher_prio_send_advert on\nnotify_priority_changes yes\nsmtp_alert no", check: func(t *testing.T, v *VRRPInstance) {
			if *v.StrictMode || !*v.SkipCheckAdvAddr || *v.LowerPrioNoAdvert || !*v.HigherPrioSendAdvert || !*v.NotifyPriorityChanges || *v.SMTPAlert {
				t.Errorf("got %+v", v)
			}
		}},
		{name: "optional boolean bad", body: "smtp_alert maybe", errSub: "not a boolean"},
		{name: "garp settings", body: "garp_master_delay 10\ngarp_master_repeat 3\ngarp_master_refresh 60\ngarp_master_refresh_repeat 2\ngarp_lower_prio_delay 4\ngarp_lower_prio_repeat 0", check: func(t *testing.T, v *VRRPInstance) {
			if *v.GarpMasterDelay != vrrpSec(10) || *v.GarpMasterRepeat != 3 || *v.GarpMasterRefresh != vrrpSec(60) ||
				*v.GarpMasterRefreshRepeat != 2 || *v.GarpLowerPrioDelay != vrrpSec(4) || *v.GarpLowerPrioRepeat != 0 {
				t.Errorf("got %+v", v)
			}
		}},
		{name: "garp_master_repeat 0", body: "garp_master_repeat 0", warnSub: "greater than 0", check: func(t *testing.T, v *VRRPInstance) {
			if *v.GarpMasterRepeat != 1 {
				t.Errorf("got %d", *v.GarpMasterRepeat)
			}
		}},
		{name: "garp_master_delay fraction", body: "garp_master_delay 2.5", errSub: "not a number"},
		{name: "down_timer_adverts", body: "down_timer_adverts 5", check: func(t *testing.T, v *VRRPInstance) {
			if v.DownTimerAdverts != 5 {
				t.Errorf("got %d", v.DownTimerAdverts)
			}
		}},
		{name: "down_timer_adverts 0", body: "down_timer_adverts 0", errSub: "out of range"},
		{name: "v3_checksum_as_v2", body: "v3_checksum_as_v2", check: func(t *testing.T, v *VRRPInstance) {
			if !v.V3ChecksumAsV2 {
				t.Error("not set")
			}
		}},
		{name: "notify scripts", body: "notify_master /bin/m.sh\nnotify_backup \"/bin/b.sh arg 'two words'\" root wheel\nnotify_fault /bin/f.sh\nnotify_stop /bin/s.sh\nnotify /bin/n.sh\nnotify_master_rx_lower_pri /bin/l.sh\nnotify_deleted", check: func(t *testing.T, v *VRRPInstance) {
			if v.NotifyMaster.Command != "/bin/m.sh" || !reflect.DeepEqual(v.NotifyBackup.Args, []string{"/bin/b.sh", "arg", "two words"}) ||
				v.NotifyBackup.User != "root" || v.NotifyBackup.Group != "wheel" || v.NotifyFault == nil || v.NotifyStop == nil ||
				v.Notify == nil || v.NotifyMasterRxLowerPri == nil || !v.NotifyDeleted || v.NotifyDeletedScript != nil {
				t.Errorf("got %+v", v)
			}
		}},
		{name: "notify unquoted argument is the user", body: "notify_master /bin/m.sh root", check: func(t *testing.T, v *VRRPInstance) {
			if len(v.NotifyMaster.Args) != 1 || v.NotifyMaster.User != "root" {
				t.Errorf("got %+v", v.NotifyMaster)
			}
		}},
		{name: "notify too many words", body: "notify_master /bin/m.sh a b c", errSub: "at most 3 arguments"},
		{name: "notify first wins", body: "notify_master /bin/a.sh\nnotify_master /bin/b.sh", warnSub: "already set", check: func(t *testing.T, v *VRRPInstance) {
			if v.NotifyMaster.Command != "/bin/a.sh" {
				t.Errorf("got %+v", v.NotifyMaster)
			}
		}},
		{name: "notify_deleted script", body: "notify_deleted \"/bin/d.sh x\"", check: func(t *testing.T, v *VRRPInstance) {
			if !v.NotifyDeleted || v.NotifyDeletedScript == nil || len(v.NotifyDeletedScript.Args) != 2 {
				t.Errorf("got %+v", v.NotifyDeletedScript)
			}
		}},
		{name: "notify empty quoted", body: "notify_master \"\"", errSub: "empty command"},
		{name: "kernel_rx_buf_size", body: "kernel_rx_buf_size 65536", check: func(t *testing.T, v *VRRPInstance) {
			if *v.KernelRxBufSize != 65536 {
				t.Errorf("got %d", *v.KernelRxBufSize)
			}
		}},
		{name: "linkbeat_use_polling", body: "linkbeat_use_polling", check: func(t *testing.T, v *VRRPInstance) {
			if !v.LinkbeatUsePolling {
				t.Error("not set")
			}
		}},
		{name: "debug accepted", body: "debug 2", warnSub: "not implemented"},
		{name: "lvs_sync_daemon_interface accepted", body: "lvs_sync_daemon_interface eth1", warnSub: "not implemented"},
		{name: "unknown keyword", body: "prority 100", warnSub: "unknown keyword"},
		{name: "vrrp_instance without name", body: "", check: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ds := vrrpLoad(t, vrrpMinimal(tt.body))
			vrrpExpect(t, ds, tt.errSub, tt.warnSub)
			if tt.check != nil && len(cfg.Instances) == 1 {
				tt.check(t, cfg.Instances[0])
			}
		})
	}
}

func TestVRRPIPv6Instance(t *testing.T) {
	src := "vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  fe80::10\n  2001:db8::10/64\n }\n}\n"
	cfg, ds := vrrpLoad(t, src)
	vrrpExpect(t, ds, "", "")
	v := cfg.Instances[0]
	if v.Version != 3 || v.family() != 6 {
		t.Errorf("version %d family %d", v.Version, v.family())
	}

	// Not link-local first: RFC 5798 asks for it (keepalived 2.2.7 says nothing).
	_, ds = vrrpLoad(t, "vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  2001:db8::10/64\n }\n}\n")
	vrrpExpect(t, ds, "", "is not link-local")

	// version 2 written before the IPv6 VIP: keepalived runs non-standard VRRPv2.
	cfg, ds = vrrpLoad(t, "vrrp_instance V6 {\n interface eth0\n version 2\n virtual_router_id 7\n virtual_ipaddress {\n  fe80::10\n }\n}\n")
	vrrpExpect(t, ds, "", "non-standard VRRPv2")
	if cfg.Instances[0].Version != 2 {
		t.Errorf("version %d", cfg.Instances[0].Version)
	}
	// version 2 after the IPv6 VIP: keepalived ignores it.
	cfg, ds = vrrpLoad(t, "vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  fe80::10\n }\n version 2\n}\n")
	vrrpExpect(t, ds, "", "runs vrrp_instance V6 as version 3")
	if cfg.Instances[0].Version != 3 {
		t.Errorf("version %d", cfg.Instances[0].Version)
	}

	// native_ipv6 makes an address-less instance IPv6 (and needs VIPs as v3).
	_, ds = vrrpLoad(t, "vrrp_instance N {\n interface eth0\n virtual_router_id 7\n native_ipv6\n}\n")
	vrrpExpect(t, ds, "no virtual_ipaddress", "")
	_, ds = vrrpLoad(t, vrrpMinimal("native_ipv6"))
	vrrpExpect(t, ds, "native_ipv6 given for an IPv4 instance", "")

	// The first address statement fixes the family.
	_, ds = vrrpLoad(t, vrrpBare("interface eth0\nvirtual_router_id 1\nunicast_src_ip 2001:db8::10\nvirtual_ipaddress {\n192.0.2.100\n}"))
	vrrpExpect(t, ds, "set by unicast_src_ip at line 4", "")

	// AH does not work over IPv6.
	_, ds = vrrpLoad(t, "vrrp_instance V6 {\n interface eth0\n version 2\n virtual_router_id 7\n virtual_ipaddress {\n  fe80::10\n }\n authentication {\n auth_type AH\n auth_pass x\n }\n}\n")
	vrrpExpect(t, ds, "AH authentication does not work with IPv6", "")
}

func TestVRRPValidation(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		errSub  string
		warnSub string
	}{
		{name: "no interface", src: vrrpBare("virtual_router_id 1\nvirtual_ipaddress {\n198.18.0.1\n}"), errSub: "has no interface"},
		{name: "no interface even with unicast", src: vrrpBare("virtual_router_id 1\nunicast_peer {\n198.18.0.2\n}\nvirtual_ipaddress {\n198.18.0.1\n}"), errSub: "has no interface"},
		{name: "no vrid", src: vrrpBare("interface eth0\nvirtual_ipaddress {\n198.18.0.1\n}"), errSub: "has no virtual_router_id"},
		{name: "no vip v2", src: vrrpBare("interface eth0\nvirtual_router_id 1"), warnSub: "has no virtual_ipaddress"},
		{name: "no vip v2 allowed", src: vrrpBare("interface eth0\nvirtual_router_id 1\nno_virtual_ipaddress")},
		{name: "no vip v3", src: vrrpBare("interface eth0\nvirtual_router_id 1\nversion 3"), errSub: "has no virtual_ipaddress"},
		{name: "no vip strict", src: vrrpBare("interface eth0\nvirtual_router_id 1\nstrict_mode"), errSub: "has no virtual_ipaddress"},
		{name: "duplicate name", src: vrrpMinimal("") + vrrpMinimal(""), errSub: "already defined"},
		{name: "duplicate vrid", src: vrrpMinimal("") + "vrrp_instance VI_2 {\ninterface eth0\nvirtual_router_id 51\nvirtual_ipaddress {\n198.18.0.2\n}\n}\n",
			errSub: "both use VRID 51 with IPv4 on interface eth0"},
		{name: "same vrid other family", src: vrrpMinimal("") + "vrrp_instance VI_2 {\ninterface eth0\nvirtual_router_id 51\nvirtual_ipaddress {\nfe80::2\n}\n}\n"},
		{name: "same vrid other interface", src: vrrpMinimal("") + "vrrp_instance VI_2 {\ninterface eth1\nvirtual_router_id 51\nvirtual_ipaddress {\n198.18.0.2\n}\n}\n"},
		{name: "same vrid other mcast group", src: vrrpMinimal("") + "vrrp_instance VI_2 {\ninterface eth0\nvirtual_router_id 51\nmcast_dst_ip 224.0.0.19\nvirtual_ipaddress {\n198.18.0.2\n}\n}\n"},
		{name: "same vrid unicast distinct peers", src: vrrpMinimal("unicast_peer {\n198.18.0.11\n}") + "vrrp_instance VI_2 {\ninterface eth0\nvirtual_router_id 51\nunicast_peer {\n198.18.0.12\n}\nvirtual_ipaddress {\n198.18.0.2\n}\n}\n"},
		{name: "same vrid unicast shared peer", src: vrrpMinimal("unicast_peer {\n198.18.0.11\n}") + "vrrp_instance VI_2 {\ninterface eth0\nvirtual_router_id 51\nunicast_peer {\n198.18.0.11\n}\nvirtual_ipaddress {\n198.18.0.2\n}\n}\n",
			errSub: "both use VRID 51"},
		{name: "priority 255 nopreempt", src: vrrpMinimal("priority 255\nnopreempt"), warnSub: "address owner"},
		{name: "nopreempt master", src: vrrpMinimal("state MASTER\npriority 150\nnopreempt"), warnSub: "nopreempt does not work with initial state MASTER"},
		{name: "preempt_delay master", src: vrrpMinimal("state MASTER\npriority 150\npreempt_delay 3"), warnSub: "preempt_delay does not work with initial state MASTER"},
		{name: "master below 255 is fine", src: vrrpMinimal("state MASTER\npriority 150")},
		{name: "master without priority is owner", src: vrrpMinimal("state MASTER"), warnSub: "address owner (priority 255)"},
		{name: "strict state owner", src: vrrpMinimal("strict_mode\nstate MASTER\npriority 100"), warnSub: "MASTER exactly for the address owner"},
		{name: "strict unicast", src: vrrpMinimal("strict_mode\nunicast_peer {\n198.18.0.2\n}"), warnSub: "strict mode does not allow unicast peers"},
		{name: "strict preempt_delay", src: vrrpMinimal("strict_mode\npreempt_delay 5"), warnSub: "incompatible with strict mode"},
		{name: "strict garp", src: vrrpMinimal("strict_mode\ngarp_lower_prio_repeat 3\ngarp_lower_prio_delay 2\nlower_prio_no_advert off\nhigher_prio_send_advert\nuse_vmac\nvmac_xmit_base"),
			warnSub: "strict mode sends no repeat"},
		{name: "strict accept v2", src: vrrpMinimal("strict_mode\naccept"), warnSub: "RFC 3768"},
		{name: "undefined track script", src: vrrpMinimal("track_script {\nchk_nothing\n}"), errSub: "vrrp_script chk_nothing is not defined"},
		{name: "undefined track file", src: vrrpMinimal("track_file {\nnofile\n}"), errSub: "track_file nofile is not defined"},
		{name: "script without command", src: "vrrp_script chk {\ninterval 2\n}\n" + vrrpMinimal("track_script {\nchk\n}"), errSub: "has no script line"},
		{name: "unused script without command", src: "vrrp_script chk {\ninterval 2\n}\n" + vrrpMinimal(""), warnSub: "has no script"},
		{name: "unused script", src: "vrrp_script chk {\nscript /bin/true\n}\n" + vrrpMinimal(""), warnSub: "is not used"},
		{name: "track file without file", src: "track_file f {\nweight 2\n}\n" + vrrpMinimal("track_file {\nf\n}"), errSub: "has no file line"},
		{name: "sync group unknown member", src: "vrrp_sync_group G {\ngroup {\nVI_1\nVI_MISSING\n}\n}\n" + vrrpMinimal(""), errSub: "member VI_MISSING is not a vrrp_instance"},
		{name: "sync group one member", src: "vrrp_sync_group G {\ngroup {\nVI_1\n}\n}\n" + vrrpMinimal(""), warnSub: "only one member"},
		{name: "sync group no members", src: "vrrp_sync_group G {\nnotify /bin/true\n}\n" + vrrpMinimal(""), warnSub: "has no members"},
		{name: "sync group empty group", src: "vrrp_sync_group G {\ngroup {\n}\n}\n" + vrrpMinimal(""), warnSub: "empty group block"},
		{name: "instance in two groups", src: "vrrp_sync_group G {\ngroup {\nVI_1\n}\n}\nvrrp_sync_group H {\ngroup {\nVI_1\n}\n}\n" + vrrpMinimal(""),
			errSub: "already in vrrp_sync_group G"},
		{name: "sync group member twice", src: "vrrp_sync_group G {\ngroup {\nVI_1 VI_1\n}\n}\n" + vrrpMinimal(""), warnSub: "lists VI_1 twice"},
		{name: "sync group second group block", src: "vrrp_sync_group G {\ngroup {\nVI_1\n}\ngroup {\nVI_1\n}\n}\n" + vrrpMinimal(""), errSub: "group is already given"},
		{name: "sync group duplicate name", src: "vrrp_sync_group G {\ngroup {\nVI_1\n}\n}\nvrrp_sync_group G {\ngroup {\nVI_1\n}\n}\n" + vrrpMinimal(""), errSub: "already defined"},
		{name: "sync group undefined script", src: "vrrp_sync_group G {\ngroup {\nVI_1\n}\ntrack_script {\nnope\n}\n}\n" + vrrpMinimal(""), errSub: "vrrp_script nope is not defined"},
		{name: "sync group global_tracking", src: "vrrp_sync_group G {\ngroup {\nVI_1\n}\nglobal_tracking\n}\n" + vrrpMinimal(""), warnSub: "global_tracking is deprecated"},
		{name: "instance name missing", src: "vrrp_instance {\ninterface eth0\n}\n", errSub: "needs 1 argument"},
		{name: "instance two names", src: "vrrp_instance A B {\ninterface eth0\n}\n", errSub: "at most 1 argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := vrrpLoad(t, tt.src)
			vrrpExpect(t, ds, tt.errSub, tt.warnSub)
		})
	}
}

func TestVRRPTrackResolution(t *testing.T) {
	src := `
vrrp_script chk_a {
    script "/usr/bin/killall -0 haproxy"
    interval 2
    weight -20 reverse
    rise 3
    fall 2
    user nobody nogroup
    init_fail
}
vrrp_script chk_b {
    script /bin/true
    timeout 5
}
track_file tf {
    file "/run/prio"
    weight -2 reverse
    init_file 7 overwrite
}
vrrp_track_file old {
    file /run/old
}
` + vrrpMinimal(`track_script {
    chk_a
    chk_b weight 10 noreverse
}
track_file {
    tf
    old weight 3 reverse
}`)
	cfg, ds := vrrpLoad(t, src)
	vrrpExpect(t, ds, "", "vrrp_track_file is deprecated")
	a := cfg.Scripts[0]
	if a.Name != "chk_a" || !reflect.DeepEqual(a.Script.Args, []string{"/usr/bin/killall", "-0", "haproxy"}) || a.Interval != vrrpSec(2) ||
		a.Timeout != vrrpSec(2) || a.Weight != -20 || !a.Reverse || a.Rise != 3 || a.Fall != 2 || a.User != "nobody" || a.Group != "nogroup" || !a.InitFail {
		t.Errorf("chk_a %+v", a)
	}
	b := cfg.Scripts[1]
	if b.Interval != vrrpSec(1) || b.Timeout != vrrpSec(5) || b.Weight != 0 || b.Rise != 1 || b.Fall != 1 {
		t.Errorf("chk_b %+v", b)
	}
	f := cfg.TrackFiles[0]
	if f.File != "/run/prio" || f.Weight != -2 || !f.Reverse || f.InitFile == nil || f.InitFile.Value != 7 || !f.InitFile.Overwrite {
		t.Errorf("tf %+v", f)
	}
	if o := cfg.TrackFiles[1]; o.Name != "old" || o.Weight != 1 {
		t.Errorf("old %+v", o)
	}
	v := cfg.Instances[0]
	if len(v.TrackScripts) != 2 || v.TrackScripts[0].Weight != -20 || !v.TrackScripts[0].Reverse || v.TrackScripts[1].Weight != 10 || v.TrackScripts[1].Reverse {
		t.Errorf("track scripts %+v %+v", v.TrackScripts[0], v.TrackScripts[1])
	}
	if len(v.TrackFiles) != 2 || v.TrackFiles[0].Weight != -2 || !v.TrackFiles[0].Reverse || v.TrackFiles[1].Weight != 3 {
		t.Errorf("track files %+v", v.TrackFiles)
	}
}

func TestVRRPScriptBlock(t *testing.T) {
	tests := []struct {
		name, body      string
		errSub, warnSub string
		check           func(t *testing.T, s *VRRPScript)
	}{
		{name: "unquoted words ignored", body: "script /usr/bin/killall -0 haproxy", warnSub: "keepalived runs only", check: func(t *testing.T, s *VRRPScript) {
			if !reflect.DeepEqual(s.Script.Args, []string{"/usr/bin/killall"}) {
				t.Errorf("args %q", s.Script.Args)
			}
		}},
		{name: "interval fraction", body: "script /bin/true\ninterval 1.5", errSub: "not a number"},
		{name: "interval 0", body: "script /bin/true\ninterval 0", warnSub: "greater than 0", check: func(t *testing.T, s *VRRPScript) {
			if s.Interval != vrrpSec(1) {
				t.Errorf("interval %v", s.Interval)
			}
		}},
		{name: "timeout 0", body: "script /bin/true\ntimeout 0", warnSub: "greater than 0"},
		{name: "weight range", body: "script /bin/true\nweight 300", errSub: "out of range"},
		{name: "weight option", body: "script /bin/true\nweight 3 sideways", errSub: "unknown option"},
		{name: "rise 0", body: "script /bin/true\nrise 0", errSub: "out of range"},
		{name: "fall word", body: "script /bin/true\nfall many", errSub: "not a number"},
		{name: "user too many", body: "script /bin/true\nuser a b c", errSub: "at most 2 arguments"},
		{name: "init_fail argument", body: "script /bin/true\ninit_fail yes", errSub: "takes no arguments"},
		{name: "duplicate", body: "script /bin/true\n}\nvrrp_script chk {\nscript /bin/false", errSub: "already defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, ds := vrrpLoad(t, "vrrp_script chk {\n"+tt.body+"\n}\n"+vrrpMinimal("track_script {\nchk\n}"))
			vrrpExpect(t, ds, tt.errSub, tt.warnSub)
			if tt.check != nil {
				tt.check(t, cfg.Scripts[0])
			}
		})
	}
}

func TestVRRPTrackFileBlock(t *testing.T) {
	tests := []struct {
		name, body      string
		errSub, warnSub string
	}{
		{name: "weight range", body: "file /x\nweight 255", errSub: "out of range"},
		{name: "weight twice", body: "file /x\nweight 2\nweight 3", warnSub: "weight is already set"},
		{name: "file twice", body: "file /x\nfile /y", warnSub: "file is already set"},
		{name: "init_file odd value", body: "file /x\ninit_file 300", warnSub: "outside the sensible range"},
		{name: "init_file option", body: "file /x\ninit_file always", errSub: "unknown option"},
		{name: "weight reverse", body: "file /x\nweight 4 reverse"},
		{name: "weight bad option", body: "file /x\nweight 4 back", errSub: "unknown option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := vrrpLoad(t, "track_file tf {\n"+tt.body+"\n}\n"+vrrpMinimal("track_file {\ntf\n}"))
			vrrpExpect(t, ds, tt.errSub, tt.warnSub)
		})
	}
}

func TestVRRPSyncGroup(t *testing.T) {
	src := `
vrrp_script chk {
    script /bin/true
    weight 5
}
vrrp_sync_group VG_1 {
    group {
        VI_1
        VI_2
    }
    notify_master "/bin/m.sh VG_1"
    notify_backup /bin/b.sh
    notify_fault /bin/f.sh
    notify_stop /bin/s.sh
    notify /bin/n.sh
    smtp_alert
    notify_priority_changes off
    track_interface {
        eth3 weight 4
    }
    track_script {
        chk
    }
    track_process {
        p
    }
}
` + vrrpMinimal("track_interface {\neth2 weight 7\n}\ntrack_script {\nchk weight 3\n}") +
		"vrrp_instance VI_2 {\ninterface eth1\nvirtual_router_id 52\nvirtual_ipaddress {\n198.18.1.1\n}\n}\n"
	cfg, ds := vrrpLoad(t, src)
	vrrpExpect(t, ds, "", "weight of track_interface eth2 is ignored")
	g := cfg.SyncGroups[0]
	if g.Name != "VG_1" || !reflect.DeepEqual(g.Group, []string{"VI_1", "VI_2"}) || g.NotifyMaster == nil || g.NotifyBackup == nil ||
		g.NotifyFault == nil || g.NotifyStop == nil || g.Notify == nil || g.SMTPAlert == nil || !*g.SMTPAlert ||
		g.NotifyPriorityChanges == nil || *g.NotifyPriorityChanges || len(g.TrackInterfaces) != 1 || len(g.TrackScripts) != 1 || g.TrackScripts[0].Weight != 5 {
		t.Errorf("group %+v", g)
	}
	v := cfg.Instances[0]
	if len(v.TrackInterfaces) != 1 || v.TrackInterfaces[0].Weight != 0 {
		t.Errorf("instance interface weights must be zeroed in a sync group: %+v", v.TrackInterfaces)
	}
	if len(v.TrackScripts) != 0 {
		t.Errorf("weighted scripts are dropped in a sync group: %+v", v.TrackScripts)
	}
	if !vrrpHasDiag(ds.Warnings(), "track_process is not implemented") {
		t.Errorf("no warning for track_process:\n%s", ds.Error())
	}

	// sync_group_tracking_weight keeps the weights.
	cfg, ds = vrrpLoad(t, strings.Replace(src, "smtp_alert\n", "smtp_alert\nsync_group_tracking_weight\n", 1))
	vrrpExpect(t, ds, "", "")
	if v := cfg.Instances[0]; v.TrackInterfaces[0].Weight != 7 || len(v.TrackScripts) != 1 {
		t.Errorf("weights lost: %+v %+v", v.TrackInterfaces, v.TrackScripts)
	}

	// Address owners do not use weighted trackers either.
	cfg, ds = vrrpLoad(t, "vrrp_script chk {\nscript /bin/true\n}\ntrack_file tf {\nfile /x\n}\n"+
		vrrpMinimal("priority 255\ntrack_interface {\neth2 weight 7\neth3\n}\ntrack_script {\nchk weight 3\n}\ntrack_file {\ntf\n}"))
	vrrpExpect(t, ds, "", "address owner")
	v = cfg.Instances[0]
	if len(v.TrackInterfaces) != 1 || v.TrackInterfaces[0].Name != "eth3" || len(v.TrackScripts) != 0 || len(v.TrackFiles) != 1 || v.TrackFiles[0].Weight != 0 {
		t.Errorf("owner trackers: %+v %+v %+v", v.TrackInterfaces, v.TrackScripts, v.TrackFiles)
	}
}

func TestVRRPStaticBlocks(t *testing.T) {
	cfg, ds := vrrpLoad(t, `
static_ipaddress {
    198.18.0.5/24 dev eth0 scope global
}
static_routes {
    198.19.0.0/16 via 198.18.0.1 dev eth0
}
static_rules {
    from 198.18.0.0/24 table 100 priority 100
}
static_ipaddress {
    198.18.0.6/24 dev eth0
}
`)
	vrrpExpect(t, ds, "", "")
	if len(cfg.StaticAddresses) != 2 || len(cfg.StaticRoutes) != 1 || len(cfg.StaticRules) != 1 {
		t.Fatalf("got %d %d %d", len(cfg.StaticAddresses), len(cfg.StaticRoutes), len(cfg.StaticRules))
	}
	_, ds = vrrpLoad(t, "static_ipaddress eth0 {\n198.18.0.5\n}\n")
	vrrpExpect(t, ds, "takes no arguments", "")
	_, ds = vrrpLoad(t, "static_routes\n")
	vrrpExpect(t, ds, "needs a { } block", "")
}

func TestVRRPAcceptedTopLevel(t *testing.T) {
	for _, src := range []string{
		"vrrp_track_process p {\nprocess haproxy\nweight 10\nquorum 1\n}\n",
		"track_group TG {\ngroup {\nVI_1\n}\n}\n",
		"garp_group {\ngarp_interval 0.1\ninterface eth0\n}\n",
		"linkbeat_interfaces {\neth0 MII\n}\n",
		"interface_up_down_delays {\neth0 1 2\n}\n",
	} {
		_, ds := vrrpLoad(t, src)
		vrrpExpect(t, ds, "", "not implemented")
	}
}

func TestVRRPInterfaceExists(t *testing.T) {
	src := "static_ipaddress {\n198.18.0.5 dev eth9\n}\n" + vrrpMinimal("track_interface {\neth8\n}\nvirtual_routes {\n198.19.0.0/16 dev eth7\n}")
	opts := Options{InterfaceExists: func(name string) bool { return name == "eth0" }}
	_, ds := Parse("test.conf", []byte(src), opts)
	vrrpExpect(t, ds, "", "")
	for _, name := range []string{"eth9", "eth8", "eth7"} {
		if !vrrpHasDiag(ds.Warnings(), "interface "+name+" does not exist") {
			t.Errorf("no warning for %s:\n%s", name, ds.Error())
		}
	}
	if vrrpHasDiag(ds, "interface eth0 does not exist") {
		t.Errorf("warned about an existing interface")
	}
	// Without the callback nothing is checked.
	_, ds = vrrpLoad(t, src)
	if vrrpHasDiag(ds, "does not exist") {
		t.Errorf("checked interfaces without InterfaceExists:\n%s", ds.Error())
	}
}

// TestVRRPGlobalDefaults pins the global_defs fields the instance
// defaults are read from (by name, see vrrpGlobalInt).
func TestVRRPGlobalDefaults(t *testing.T) {
	g := reflect.TypeOf(GlobalDefs{})
	for _, f := range []string{"VRRPVersion", "VRRPStrict"} {
		if _, ok := g.FieldByName(f); !ok {
			t.Errorf("GlobalDefs has no field %s; update vrrp_validate.go", f)
		}
	}
	cfg, ds := vrrpLoad(t, "global_defs {\nvrrp_version 3\n}\n"+vrrpMinimal(""))
	vrrpExpect(t, ds, "", "")
	if cfg.Instances[0].Version != 3 {
		t.Errorf("version %d, want global vrrp_version 3", cfg.Instances[0].Version)
	}
	_, ds = vrrpLoad(t, "global_defs {\nvrrp_strict\n}\n"+vrrpMinimal("unicast_peer {\n198.18.0.2\n}"))
	vrrpExpect(t, ds, "", "strict mode does not allow unicast peers")
}

// TestVRRPJSON checks the dumped model shows what was written.
func TestVRRPJSON(t *testing.T) {
	cfg, ds := vrrpLoad(t, vrrpMinimal("state MASTER\npriority 150\nunicast_peer {\n198.18.0.2\n}\nvirtual_routes {\ndefault via 198.18.0.254\n}"))
	vrrpExpect(t, ds, "", "")
	b, err := json.Marshal(cfg.Instances[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"VI_1"`, `"state":"MASTER"`, `"priority":150`, `"advert_int":"1s"`, `"address":"198.18.0.1/24"`,
		`"unicast_peer":[{"address":"198.18.0.2","min_ttl":0,"max_ttl":255}]`, `"to":"0.0.0.0/0"`, `"via":"198.18.0.254"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"brd"`) || strings.Contains(string(b), `"Pos"`) {
		t.Errorf("JSON shows unset or internal fields:\n%s", b)
	}
}

// TestVRRPNoPanic feeds every VRRP keyword odd argument counts, with and
// without blocks: the reader must report, never panic.
func TestVRRPNoPanic(t *testing.T) {
	var blocks []*Block
	seen := map[*Block]bool{}
	var visit func(b *Block)
	visit = func(b *Block) {
		if seen[b] {
			return
		}
		seen[b] = true
		blocks = append(blocks, b)
		for _, k := range b.Keywords() {
			if k.Block != nil {
				visit(k.Block)
			}
		}
	}
	for _, k := range vrrpKeywords() {
		if k.Block != nil {
			visit(k.Block)
		}
	}
	args := []string{"", " x", " 1", " -1 2", " 198.18.0.1 dev", " \"\"", " weight", " 1 2 3 4 5"}
	wrap := map[string]func(string) string{
		"vrrp_instance":  func(s string) string { return vrrpBare(s) },
		"vrrp_script":    func(s string) string { return "vrrp_script s {\n" + s + "\n}\n" },
		"track_file":     func(s string) string { return "track_file f {\n" + s + "\n}\n" },
		"authentication": func(s string) string { return vrrpBare("authentication {\n" + s + "\n}") },
		"vrrp_sync_group": func(s string) string {
			return "vrrp_sync_group g {\n" + s + "\n}\n"
		},
	}
	for _, b := range blocks {
		w := wrap[b.Name]
		if b.Item != nil {
			w = func(s string) string {
				return vrrpBare(b.Name+" {\n"+s+"\n}") + "static_routes {\n" + s + "\n}\nstatic_rules {\n" + s + "\n}\n"
			}
		}
		if w == nil {
			continue
		}
		for _, k := range b.Keywords() {
			for _, a := range args {
				for _, tail := range []string{"", " {\n}", " {\n x y\n}", " {\n198.18.0.1 weight\n}"} {
					src := w(k.Name + a + tail)
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Fatalf("panic on %q: %v", src, r)
							}
						}()
						Parse("test.conf", []byte(src), Options{})
					}()
				}
			}
		}
		if b.Item != nil {
			for _, a := range args {
				src := w("1.2.3.4" + a)
				Parse("test.conf", []byte(src), Options{})
				src = w("from" + a)
				Parse("test.conf", []byte(src), Options{})
			}
		}
	}
}

// TestVRRPSharedConfigs loads the real configurations and keepalived's
// samples: none may have an error.
func TestVRRPSharedConfigs(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "testdata")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("shared test data not found at %s: %v", root, err)
	}
	var files []string
	for _, pattern := range []string{"keepalived-conf/*.conf", "keepalived-samples/keepalived.conf.*"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("found only %d files", len(files))
	}
	for _, f := range files {
		ids := []string{"vigil-test-no-id"}
		if strings.HasSuffix(f, "conditional_conf") {
			// Its first line asks for -i high or -i low; without one its
			// vrrp_script has no script line (an error, see agreement.txt).
			ids = []string{"high", "low"}
		}
		for _, id := range ids {
			t.Run(filepath.Base(f)+"@"+id, func(t *testing.T) {
				cfg, ds := Load(f, Options{ConfigID: id})
				if ds.HasErrors() {
					t.Fatalf("errors:\n%s", ds.Errors().Error())
				}
				for _, v := range cfg.Instances {
					if v.Interface == "" || v.VirtualRouterID == 0 {
						t.Errorf("instance %s incomplete: %+v", v.Name, v)
					}
				}
			})
		}
	}
}
