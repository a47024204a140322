package ops

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/carbonctl/carbonctl/pkg/depsync"
	"github.com/carbonctl/carbonctl/pkg/engine"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// SyncReport is what one `carbonctl sync` did.
type SyncReport struct {
	Source string // the node the sync ran on
	Addr   string // its address
	// Output is what the sync script printed (masked): one summary line
	// per node and directory, the files sent and deleted, a final line.
	Output string
}

// ErrNoRsyncSync says that the inventory does not use the rsync method.
var ErrNoRsyncSync = errors.New(`the inventory's [depsync] method is not "rsync": there is no sync to run`)

// Sync runs the rsync deployment sync once now, on the manager, with the
// script `up` installed there (waiting for a run cron started, if any).
// The error is set when the sync could not run or a node failed; the report
// then holds what the script printed, if it ran.
func Sync(ctx context.Context, inv *inventory.Inventory, opts engine.Options) (*SyncReport, error) {
	if inv.DepSync.Method != depsync.MethodRsync {
		return nil, ErrNoRsyncSync
	}
	mgr := inv.Manager()
	if mgr == nil {
		return nil, errors.New("the inventory has no manager")
	}
	home := nodeHome(inv, *mgr)
	keys, err := remote.NewHostKeys(inv.SSH.KnownHosts, opts.AcceptNewHostKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: ssh.known_hosts: %w", inv.Path, err)
	}
	client, err := opts.Dialer()(ctx, mgr.Host, inv.SSHConfig(mgr.Host, opts.AcceptNewHostKeys), keys)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	out, err := depsync.RunScript(ctx, client, inv.Product.User, path.Join(home, depsync.Dir, depsync.ScriptName))
	masker := engine.NewMasker(inv.Secrets())
	report := &SyncReport{Source: mgr.Name, Addr: mgr.Host, Output: masker.String(out)}
	var failed *depsync.ScriptError
	switch {
	case errors.As(err, &failed):
		return report, fmt.Errorf("the sync script on %s exited with status %d (its output says which nodes failed)", mgr.Name, failed.Code)
	case err != nil:
		return report, errors.New(masker.String(err.Error()))
	}
	return report, nil
}
