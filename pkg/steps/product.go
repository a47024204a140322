package steps

import (
	"context"
	"fmt"
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

// unpack uploads the archive as a tar into HOME.carbonctl-upload, unpacks it
// into HOME.carbonctl-new and renames that into place, so an interrupted run
// never leaves a half-filled CARBON_HOME, and the upload of a run that was
// killed resumes where it stopped (remote.Host.Upload: several SSH channels,
// blocks verified by sha256).
//
// The product user is untrusted, and so is everything it can write. Root
// only makes the two directories and gives them to the product user, or
// has that user make them where it can change names anyway (see
// productDirsScript), renames the new home into place
// (mv -T, which never moves into a directory someone put there) and removes
// the emptied upload directory (rmdir, which neither follows a link nor
// removes anything inside). Everything that reads or writes inside those
// directories runs as the product user: the upload itself (so a link
// planted in the upload directory can only make the product user write
// where the product user may write anyway), the unpack, the marker and the
// removal of the tar. Root never reads, writes or runs what that user wrote.
func unpack(ctx context.Context, e *engine.Engine, n *engine.Node) error {
	home := n.Vars.Node.Home
	user := n.Vars.Product.User
	tmp, up := remote.Quote(home+".carbonctl-new"), remote.Quote(home+".carbonctl-upload")
	prepare := productDirsScript(home, user, n.Vars.Product.Group)
	if err := engine.RunScript(ctx, n.Host, "root", prepare, nil, "prepare "+home+".carbonctl-new and "+home+".carbonctl-upload"); err != nil {
		return err
	}
	src, sum, err := e.Arch.TarFile()
	if err != nil {
		return err
	}
	dst := path.Join(home+".carbonctl-upload", path.Base(src))
	st, err := n.Host.Client.Upload(ctx, src, dst, remote.UploadOptions{As: user, SHA256: sum})
	if err != nil {
		return err
	}
	if e.Opts.Verbose {
		e.Out.Printf("uploaded %s to %s:%s: %d bytes, %d sent, %d kept from an earlier upload\n", path.Base(src), n.Host.Addr, dst, st.Size, st.Sent, st.Kept)
	}
	fill := strings.Join([]string{
		"set -e",
		"umask 022",
		"tar -xpf " + remote.Quote(dst) + " -C " + tmp + " --no-same-owner",
		"printf '%s' " + remote.Quote(e.Arch.MarkerContent()) + " > " + remote.Quote(home+".carbonctl-new/"+markerName),
		// The tar and whatever an earlier, killed upload of another archive left.
		"find " + up + " -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +",
	}, "\n")
	if err := engine.RunScript(ctx, n.Host, user, fill, nil, "unpack the product into "+home); err != nil {
		return err
	}
	return engine.RunScript(ctx, n.Host, "root", "set -e\nmv -T "+tmp+" "+remote.Quote(home)+"\nrmdir "+up, nil, "move the product into "+home)
}

// productDirsScript, run as root, makes the empty HOME.carbonctl-new and, unless
// a killed run left it for the resume, HOME.carbonctl-upload (0700: only the
// product user reads the upload), both the product user's; a link or a
// non-directory at HOME.carbonctl-upload is refused.
//
// Who makes them depends on the parent directory. When the product user may
// change names in it (its home, say), root touches nothing there: the
// product user makes both directories itself (setpriv, as in the nested
// reads), since root's chown -h of a name that user can swap (for a hard
// link to a file of root's, between the check and the chown) would give it
// that file. Otherwise only root can change the names there: root makes
// them and gives them away with chown -h (which never follows a link).
func productDirsScript(home, user, group string) string {
	tmp, up := remote.Quote(home+".carbonctl-new"), remote.Quote(home+".carbonctl-upload")
	parent, owner := remote.Quote(path.Dir(home)), remote.Quote(user+":"+group)
	create := func(chown bool) string {
		lines := []string{
			"set -e",
			"umask 022",
			"rm -rf " + tmp,
			"mkdir -m 0755 " + tmp,
			"if [ -L " + up + " ] || { [ -e " + up + " ] && [ ! -d " + up + " ]; }; then echo " + up + " is not the directory carbonctl uploads into >&2; exit 1; fi",
			"[ -d " + up + " ] || mkdir -m 0700 " + up,
		}
		if chown {
			lines = append(lines, "chown -h "+owner+" "+tmp, "chown -h "+owner+" "+up)
		}
		return strings.Join(lines, "\n")
	}
	asUser := "setpriv --reuid=" + remote.Quote(user) + ` --regid="$(id -g -- ` + remote.Quote(user) + `)" --init-groups -- `
	return strings.Join([]string{
		"set -e",
		"umask 022",
		"cd /",
		"mkdir -p " + parent,
		"if " + asUser + "test -w " + parent + "; then exec " + asUser + "sh -c " + remote.Quote(create(false)) + "; fi",
		create(true),
	}, "\n")
}
