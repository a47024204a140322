package steps

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// markerName is the file in CARBON_HOME that records which archive it was unpacked from.
const markerName = ".carbonctl-archive"

// The account databases the product step reads to see whether the product's
// user and group exist (reading them costs no process on the host).
const (
	etcPasswd = "/etc/passwd"
	etcGroup  = "/etc/group"
)

// Product is the "product" step kind: the product user and CARBON_HOME
// unpacked from the inventory's archive. It has no fields.
type Product struct{}

// Check has nothing to check.
func (*Product) Check() error { return nil }

// Prefetch reads the archive marker, the account databases and CARBON_HOME.
func (*Product) Prefetch(_ *engine.Engine, _ playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	prefetchProduct(n, req)
}

// RunNode makes the node's product user and CARBON_HOME right.
func (*Product) RunNode(ctx context.Context, e *engine.Engine, _ playbook.Step, n *engine.Node, res *engine.Result) error {
	return installProduct(ctx, e, n, res)
}

func prefetchProduct(n *engine.Node, req *remote.GatherRequest) {
	req.Contents = append(req.Contents, n.Home(markerName), etcPasswd, etcGroup)
	req.Stats = append(req.Stats, n.Vars.Node.Home)
}

// hasEntry reports whether an /etc/passwd- or /etc/group-style file has an
// entry called name.
func hasEntry(db []byte, name string) bool {
	for _, line := range strings.Split(string(db), "\n") {
		if entry, _, ok := strings.Cut(line, ":"); ok && entry == name {
			return true
		}
	}
	return false
}

// installProduct makes sure the product user exists and CARBON_HOME holds the
// inventory's archive, unpacking it once.
func installProduct(ctx context.Context, e *engine.Engine, n *engine.Node, res *engine.Result) error {
	if err := productUser(ctx, e, n, res); err != nil {
		return err
	}
	home := n.Vars.Node.Home
	dir, err := n.Host.Read(ctx, home)
	if err != nil {
		return err
	}
	if dir.Exists {
		return checkMarker(ctx, e, n)
	}
	desc := fmt.Sprintf("unpack %s (sha256 %.12s) into %s, owned by %s", path.Base(e.Arch.Path), e.Arch.SHA256, home, n.Vars.Product.User)
	if err := e.Change(res, desc, "", func() error { return unpack(ctx, e, n) }); err != nil {
		return err
	}
	// From here on, reads below home are served from the archive: that is what
	// the host now holds (or, in a plan, would hold).
	n.Host.Unpacked(engine.Overlay{Home: home, Arch: e.Arch, Owner: n.Vars.Product.User, Group: n.Vars.Product.Group})
	return nil
}

// productUser creates the product's OS user and group when missing.
func productUser(ctx context.Context, e *engine.Engine, n *engine.Node, res *engine.Result) error {
	u, g := n.Vars.Product.User, n.Vars.Product.Group
	n.Host.UserMu.Lock()
	defer n.Host.UserMu.Unlock()
	passwd, err := n.Host.Read(ctx, etcPasswd)
	if err != nil {
		return err
	}
	if hasEntry(passwd.Content, u) {
		return nil
	}
	group, err := n.Host.Read(ctx, etcGroup)
	if err != nil {
		return err
	}
	// Re-check on the host: the user may come from a directory service, or a
	// node sharing this host may have created it a moment ago.
	script := fmt.Sprintf("id -u %s >/dev/null 2>&1 || useradd --system --create-home --shell /bin/bash --gid %s %s", remote.Quote(u), remote.Quote(g), remote.Quote(u))
	desc := fmt.Sprintf("create user %s", u)
	if !hasEntry(group.Content, g) {
		script = fmt.Sprintf("{ getent group %s >/dev/null || groupadd --system %s; } && %s", remote.Quote(g), remote.Quote(g), script)
		desc = fmt.Sprintf("create group %s and user %s", g, u)
	}
	if err := e.Change(res, desc, "", func() error { return engine.RunScript(ctx, n.Host, "root", script, nil, "create product user "+u) }); err != nil {
		return err
	}
	n.Host.Remember(etcPasswd, []byte(fmt.Sprintf("%s%s:x:::::\n", passwd.Content, u)))
	n.Host.Remember(etcGroup, []byte(fmt.Sprintf("%s%s:x::\n", group.Content, g)))
	return nil
}

// checkMarker refuses to touch a CARBON_HOME that carbonctl did not unpack
// from this very archive.
func checkMarker(ctx context.Context, e *engine.Engine, n *engine.Node) error {
	home := n.Vars.Node.Home
	m, err := n.Host.Read(ctx, n.Home(markerName))
	if err != nil {
		return err
	}
	if !m.Exists {
		return fmt.Errorf("%s exists on %s but was not installed by carbonctl (no %s): move it aside, or unpack %s there yourself and write %q into %s",
			home, n.Host.Addr, markerName, path.Base(e.Arch.Path), "sha256 "+e.Arch.SHA256, markerName)
	}
	if string(m.Content) != e.Arch.MarkerContent() {
		return fmt.Errorf("%s on %s was unpacked from another archive (%s); carbonctl never overwrites an installed product: stop the node and move %s aside to install %s",
			home, n.Host.Addr, strings.ReplaceAll(strings.TrimSpace(string(m.Content)), "\n", ", "), home, path.Base(e.Arch.Path))
	}
	return nil
}

// unpack streams the archive as a tar into HOME.carbonctl-new and renames it
// into place, so an interrupted upload never leaves a half-filled CARBON_HOME.
// Root only makes the empty directory (given to the product user with
// chown -h, which never follows a link) and renames it (mv -T, which never
// moves into a directory someone put there); the product user unpacks and
// writes the marker, so root never writes into what that user owns, even
// when the parent directory is the user's.
func unpack(ctx context.Context, e *engine.Engine, n *engine.Node) error {
	home := n.Vars.Node.Home
	tmp := remote.Quote(home + ".carbonctl-new")
	prepare := strings.Join([]string{
		"set -e",
		"umask 022",
		"mkdir -p " + remote.Quote(path.Dir(home)),
		"rm -rf " + tmp,
		"mkdir " + tmp,
		"chown -h " + remote.Quote(n.Vars.Product.User+":"+n.Vars.Product.Group) + " " + tmp,
	}, "\n")
	if err := engine.RunScript(ctx, n.Host, "root", prepare, nil, "prepare "+home+".carbonctl-new"); err != nil {
		return err
	}
	fill := strings.Join([]string{
		"set -e",
		"umask 022",
		"tar -xpf - -C " + tmp + " --no-same-owner",
		"printf '%s' " + remote.Quote(e.Arch.MarkerContent()) + " > " + remote.Quote(home+".carbonctl-new/"+markerName),
	}, "\n")
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(e.Arch.WriteTar(pw)) }()
	err := engine.RunScript(ctx, n.Host, n.Vars.Product.User, fill, pr, "unpack the product into "+home)
	pr.Close()
	if err != nil {
		return err
	}
	return engine.RunScript(ctx, n.Host, "root", "mv -T "+tmp+" "+remote.Quote(home), nil, "move the product into "+home)
}
