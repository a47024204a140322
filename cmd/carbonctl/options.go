package main

import (
	"github.com/urfave/cli/v2"

	"github.com/carbonctl/carbonctl/pkg/engine"
)

// options are the engine options from a command's flags: the one place
// that turns flags into engine.Options, for every command that connects.
// Flags a command lacks read as unset; apply says whether the command
// changes hosts (up, add-node, remove-node, start, stop, restart) or only
// reads them (plan, status, sync).
func options(c *cli.Context, apply bool) engine.Options {
	return engine.Options{
		Apply: apply, Limit: splitList(c.String("limit")), Forks: c.Int("forks"), ShowDiff: apply && c.Bool("diff"), Verbose: c.Bool("verbose"),
		StartTimeout: c.Duration("start-timeout"), JoinTimeout: c.Duration("join-timeout"),
		AcceptNewHostKeys: c.Bool("accept-new-host-keys"), Out: c.App.Writer, Command: c.Command.Name,
		BreakLock: apply && c.Bool("break-lock"), AllowDowntime: apply && c.Bool("allow-downtime"),
	}
}
