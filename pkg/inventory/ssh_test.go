package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// sshConfigText is the ssh_config of the precedence tests.
const sshConfigText = `# operator's config
Host 198.18.0.2? !198.18.0.29
    User fromconfig
    Port 2201
    IdentityFile %d/keys/%r-%h
    IdentityFile ~/keys/missing

Host 198.18.0.22
    User second-block-loses
    HostName 10.0.0.22

Host bastion
    HostName 198.18.0.2
    User jumper
    Port 2022

Host 198.18.0.23
    ProxyJump bastion,admin@198.18.0.3:2200

Host *
    User everyone
    UserKnownHostsFile ~/kh-from-config
`

// sshFixture writes the ssh_config and the keys it names.
func sshFixture(t *testing.T) (dir, home string) {
	dir = fixtureDir(t)
	home = t.TempDir()
	writeTestFile(t, filepath.Join(dir, "ssh_config"), sshConfigText, 0o600)
	for _, k := range []string{"fromconfig-198.18.0.21", "node-198.18.0.21", "fromconfig-10.0.0.22"} {
		writeTestFile(t, filepath.Join(home, "keys", k), "key", 0o600)
	}
	return dir, home
}

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// parseWithHome parses doc with HOME set to home.
func parseWithHome(t *testing.T, dir, home, doc string) (*Inventory, error) {
	env := func(k string) (string, bool) {
		if k == "HOME" {
			return home, true
		}
		return testEnv(k)
	}
	return Parse("inventory.toml", dir, []byte(doc), env, Options{CheckFiles: true})
}

