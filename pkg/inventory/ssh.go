package inventory

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// HostSSH are the SSH settings written in the inventory for one host: the
// ssh_user, ssh_port, ssh_identity_file and ssh_proxy_jump keys of a
// [[node]] or of [loadbalancer], or the user, port, identity_file and
// proxy_jump keys of [ssh] (for every host). Empty or zero = not written.
type HostSSH struct {
	User         string
	Port         int
	IdentityFile string // absolute
	ProxyJump    string // as written, OpenSSH syntax; "none" = no jump host
}

// hostSSH decodes a [[node]]'s or [loadbalancer]'s ssh_* keys.
func (d *decoder) hostSSH(t *table) HostSSH {
	h := HostSSH{
		User:         t.str("ssh_user", ""),
		Port:         t.int("ssh_port", 0, 1, 65535),
		IdentityFile: t.str("ssh_identity_file", ""),
		ProxyJump:    t.str("ssh_proxy_jump", ""),
	}
	if _, set := t.m["ssh_user"]; set {
		t.match("ssh_user", h.User, sshUser, "write the login name used on this host, e.g. ssh_user = \"admin\"")
	}
	if _, set := t.m["ssh_identity_file"]; set {
		h.IdentityFile = d.localFile(t, "ssh_identity_file", h.IdentityFile, "SSH identity file")
	}
	checkJumpKey(t, "ssh_proxy_jump", h.ProxyJump)
	return h
}

// checkJumpKey reports a proxy_jump value that is not OpenSSH syntax.
func checkJumpKey(t *table, key, spec string) {
	if _, set := t.m[key]; !set || !isString(t.m[key]) {
		return
	}
	if _, err := parseJumps(spec); err != nil {
		t.errorf(key, "%v", err)
	}
}

// jump is one hop of a ProxyJump value: [user@]host[:port].
type jump struct {
	user, host string
	port       int
}

// parseJumps parses a ProxyJump value: comma-separated
// [user@]host[:port] (or ssh://[user@]host[:port]; an IPv6 address in
// brackets), or "none". Empty and "none" give no hops.
func parseJumps(spec string) ([]jump, error) {
	if spec == "" || strings.EqualFold(spec, "none") {
		return nil, nil
	}
	var hops []jump
	for _, part := range strings.Split(spec, ",") {
		j, err := parseJump(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%q is not a jump host list: %v: write [user@]host[:port], several separated by commas (OpenSSH ProxyJump), e.g. \"admin@bastion.example.com:22\", or \"none\"", spec, err)
		}
		hops = append(hops, j)
	}
	return hops, nil
}

// parseJump parses one [user@]host[:port].
func parseJump(s string) (jump, error) {
	s = strings.TrimPrefix(s, "ssh://")
	var j jump
	if i := strings.LastIndex(s, "@"); i >= 0 {
		j.user, s = s[:i], s[i+1:]
		if !sshUser.MatchString(j.user) {
			return j, fmt.Errorf("%q is not a user name", j.user)
		}
	}
	j.host = s
	if host, port, err := net.SplitHostPort(s); err == nil {
		n, perr := strconv.Atoi(port)
		if perr != nil || n < 1 || n > 65535 {
			return j, fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
		j.host, j.port = host, n
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		j.host = s[1 : len(s)-1]
	}
	if j.host == "" || strings.ContainsAny(j.host, " /[]@") || strings.Count(j.host, ":") == 1 {
		return j, fmt.Errorf("%q is not a host", s)
	}
	return j, nil
}

// sshConfigKey decodes ssh.config: the ssh_config file to read; default
// ~/.ssh/config when it exists; "" or "none" reads none.
func (d *decoder) sshConfigKey(t *table) *sshConfigFile {
	p, set := t.str("config", ""), false
	if _, set = t.m["config"]; set && (p == "" || strings.EqualFold(p, "none")) {
		return nil
	}
	if !set {
		home, ok := d.lookupEnv("HOME")
		if !ok || home == "" {
			return nil
		}
		p = strings.TrimSuffix(home, "/") + "/.ssh/config"
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	} else if abs, ok := d.resolvePath(t, "config", p); ok {
		p = abs
	} else {
		return nil
	}
	data, err := ReadRegular(p, MaxInventorySize)
	if err != nil {
		t.errorf("config", "cannot read the ssh_config file %s: %v: fix the path, or set config = \"none\" to read none", p, cause(err))
		return nil
	}
	home, _ := d.lookupEnv("HOME")
	user, _ := d.lookupEnv("USER")
	cf, perr := parseSSHConfig(p, data, home, user)
	if perr != nil {
		d.errs = append(d.errs, perr)
		return nil
	}
	return cf
}

// becomePassword decodes become_password_env / become_password_file: the
// login user's sudo password. A file must be the operator's, mode 0600
// (or stricter).
func (d *decoder) becomePassword(t *table) Secret {
	if _, inline := t.m["become_password"]; inline {
		t.get("become_password")
		t.errorf("become_password", "a sudo password is never written in the inventory: use become_password_env = \"VAR\" or become_password_file = \"path\" (mode 0600)")
		return Secret{}
	}
	s := t.optionalSecret("become_password", "")
	if path, isFile := strings.CutPrefix(s.Source, "file:"); isFile {
		if err := checkPrivateFile(path); err != nil {
			t.errorf("become_password_file", "%v", err)
			return Secret{}
		}
	}
	if s.Source == "default" {
		return Secret{}
	}
	return s
}

// checkPrivateFile refuses a secret file that is not the operator's alone.
func checkPrivateFile(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("the sudo password file %s has mode %04o: it must be readable by you only: chmod 600 %s", path, perm, path)
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("the sudo password file %s is owned by uid %d, not by you (uid %d): chown it to yourself", path, st.Uid, os.Getuid())
	}
	return nil
}

