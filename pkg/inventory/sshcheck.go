package inventory

import (
	"fmt"
	"strings"
)

// knownHosts returns the first UserKnownHostsFile of host alias, expanded;
// "" when none is set.
func (c *sshConfigFile) knownHosts(alias string) string {
	v, ok := c.get(alias, "UserKnownHostsFile")
	if !ok || len(strings.Fields(v.value)) == 0 {
		return ""
	}
	return c.expand(strings.Fields(v.value)[0], alias, "")
}

// checkSSH checks the SSH settings of every host: the ssh_config values
// used for it (reported at their file and line), two nodes (or a node and
// the load balancer) on one host with different ssh_* keys, a host with
// no key to log in with, and a host whose ssh_config names another
// known_hosts file than the run's.
func (d *decoder) checkSSH(inv *Inventory, tabs []*table, valid []bool, lbTable *table) {
	reported := map[string]bool{}
	report := func(errs ...*Error) {
		for _, e := range errs {
			if !reported[e.Error()] {
				reported[e.Error()] = true
				d.errs = append(d.errs, e)
			}
		}
	}
	for i, n := range inv.Nodes {
		if !valid[i] {
			continue
		}
		for j := 0; j < i; j++ {
			if valid[j] && sameHost(inv.Nodes[j].Host) == sameHost(n.Host) && inv.Nodes[j].SSH != n.SSH {
				a := inv.Nodes[j]
				tabs[i].errorf(sshKeyDiff(a.SSH, n.SSH), "nodes %s and %s are both on %s but their SSH settings differ (%s): carbonctl opens one connection per host: write the same ssh_* keys on both", a.Name, n.Name, n.Host, describeSSHDiff(a.SSH, n.SSH))
			}
		}
		report(d.checkHostSSH(inv, n.Host, tabs[i])...)
	}
	if lb := inv.LoadBalancer; lb != nil && lb.Host != "" {
		for _, n := range inv.Nodes {
			if sameHost(n.Host) == sameHost(lb.Host) && n.SSH != lb.SSH {
				lbTable.errorf(sshKeyDiff(n.SSH, lb.SSH), "the load balancer and node %s are both on %s but their SSH settings differ (%s): carbonctl opens one connection per host: write the same ssh_* keys on both", n.Name, lb.Host, describeSSHDiff(n.SSH, lb.SSH))
				break
			}
		}
		report(d.checkHostSSH(inv, lb.Host, lbTable)...)
	}
}

// checkHostSSH checks one host's resolved SSH settings; t is the table
// that names the host.
func (d *decoder) checkHostSSH(inv *Inventory, host string, t *table) []*Error {
	if host == "" {
		return nil
	}
	cfg, errs := inv.resolveSSH(host)
	if len(cfg.IdentityFiles) == 0 && !inv.SSH.UseAgent {
		e := &Error{File: d.file, Line: t.lineOf("host"), Key: t.keyPath("host"),
			Msg: fmt.Sprintf("carbonctl has no key to log in to %s: ssh.use_agent is false and neither ssh_identity_file, [ssh] identity_file nor an IdentityFile of the ssh_config names an existing key: set one, or use_agent = true", host)}
		if inv.SSH.config == nil && inv.hostSettings(host).IdentityFile == "" {
			e = &Error{File: d.file, Line: d.lines["ssh.use_agent"], Key: "ssh.use_agent",
				Msg: "is false and there is no identity_file, so carbonctl has no key to log in with: set identity_file = \"~/.ssh/id_ed25519\" or use_agent = true"}
		}
		errs = append(errs, e)
	}
	if cf := inv.SSH.config; cf != nil && d.lines["ssh.known_hosts"] == 0 {
		if v, ok := cf.get(host, "UserKnownHostsFile"); ok {
			if f := cf.knownHosts(host); f != inv.SSH.KnownHosts {
				errs = append(errs, cf.errorAt(v, "UserKnownHostsFile", "host %s would use known_hosts %s, but carbonctl checks every host of a run against one file (%s): set known_hosts in [ssh], or give UserKnownHostsFile in a Host * block", host, f, inv.SSH.KnownHosts))
			}
		}
	}
	return errs
}

// sshKeyDiff names the first ssh_* key in which a and b differ.
func sshKeyDiff(a, b HostSSH) string {
	switch {
	case a.User != b.User:
		return "ssh_user"
	case a.Port != b.Port:
		return "ssh_port"
	case a.IdentityFile != b.IdentityFile:
		return "ssh_identity_file"
	}
	return "ssh_proxy_jump"
}

// describeSSHDiff shows the settings in which a and b differ.
func describeSSHDiff(a, b HostSSH) string {
	var parts []string
	show := func(v any) string {
		if s := fmt.Sprint(v); s != "" && s != "0" {
			return fmt.Sprintf("%q", s)
		}
		return "not set"
	}
	add := func(key string, x, y any) {
		if x != y {
			parts = append(parts, fmt.Sprintf("%s %s vs %s", key, show(x), show(y)))
		}
	}
	add("ssh_user", a.User, b.User)
	add("ssh_port", a.Port, b.Port)
	add("ssh_identity_file", a.IdentityFile, b.IdentityFile)
	add("ssh_proxy_jump", a.ProxyJump, b.ProxyJump)
	return strings.Join(parts, ", ")
}