func TestSSHConfigPrecedence(t *testing.T) {
	dir, home := sshFixture(t)
	tests := []struct {
		name     string
		ssh      string   // [ssh] keys
		nodeKeys []string // ssh_* keys of the node on host
		host     string
		want     remote.Config
	}{
		{
			name: "ssh_config only: first matching block wins, tokens and ~ expanded, missing keys skipped",
			host: "198.18.0.21",
			want: remote.Config{User: "fromconfig", Port: 2201, IdentityFiles: []string{home + "/keys/fromconfig-198.18.0.21"}},
		},
		{
			name: "HostName from a later block; User from the first",
			host: "198.18.0.22",
			want: remote.Config{User: "fromconfig", Port: 2201, HostName: "10.0.0.22", IdentityFiles: []string{home + "/keys/fromconfig-10.0.0.22"}},
		},
		{
			name: "negated pattern skips the block: Host * applies",
			host: "198.18.0.29",
			want: remote.Config{User: "everyone", Port: 22},
		},
		{
			name: "[ssh] beats ssh_config",
			ssh:  "user = \"deploy\"\nport = 2222\nidentity_file = \"id_test\"\n",
			host: "198.18.0.21",
			want: remote.Config{User: "deploy", Port: 2222, IdentityFiles: []string{filepath.Join(dir, "id_test")}},
		},
		{
			name:     "the node's keys beat [ssh]",
			ssh:      "user = \"deploy\"\nport = 2222\nproxy_jump = \"root@198.18.0.9\"\n",
			nodeKeys: []string{`ssh_user = "admin"`, "ssh_port = 2200", `ssh_identity_file = "pw"`, `ssh_proxy_jump = "none"`},
			host:     "198.18.0.21",
			want:     remote.Config{User: "admin", Port: 2200, IdentityFiles: []string{filepath.Join(dir, "pw")}},
		},
		{
			name: "ProxyJump from ssh_config; hops looked up there too",
			host: "198.18.0.23",
			want: remote.Config{User: "fromconfig", Port: 2201, ProxyJump: []remote.Hop{
				{Host: "bastion", HostName: "198.18.0.2", User: "jumper", Port: 2022},
				{Host: "198.18.0.3", User: "admin", Port: 2200},
			}},
		},
		{
			name: "[ssh] proxy_jump beats ssh_config's",
			ssh:  "proxy_jump = \"ops@gw:2222\"\n",
			host: "198.18.0.23",
			want: remote.Config{User: "fromconfig", Port: 2201, ProxyJump: []remote.Hop{{Host: "gw", User: "ops", Port: 2222}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts()
			p.ssh = "[ssh]\nconfig = \"ssh_config\"\n" + tt.ssh
			p.nodes = node("mgr1", tt.host, "manager", append([]string{"wka = true"}, tt.nodeKeys...)...)
			inv, err := parseWithHome(t, dir, home, p.doc())
			if err != nil {
				t.Fatalf("%v\n%s", err, numbered(p.doc()))
			}
			got := inv.SSHConfig(tt.host, true)
			want := tt.want
			want.UseAgent, want.AcceptNewHostKeys = true, true
			want.KnownHostsFile = home + "/kh-from-config"
			want.ConnectTimeout, want.AliveInterval, want.AliveCountMax, want.CommandTimeout = got.ConnectTimeout, got.AliveInterval, got.AliveCountMax, got.CommandTimeout
			if !reflect.DeepEqual(got, want) {
				t.Errorf("SSHConfig(%s)\n got %+v\nwant %+v", tt.host, got, want)
			}
		})
	}
}

func TestSSHConfigDefaultsAndOff(t *testing.T) {
	dir, home := sshFixture(t)
	// The login user's ~/.ssh/config is read when present ...
	writeTestFile(t, filepath.Join(home, ".ssh", "config"), "Host 198.18.0.21\n  User mine\n", 0o600)
	p := defaultParts()
	inv, err := parseWithHome(t, dir, home, p.doc())
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.SSHConfig("198.18.0.21", false); got.User != "mine" || inv.SSH.Config != filepath.Join(home, ".ssh", "config") {
		t.Errorf("default ~/.ssh/config not read: user %q, config %q", got.User, inv.SSH.Config)
	}
	if got := inv.SSHConfig("198.18.0.22", false); got.User != "root" || got.Port != 22 || got.KnownHostsFile != home+"/.ssh/known_hosts" {
		t.Errorf("defaults: %+v", got)
	}
	// ... and config = "none" (or "") turns it off.
	for _, off := range []string{`"none"`, `""`} {
		p.ssh = "[ssh]\nconfig = " + off + "\n"
		inv, err := parseWithHome(t, dir, home, p.doc())
		if err != nil {
			t.Fatal(err)
		}
		if got := inv.SSHConfig("198.18.0.21", false); got.User != "root" || inv.SSH.Config != "" {
			t.Errorf("config = %s: user %q, config %q", off, got.User, inv.SSH.Config)
		}
	}
}

func TestParseJumps(t *testing.T) {
	tests := []struct {
		spec string
		want []jump
		err  string
	}{
		{"", nil, ""},
		{"none", nil, ""},
		{"bastion", []jump{{host: "bastion"}}, ""},
		{"admin@bastion:2222", []jump{{user: "admin", host: "bastion", port: 2222}}, ""},
		{"a, root@198.18.0.2:22", []jump{{host: "a"}, {user: "root", host: "198.18.0.2", port: 22}}, ""},
		{"ssh://ops@[2001:db8::1]:2200", []jump{{user: "ops", host: "2001:db8::1", port: 2200}}, ""},
		{"[2001:db8::1]", []jump{{host: "2001:db8::1"}}, ""},
		{"bastion:0", nil, `port "0" is not a number from 1 to 65535`},
		{"bastion:ssh", nil, `port "ssh" is not a number`},
		{"a,,b", nil, `"" is not a host`},
		{"-oProxyCommand=x@h", nil, `is not a user name`},
		{"user@", nil, `"" is not a host`},
	}
	for _, tt := range tests {
		got, err := parseJumps(tt.spec)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("parseJumps(%q) error %v, want %q", tt.spec, err, tt.err)
		case tt.err == "" && (err != nil || !reflect.DeepEqual(got, tt.want)):
			t.Errorf("parseJumps(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
		}
	}
}

func TestSSHProblems(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *parts)
		wants []want
	}{
		{
			name: "bad proxy_jump in [ssh] and on a node, bad ssh_port",
			edit: func(p *parts) {
				p.ssh = "[ssh]\nproxy_jump = \"root@bastion:99999\" # pj\n"
				p.nodes = node("mgr1", "198.18.0.21", "manager", "wka = true", `ssh_proxy_jump = "a,,b" # npj`, "ssh_port = 0 # port")
			},
			wants: []want{
				{"# pj", "ssh.proxy_jump", `port "99999" is not a number from 1 to 65535`},
				{"# npj", "node[1].ssh_proxy_jump", `"" is not a host`},
				{"# port", "node[1].ssh_port", "0 is out of range"},
			},
		},
		{
			name: "two nodes on one host with different SSH settings",
			edit: func(p *parts) {
				p.nodes = node("mgr1", "198.18.0.21", "manager", "wka = true", `ssh_user = "admin"`) +
					node("wkr1", "198.18.0.21", "worker", "port_offset = 1", "local_member_port = 4101", `home = "/opt/esb2"`, `ssh_user = "other" # user`)
			},
			wants: []want{{"# user", "node[2].ssh_user", `nodes mgr1 and wkr1 are both on 198.18.0.21 but their SSH settings differ (ssh_user "admin" vs "other")`}},
		},
		{
			name: "the load balancer on a node's host with other SSH settings",
			edit: func(p *parts) {
				p.lb = "[loadbalancer] # lb\nhost = \"198.18.0.21\"\nservice_host_name = \"esb.wso2.com\"\nmgt_host_name = \"mgt.esb.wso2.com\"\nssh_port = 2222 # lbport\n"
			},
			wants: []want{{"# lbport", "loadbalancer.ssh_port", "the load balancer and node mgr1 are both on 198.18.0.21 but their SSH settings differ"}},
		},
		{
			name: "become password inline, file readable by others",
			edit: func(p *parts) {
				p.ssh = "[ssh]\nbecome_password = \"x\" # inline\n"
			},
			wants: []want{{"# inline", "ssh.become_password", "a sudo password is never written in the inventory"}},
		},
		{
			name: "become password file readable by others",
			edit: func(p *parts) {
				p.ssh = "[ssh]\nbecome_password_file = \"world\" # file\n"
			},
			wants: []want{{"# file", "ssh.become_password_file", "has mode 0644: it must be readable by you only: chmod 600"}},
		},
		{
			name: "become password env not set",
			edit: func(p *parts) {
				p.ssh = "[ssh]\nbecome_password_env = \"NO_SUCH_PW\" # env\n"
			},
			wants: []want{{"# env", "ssh.become_password_env", "environment variable NO_SUCH_PW is not set"}},
		},
		{
			name: "missing ssh_config file",
			edit: func(p *parts) {
				p.ssh = "[ssh]\nconfig = \"no-such-config\" # cfg\n"
			},
			wants: []want{{"# cfg", "ssh.config", "cannot read the ssh_config file"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts()
			tt.edit(&p)
			doc := p.doc()
			_, errs := parse(t, fixtureDir(t), doc)
			checkProblems(t, doc, errs, tt.wants)
		})
	}
}

