package inventory

import (
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	clusterName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	clusterDom   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	playbookName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	nodeName     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	productKey   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	osUser       = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	sshUser      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$`)
	dbUser       = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	dbHostPart   = regexp.MustCompile(`^[A-Za-z0-9.%_:/-]{1,255}$`)
	dbIdent      = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	dbPrefix     = regexp.MustCompile(`^[A-Za-z0-9_]{1,56}$`)
	charset      = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
	remotePath   = regexp.MustCompile(`^/[A-Za-z0-9._+@/-]*$`)
	dnsLabel     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)
	allDigits    = regexp.MustCompile(`^[0-9]+$`)
	// keystoreAlias is an alias keytool keeps as written.
	keystoreAlias = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	subjectRE     = regexp.MustCompile(`^(/(C|ST|L|O|OU|emailAddress)=[A-Za-z0-9 .,_@&()'+:-]{1,64})+$`)
	countryRE     = regexp.MustCompile(`^[A-Z]{2}$`)
)

// match reports whether v matches re, recording a problem with key if not.
// rule says what is allowed.
func (t *table) match(key, v string, re *regexp.Regexp, rule string) bool {
	if raw, set := t.m[key]; set && !isString(raw) {
		return false // the type error is already reported
	}
	if re.MatchString(v) {
		return true
	}
	t.errorf(key, "%q is not valid: %s", v, rule)
	return false
}

// checkIP records a problem unless host is a usable IP address. advice
// explains why a host name is not accepted here.
func (t *table) checkIP(key, host, advice string) bool {
	if host == "" {
		return false
	}
	addr, err := netip.ParseAddr(host)
	switch {
	case err != nil && isDNSName(host):
		t.errorf(key, "%q is a host name, not an IP address: %s", host, advice)
	case err != nil:
		t.errorf(key, "%q is not an IP address: write an IPv4 or IPv6 address, e.g. %s = \"198.18.0.21\"", host, key)
	case addr.Zone() != "":
		t.errorf(key, "%q has an IPv6 zone: write the address without %%%s", host, addr.Zone())
	case addr.IsUnspecified() || addr.IsMulticast():
		t.errorf(key, "%q cannot be a host's address: write the machine's own IP address", host)
	default:
		return true
	}
	return false
}

// checkHost records a problem unless host is a usable IP address or a DNS
// name (checked for syntax only: names are resolved by Resolve, before a
// run, not while validating).
func (t *table) checkHost(key, host, example string) bool {
	if _, err := netip.ParseAddr(host); err == nil || host == "" {
		return t.checkIP(key, host, "")
	}
	if isDNSName(host) {
		return true
	}
	t.errorf(key, "%q is neither an IP address nor a DNS name: write the machine's address or name, e.g. %s = %s", host, key, example)
	return false
}

// sameHost returns a comparable form of an IP address.
func sameHost(host string) string {
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap().String()
	}
	return host
}

// isDNSName reports whether s is a syntactically valid DNS name.
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	for _, label := range labels {
		if !dnsLabel.MatchString(label) {
			return false
		}
	}
	return !allDigits.MatchString(labels[len(labels)-1]) // no top-level domain is numeric
}

// checkDNSName records a problem unless name is a DNS name (and not an IP).
func (t *table) checkDNSName(key, name, example string) bool {
	if _, err := netip.ParseAddr(name); err == nil || !isDNSName(name) {
		t.errorf(key, "%q is not a DNS name: use letters, digits, '-' and dots, e.g. %s = %q", name, key, example)
		return false
	}
	return true
}

// remoteHome validates and cleans a CARBON_HOME path on the nodes.
func (t *table) remoteHome(key, p string) string {
	return t.remoteDir(key, p, "CARBON_HOME", "the directory the product is unpacked to, e.g. /opt/wso2esb-4.9.0")
}

// remoteDir validates and cleans an absolute directory on the nodes: what
// names it in messages (CARBON_HOME, JAVA_HOME), want describes a good value.
func (t *table) remoteDir(key, p, what, want string) string {
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") {
		t.errorf(key, "%q is a relative path: %s must be absolute on the nodes: write %s", p, what, want)
		return ""
	}
	if !t.match(key, p, remotePath, "use an absolute path made of letters, digits and . _ + @ / - (no spaces or shell characters)") {
		return ""
	}
	clean := path.Clean(p)
	if clean == "/" || strings.Contains("/"+p+"/", "/../") {
		t.errorf(key, "%q is not a usable %s: write %s", p, what, want)
		return ""
	}
	if clean == "/tmp" || strings.HasPrefix(clean, "/tmp/") {
		t.warnf(key, "%s is under /tmp: many systems empty /tmp at boot (or mount a tmpfs there), which deletes the product, its configuration and its logs: put it under /opt", clean)
	}
	return clean
}

// resolvePath expands "~/" and makes p absolute against the inventory's
// directory.
func (d *decoder) resolvePath(t *table, key, p string) (string, bool) {
	switch {
	case p == "":
		t.errorf(key, "is empty: write a file path")
		return "", false
	case p == "~" || strings.HasPrefix(p, "~/"):
		home, ok := d.lookupEnv("HOME")
		if !ok || home == "" {
			t.errorf(key, "%q starts with ~ but HOME is not set: write an absolute path or set HOME", p)
			return "", false
		}
		p = filepath.Join(home, p[1:])
	case strings.HasPrefix(p, "~"):
		t.errorf(key, "%q: only ~/ (your own home) is expanded: write an absolute path", p)
		return "", false
	case !filepath.IsAbs(p):
		p = filepath.Join(d.dir, p)
	}
	return filepath.Clean(p), true
}

// localFile resolves a path and, when files are checked, makes sure it is
// an existing regular file. what names the file in messages.
func (d *decoder) localFile(t *table, key, p, what string) string {
	abs, ok := d.resolvePath(t, key, p)
	if !ok || !d.opts.CheckFiles {
		return abs
	}
	info, err := os.Stat(abs)
	switch {
	case err != nil:
		t.errorf(key, "%s %s: %v: fix the path (relative paths start at the inventory's directory %s)", what, abs, cause(err), d.dir)
	case !info.Mode().IsRegular():
		t.errorf(key, "%s %s is not a regular file: point %s at the file itself", what, abs, key)
	}
	return abs
}
