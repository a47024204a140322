package steps

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// syncSetup is what the rsync method works with in one run: the source
// node (the manager), every node it pushes to, and the directories.
type syncSetup struct {
	source    *engine.Node
	receivers []*engine.Node // every other node of the inventory, in file order
	dirs      []string
	user      string
	cluster   string
	port      int // sshd port of the receivers
}

// hostKeyFiles are the host public keys carbonctl pins for the sync, read
// from each receiving host over carbonctl's own verified connection.
func hostKeyFiles() []string {
	return []string{"/etc/ssh/ssh_host_ed25519_key.pub", "/etc/ssh/ssh_host_ecdsa_key.pub", "/etc/ssh/ssh_host_rsa_key.pub"}
}

// cronSpools are where cron keeps a user's crontab: Debian's, then cronie's.
func cronSpools(user string) []string {
	return []string{"/var/spool/cron/crontabs/" + user, "/var/spool/cron/" + user}
}

// The tools the rsync method needs: the source runs them all, the
// receivers only rsync (behind sshd).
const (
	sourceTools   = "rsync ssh ssh-keygen flock crontab"
	receiverTools = "rsync"
)

// toolsProbe prints the tools missing from the login user's PATH; command
// is a shell built-in, so the probe forks nothing.
const toolsProbe = `for c in ` + sourceTools + `; do command -v "$c" >/dev/null 2>&1 || echo "$c"; done`

// newSyncSetup gathers the rsync method's participants; nil without a manager.
func newSyncSetup(e *engine.Engine) *syncSetup {
	src := e.ManagerNode()
	if src == nil {
		return nil
	}
	s := &syncSetup{source: src, dirs: syncDirs(e), user: e.Inv.Product.User,
		cluster: e.Inv.Cluster.Name, port: e.Inv.SSH.Port}
	for _, n := range e.Nodes {
		if n != src {
			s.receivers = append(s.receivers, n)
		}
	}
	return s
}

// syncDirs are the directories to synchronise: the inventory's, else the
// playbook's, else the built-in defaults.
func syncDirs(e *engine.Engine) []string {
	switch {
	case len(e.Inv.DepSync.Directories) > 0:
		return e.Inv.DepSync.Directories
	case len(e.PB.DepSync.Directories) > 0:
		return e.PB.DepSync.Directories
	}
	return depsync.DefaultDirectories()
}

// depsyncPath is a file of the sync's directory below n's CARBON_HOME.
func depsyncPath(n *engine.Node, name string) string { return n.Home(path.Join(depsync.Dir, name)) }

// guessedHome is the product user's home before /etc/passwd is read: where
// useradd --create-home puts it.
func (s *syncSetup) guessedHome() string { return "/home/" + s.user }

// DepSync is the "depsync" step kind: the inventory's deployment sync
// (rsync: key, receivers, crontab, first sync; svn: the first seed). It
// has no fields: the inventory's [depsync] says what to set up.
type DepSync struct{}

// Check has nothing to check.
func (*DepSync) Check() error { return nil }

// Prefetch reads what the sync method reads.
func (*DepSync) Prefetch(e *engine.Engine, _ playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	prefetchDepSync(e, n, req)
}

// Run sets up the sync over all targets.
func (*DepSync) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return runDepSync(ctx, e, s)
}

// prefetchDepSync adds what the rsync method reads to the host's batch.
func prefetchDepSync(e *engine.Engine, n *engine.Node, req *remote.GatherRequest) {
	if e.Inv.DepSync.Method == depsync.MethodSVN {
		prefetchSVNSeed(e, n, req)
	}
	if e.Inv.DepSync.Method != depsync.MethodRsync {
		return
	}
	s := newSyncSetup(e)
	if s == nil {
		return
	}
	req.Contents = append(req.Contents, etcPasswd)
	req.Probes["depsync-tools"] = toolsProbe
	for _, d := range s.dirs {
		req.Stats = append(req.Stats, n.Home(d))
	}
	if n == s.source {
		for _, f := range []string{depsync.KeyName + ".pub", depsync.KnownHostsName, depsync.NodesName, depsync.ScriptName} {
			req.Contents = append(req.Contents, depsyncPath(n, f))
		}
		req.Contents = append(req.Contents, cronSpools(s.user)...)
		req.Probes["depsync-key:"+n.Name()] = fmt.Sprintf("[ -f %s ] && echo yes", remote.Quote(depsyncPath(n, depsync.KeyName)))
		return
	}
	ssh := s.guessedHome() + "/.ssh"
	req.Contents = append(req.Contents, depsync.Receiver, ssh+"/authorized_keys", n.Home(depsync.SeededMarker))
	req.Contents = append(req.Contents, hostKeyFiles()...)
	req.Stats = append(req.Stats, ssh)
}