func TestSSHConfigFileProblems(t *testing.T) {
	tests := []struct {
		name, config string
		line         int
		key, msg     string
	}{
		{"bad port", "Host 198.18.0.21\n  Port twenty-two\n", 2, "Port", `"twenty-two" is not a port`},
		{"bad ProxyJump", "Host *\n  User x\n  ProxyJump a,,b\n", 3, "ProxyJump", `"" is not a host`},
		{"bad jump host port", "Host gw\n  Port x\nHost *\n  ProxyJump gw\n", 2, "Port", `"x" is not a port`},
		{"syntax", "Host 198.18.0.21\n  Match\n", 2, "", "cannot parse this ssh_config"},
		{"other known_hosts", "Host 198.18.0.21\n  UserKnownHostsFile /etc/kh\n", 2, "UserKnownHostsFile", "carbonctl checks every host of a run against one file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := fixtureDir(t)
			cfgPath := filepath.Join(dir, "ssh_config")
			writeTestFile(t, cfgPath, tt.config, 0o600)
			p := defaultParts()
			p.ssh = "[ssh]\nconfig = \"ssh_config\"\n"
			_, errs := parse(t, dir, p.doc())
			if len(errs) != 1 || errs[0].File != cfgPath || errs[0].Line != tt.line || errs[0].Key != tt.key || !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("got %v\nwant %s:%d: %s: ...%s...", errs, cfgPath, tt.line, tt.key, tt.msg)
			}
		})
	}
}
