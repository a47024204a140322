package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/ops"
)

// syncCommand is `carbonctl sync INVENTORY`: one rsync deployment sync now.
func syncCommand() *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "run the rsync deployment sync once now on the manager (for runbooks) and show what it transferred",
		ArgsUsage: "INVENTORY",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "accept-new-host-keys", Usage: "record unknown host keys in known_hosts (a changed key is always refused)"},
		},
		Action: syncNow,
	}
}

func syncNow(c *cli.Context) error {
	if c.NArg() != 1 {
		return cli.Exit("usage: carbonctl sync INVENTORY", exitInput)
	}
	inv, err := inventory.Load(c.Args().First(), os.LookupEnv)
	if err != nil {
		return cli.Exit(err.Error(), exitInput)
	}
	for _, w := range inv.Warnings {
		fmt.Fprintln(c.App.ErrWriter, "warning:", w)
	}
	began := time.Now()
	report, err := ops.Sync(c.Context, inv, options(c, false))
	if errors.Is(err, ops.ErrNoRsyncSync) {
		return cli.Exit(fmt.Sprintf("%s: %v", inv.Path, err), exitInput)
	}
	if report != nil {
		fmt.Fprintf(c.App.Writer, "SYNC from %s (%s)\n%s", report.Source, report.Addr, report.Output)
		if !strings.HasSuffix(report.Output, "\n") {
			fmt.Fprintln(c.App.Writer)
		}
	}
	if err != nil {
		return cli.Exit("sync failed: "+err.Error(), exitFailed)
	}
	fmt.Fprintf(c.App.Writer, "sync ok in %.2fs\n", time.Since(began).Seconds())
	return nil
}
