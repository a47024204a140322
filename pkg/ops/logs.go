// Package ops holds the operations on a cluster that are not playbook
// steps: start, stop, restart and retire (Operate, under the run lock, with
// the start kind's node actions), status (ReadStatus: a silent plan plus
// ports, units and membership), following a node's log and running the
// deployment sync once.
package ops

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

// LogOptions say what `carbonctl logs` shows.
type LogOptions struct {
	Lines             int  // the last Lines lines
	Follow            bool // then keep printing what is appended, until ctx ends
	AcceptNewHostKeys bool
}

// StreamLog copies the tail of a node's product log to stdout, following it
// with Follow until ctx ends (which stops the remote tail). It runs as the
// product user.
func StreamLog(ctx context.Context, inv *inventory.Inventory, pb *playbook.Playbook, name string, o LogOptions, stdout, stderr io.Writer) error {
	n := inv.Node(name)
	if n == nil {
		return &UsageError{Msg: fmt.Sprintf("no node named %q in %s", name, inv.Path)}
	}
	if o.Lines < 0 {
		return &UsageError{Msg: fmt.Sprintf("-n %d: the number of lines cannot be negative", o.Lines)}
	}
	keys, err := remote.NewHostKeys(inv.SSH.KnownHosts, o.AcceptNewHostKeys)
	if err != nil {
		return &UsageError{Msg: fmt.Sprintf("%s: ssh.known_hosts: %v", inv.Path, err)}
	}
	c, err := remote.Dial(ctx, n.Host, inv.SSHConfig(n.Host, o.AcceptNewHostKeys), keys)
	if err != nil {
		return err
	}
	defer c.Close()
	code, err := c.Stream(ctx, inv.Product.User, tailScript(path.Join(nodeHome(inv, *n), pb.Start.Log), o), stdout, stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("tail of %s on %s exited with status %d", pb.Start.Log, n.Host, code)
	}
	return nil
}

// tailScript prints the last lines of file and, to follow it, keeps
// printing what is appended (by name, so a rotated log is followed too).
func tailScript(file string, o LogOptions) string {
	follow := ""
	if o.Follow {
		follow = "-F "
	}
	return fmt.Sprintf("exec tail -n %d %s%s", o.Lines, follow, remote.Quote(file))
}

// UsageError is a mistake in the command line or inventory (exit code 2).
type UsageError struct{ Msg string }

// Error is the usage problem, for the CLI to print.
func (e *UsageError) Error() string { return e.Msg }

// nodeHome is node n's CARBON_HOME: its own home, else the product's.
func nodeHome(inv *inventory.Inventory, n inventory.Node) string {
	if n.Home != "" {
		return n.Home
	}
	return inv.Product.Home
}
