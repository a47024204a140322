package steps

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// keyComment names the deployment-sync key in .pub files and authorized_keys.
func (s *syncSetup) keyComment() string { return "carbonctl-depsync@" + s.cluster }

// depSyncKey returns the source's deployment-sync public key, generating
// the key pair on the source (as the product user, never leaving it) when
// there is none. In a plan the key a run would generate is a placeholder.
func depSyncKey(ctx context.Context, e *engine.Engine, s *syncSetup, res *engine.Result) (depsync.PublicKey, error) {
	src := s.source
	keyPath := depsyncPath(src, depsync.KeyName)
	pub, err := src.Host.Read(ctx, keyPath+".pub")
	if err != nil {
		return depsync.PublicKey{}, err
	}
	probe, _ := src.Host.Probe("depsync-key:" + src.Name())
	key, parseErr := depsync.ParsePublicKey(string(pub.Content))
	if pub.Exists && parseErr == nil && strings.TrimSpace(probe.Stdout) == "yes" {
		return key, nil
	}
	if res == nil {
		return depsync.PublicKey{}, fmt.Errorf("%s has no deployment-sync key yet: run carbonctl up with %s included", src.Name(), src.Name())
	}
	if err := checkTools(src.Host, sourceTools); err != nil {
		return depsync.PublicKey{}, err
	}
	desc := fmt.Sprintf("generate the deployment-sync key pair %s (ed25519, on %s, for %s)", keyPath, src.Name(), s.user)
	if e.Planning() {
		res.AddChange(desc, "")
		return depsync.PublicKey{Type: "ssh-ed25519", Blob: "(key-generated-on-" + src.Name() + "-by-this-run)"}, nil
	}
	out, err := engine.RunScriptOut(ctx, src.Host, s.user, keygenScript(keyPath, s.keyComment()), nil, "generate the deployment-sync key")
	if err != nil {
		return depsync.PublicKey{}, err
	}
	if key, err = depsync.ParsePublicKey(out); err != nil {
		return depsync.PublicKey{}, fmt.Errorf("ssh-keygen on %s: %w", src.Host.Addr, err)
	}
	src.Host.Remember(keyPath+".pub", []byte(out))
	res.AddChange(desc, "")
	return key, nil
}

// keygenScript creates the key pair unless both halves exist, then prints
// the public key. The directory stays searchable (carbonctl reads the
// public key and checks the private one without privileges); the private
// key is the product user's alone.
func keygenScript(keyPath, comment string) string {
	k := remote.Quote(keyPath)
	return fmt.Sprintf(`set -e
umask 022
mkdir -p "$(dirname %[1]s)"
umask 077
if [ ! -f %[1]s ] || [ ! -f %[1]s.pub ]; then
	rm -f %[1]s %[1]s.pub
	ssh-keygen -q -t ed25519 -N '' -C %[2]s -f %[1]s
	chmod 0644 %[1]s.pub
fi
cat %[1]s.pub`, k, remote.Quote(comment))
}

// depSyncSource writes the source's pinned host keys, nodes list, sync
// script and crontab entry.
func depSyncSource(ctx context.Context, e *engine.Engine, s *syncSetup, pins []depsync.HostKey, res *engine.Result) error {
	src := s.source
	if err := checkTools(src.Host, sourceTools); err != nil {
		return err
	}
	targets := s.targets()
	cfg := depsync.ScriptConfig{Cluster: s.cluster, Source: src.Vars.Node.Home, User: s.user, Directories: s.dirs}
	if err := firstErr(cfg.Check(), depsync.CheckTargets(targets)); err != nil {
		return err
	}
	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{depsync.KnownHostsName, depsync.KnownHosts(s.cluster, pins), 0o644},
		{depsync.NodesName, depsync.NodesFile(s.cluster, targets), 0o644},
		{depsync.ScriptName, depsync.SyncScript(cfg), 0o755},
	}
	for _, f := range files {
		if err := syncFile(ctx, e, src, depsyncPath(src, f.name), f.content, f.mode, res); err != nil {
			return err
		}
	}
	return depSyncCrontab(ctx, e, s, res)
}

// targets lists the receivers for the nodes file.
func (s *syncSetup) targets() []depsync.Target {
	var out []depsync.Target
	for _, n := range s.receivers {
		out = append(out, depsync.Target{Name: n.Name(), Addr: n.Vars.Node.Host, Port: s.port, Home: n.Vars.Node.Home})
	}
	return out
}

// depSyncCrontab puts the sync's entry into the product user's crontab,
// inside the cluster's carbonctl block.
func depSyncCrontab(ctx context.Context, e *engine.Engine, s *syncSetup, res *engine.Result) error {
	h := s.source.Host
	cur, err := readCrontab(ctx, h, s.user)
	if err != nil {
		return err
	}
	want, err := depsync.Crontab(cur, s.cluster, e.Inv.DepSync.Schedule, depsyncPath(s.source, depsync.ScriptName))
	if err != nil {
		return fmt.Errorf("crontab of %s on %s: %w", s.user, h.Addr, err)
	}
	if want == cur {
		return nil
	}
	desc, diff := engine.FileChange("install", "crontab of "+s.user, []byte(cur), []byte(want))
	if err := e.Change(res, desc, diff, func() error {
		script := "crontab -u " + remote.Quote(s.user) + " -"
		return engine.RunScript(ctx, h, "root", script, strings.NewReader(want), "install the crontab of "+s.user)
	}); err != nil {
		return err
	}
	h.Remember(cronSpools(s.user)[0], []byte(want))
	return nil
}

// readCrontab returns the user's crontab as `crontab -l` would show it,
// from cron's spool (read as root by Gather when the login user cannot).
func readCrontab(ctx context.Context, h *engine.Host, user string) (string, error) {
	for _, p := range cronSpools(user) {
		f, err := h.Read(ctx, p)
		if err != nil {
			return "", err
		}
		if f.Exists && !f.IsDir {
			return depsync.CrontabFromSpool(f.Content), nil
		}
	}
	return "", nil
}