// checkTools fails when the host's probe found tools of want (a
// space-separated list) missing.
func checkTools(h *engine.Host, want string) error {
	r, ok := h.Probe("depsync-tools")
	if !ok {
		return nil
	}
	var missing []string
	for _, t := range strings.Fields(r.Stdout) {
		if slices.Contains(strings.Fields(want), t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not installed on %s (or not on the PATH): the rsync deployment sync needs it (Debian: apt-get install rsync openssh-client cron util-linux)",
			strings.Join(missing, ", "), h.Addr)
	}
	return nil
}

// runDepSync sets up the rsync deployment sync: the key on the source, its
// restricted entry on every other node, the pinned host keys, nodes list,
// script and crontab on the source, then empties each receiver's
// directories once and runs the first sync.
func runDepSync(ctx context.Context, e *engine.Engine, st playbook.Step) []*engine.Result {
	results := map[*engine.Node]*engine.Result{}
	for _, n := range e.Targets {
		results[n] = &engine.Result{Step: st.Name, Target: n.Name()}
	}
	if e.Inv.DepSync.Method == depsync.MethodSVN {
		return seedSVN(ctx, e, results)
	}
	s := newSyncSetup(e)
	if note := depSyncSkip(e, s); note != "" {
		return skipAll(e, results, note)
	}
	key, err := depSyncKey(ctx, e, s, results[s.source])
	if err != nil {
		return noKey(e, s, results, err)
	}
	pins := authorizeReceivers(ctx, e, s, key, results)
	if r := results[s.source]; r != nil {
		if err := depSyncSource(ctx, e, s, pins, r); err != nil {
			s.source.MarkFailed()
			engine.Fail(r, err)
			return orderedResults(e, results) // nothing is emptied without a working sync
		}
	}
	seedReceivers(ctx, e, s, results)
	return orderedResults(e, results)
}

// noKey reports a source without a key: its own failure when it is a
// target (the others are skipped), else each target's, since the sync the
// inventory asks for cannot reach them.
func noKey(e *engine.Engine, s *syncSetup, results map[*engine.Node]*engine.Result, err error) []*engine.Result {
	if r := results[s.source]; r != nil {
		s.source.MarkFailed()
		engine.Fail(r, err)
		return orderedResults(e, skipOthers(e, results, s.source, "(no deployment-sync key on "+s.source.Name()+")"))
	}
	for _, r := range results {
		engine.Fail(r, err)
	}
	return orderedResults(e, results)
}

// depSyncSkip says why the rsync step does nothing in this run, if it does not.
func depSyncSkip(e *engine.Engine, s *syncSetup) string {
	switch {
	case e.Inv.DepSync.Method == depsync.MethodRegistry:
		return "(method registry: Carbon's registry-based DeploymentSynchronizer in carbon.xml)"
	case e.Inv.DepSync.Method != depsync.MethodRsync:
		return "(no deployment synchronisation: [depsync] method is none)"
	case s == nil:
		return "(no manager to synchronise from)"
	case s.source.IsFailed():
		return "(an earlier step failed on the manager " + s.source.Name() + ")"
	}
	return ""
}

// skipAll marks every result skipped with note.
func skipAll(e *engine.Engine, results map[*engine.Node]*engine.Result, note string) []*engine.Result {
	for _, r := range results {
		r.Status, r.Note = engine.Skipped, note
	}
	return orderedResults(e, results)
}

// skipOthers marks every result but src's skipped with note.
func skipOthers(e *engine.Engine, results map[*engine.Node]*engine.Result, src *engine.Node, note string) map[*engine.Node]*engine.Result {
	for n, r := range results {
		if n != src && r.Status != engine.Failed {
			r.Status, r.Note = engine.Skipped, note
		}
	}
	return results
}

// orderedResults lists results in the order of the targets.
func orderedResults(e *engine.Engine, results map[*engine.Node]*engine.Result) []*engine.Result {
	out := make([]*engine.Result, 0, len(e.Targets))
	for _, n := range e.Targets {
		out = append(out, results[n])
	}
	return out
}

// syncFile writes one of the sync's files on n when its content or mode
// differs, owned by the product user.
func syncFile(ctx context.Context, e *engine.Engine, n *engine.Node, p, content string, mode os.FileMode, res *engine.Result) error {
	cur, err := n.Host.Read(ctx, p)
	if err != nil {
		return err
	}
	if cur.Exists && string(cur.Content) == content && cur.Mode.Perm() == mode {
		return nil
	}
	if err := e.WriteFile(ctx, n.Host, p, []byte(content), n.ProductWrite(mode)); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	verb := "write"
	if cur.Exists && string(cur.Content) == content {
		verb = fmt.Sprintf("chmod %04o", mode)
	}
	res.AddFileChange(verb, p, cur.Content, []byte(content))
	return nil
}