// hostSettings returns what the inventory writes for host's SSH: the
// ssh_* keys of the first node on it, or of the load balancer.
func (inv *Inventory) hostSettings(host string) HostSSH {
	for _, n := range inv.AllNodes() {
		if sameHost(n.SSHHost()) == sameHost(host) { // as written, also after Resolve
			return n.SSH
		}
	}
	if lb := inv.LoadBalancer; lb != nil && sameHost(lb.SSHHost()) == sameHost(host) {
		return lb.SSH
	}
	return HostSSH{}
}

// SSHConfig returns how carbonctl connects to host (a [[node]]'s or the
// [loadbalancer]'s host as written). Each setting comes from the first
// place that has it: the host's ssh_* keys in the inventory, then [ssh],
// then the ssh_config file (the block matching host), then the default
// (user root, port 22, no jump host, the agent's keys). Jump hosts are
// looked up in the ssh_config file too (HostName, User, Port,
// IdentityFile). It is the one place that decides this: every connection
// carbonctl opens is configured here.
func (inv *Inventory) SSHConfig(host string, acceptNew bool) remote.Config {
	cfg, _ := inv.resolveSSH(host)
	cfg.AcceptNewHostKeys = acceptNew
	return cfg
}

// resolveSSH builds host's Config and reports the ssh_config values that
// carbonctl cannot use, at their file and line.
func (inv *Inventory) resolveSSH(host string) (remote.Config, []*Error) {
	s, own := inv.SSH, inv.hostSettings(host)
	cf := s.config
	var errs []*Error
	cfg := remote.Config{
		UseAgent:       s.UseAgent,
		KnownHostsFile: s.KnownHosts,
		ConnectTimeout: s.ConnectTimeout,
		AliveInterval:  s.AliveInterval, AliveCountMax: s.AliveCountMax,
		CommandTimeout: s.CommandTimeout,
		BecomePassword: remote.Secret(s.BecomePassword.Value),
	}
	if v, ok := cf.get(host, "HostName"); ok {
		cfg.HostName = cf.expand(v.value, host, "")
	}
	login := cmp.Or(cfg.HostName, host)
	cfg.User = cmp.Or(own.User, s.Set.User, cf.value(host, "User"), "root")
	port, err := cf.port(host)
	if err != nil {
		errs = append(errs, err)
	}
	cfg.Port = cmp.Or(own.Port, s.Set.Port, port, 22)
	if f := cmp.Or(own.IdentityFile, s.Set.IdentityFile); f != "" {
		cfg.IdentityFiles = []string{f}
	} else {
		cfg.IdentityFiles = cf.identityFiles(host, login, cfg.User)
	}
	spec, specErr := own.ProxyJump, (*Error)(nil)
	if spec == "" {
		spec = s.ProxyJump
	}
	if v, ok := cf.get(host, "ProxyJump"); ok && spec == "" {
		spec = v.value
		if _, err := parseJumps(spec); err != nil {
			specErr = cf.errorAt(v, "ProxyJump", "%v", err)
		}
	}
	if specErr != nil {
		return cfg, append(errs, specErr)
	}
	hops, _ := parseJumps(spec)
	for _, j := range hops {
		hop, err := inv.resolveHop(j)
		if err != nil {
			errs = append(errs, err)
		}
		cfg.ProxyJump = append(cfg.ProxyJump, hop)
	}
	return cfg, errs
}

// resolveHop completes a jump host with what ssh_config says about it.
func (inv *Inventory) resolveHop(j jump) (remote.Hop, *Error) {
	cf := inv.SSH.config
	hop := remote.Hop{Host: j.host, User: cmp.Or(j.user, cf.value(j.host, "User")), Port: j.port}
	if v, ok := cf.get(j.host, "HostName"); ok {
		hop.HostName = cf.expand(v.value, j.host, "")
	}
	port, err := cf.port(j.host)
	if hop.Port == 0 {
		hop.Port = port
	}
	if ids := cf.identityFiles(j.host, cmp.Or(hop.HostName, j.host), hop.User); len(ids) > 0 {
		hop.IdentityFiles = ids
	}
	return hop, err
}

// value returns the value of key for host alias, or "".
func (c *sshConfigFile) value(alias, key string) string {
	v, _ := c.get(alias, key)
	return v.value
}

// port returns the Port for host alias (0 when none), or an error at its
// line.
func (c *sshConfigFile) port(alias string) (int, *Error) {
	v, ok := c.get(alias, "Port")
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v.value)
	if err != nil || n < 1 || n > 65535 {
		return 0, c.errorAt(v, "Port", "%q is not a port: write a number from 1 to 65535", v.value)
	}
	return n, nil
}

// identityFiles returns the IdentityFile values for host alias, expanded,
// leaving out files that do not exist (as OpenSSH does).
func (c *sshConfigFile) identityFiles(alias, addr, user string) []string {
	var out []string
	for _, v := range c.all(alias, "IdentityFile") {
		p := c.expand(v.value, addr, user)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}
