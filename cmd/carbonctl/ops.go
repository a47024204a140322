package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonctl/carbonctl/pkg/ops"
)

// breakLockFlag lets a changing command break a stale run lock.
func breakLockFlag() cli.Flag {
	return &cli.BoolFlag{Name: "break-lock", Usage: "break the cluster's run lock if it is stale (its run died, or it is over 6h old)"}
}

// allowDowntimeFlag is --allow-downtime of the commands that converge.
func allowDowntimeFlag() cli.Flag {
	return &cli.BoolFlag{Name: "allow-downtime", Usage: "carry out a change that running members cannot bridge (clustering domain, membership scheme, clustering on/off, ...) as a full restart: stop every node of the product, then start the manager first"}
}

// statusCommand is `carbonctl status`.
func statusCommand() *cli.Command {
	return &cli.Command{
		Name: "status", Usage: "show every node's process, ports, peers and configuration drift", ArgsUsage: "INVENTORY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			&cli.StringFlag{Name: "limit", Usage: "only these nodes (comma-separated names)"},
			&cli.IntFlag{Name: "forks", Value: 10, Usage: "hosts worked on at once"},
			&cli.BoolFlag{Name: "accept-new-host-keys", Usage: "record unknown host keys in known_hosts (a changed key is always refused)"},
		},
		Action: status,
	}
}

// status prints the cluster's status; it exits 1 unless everything is healthy.
func status(c *cli.Context) error {
	format := c.String("output")
	if format != "table" && format != "json" {
		return cli.Exit(fmt.Sprintf("--output: %q is neither table nor json", format), exitInput)
	}
	_, groups, err := load(c)
	if err != nil {
		return err
	}
	st, err := ops.ReadStatus(c.Context, groups, options(c, false))
	if st == nil {
		return cli.Exit(err.Error(), exitInput)
	}
	if err != nil {
		return cli.Exit("interrupted: "+err.Error(), exitFailed)
	}
	if format == "json" {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return cli.Exit(err.Error(), exitFailed)
		}
	} else {
		st.WriteTable(c.App.Writer)
	}
	if !st.Healthy {
		return cli.Exit("", exitFailed)
	}
	return nil
}

// nodeArg checks the NODE argument of a command taking INVENTORY NODE.
func nodeArg(c *cli.Context) (string, error) {
	if c.NArg() != 2 {
		return "", cli.Exit(fmt.Sprintf("usage: carbonctl %s INVENTORY NODE", c.Command.Name), exitInput)
	}
	return strings.TrimSpace(c.Args().Get(1)), nil
}

// logsCommand is `carbonctl logs`.
func logsCommand() *cli.Command {
	return &cli.Command{
		Name: "logs", Usage: "print (and with -f follow) a node's wso2carbon.log over SSH", ArgsUsage: "INVENTORY NODE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing what the node logs, until Ctrl-C"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: 20, Usage: "print the last N lines first"},
			&cli.BoolFlag{Name: "accept-new-host-keys", Usage: "record unknown host keys in known_hosts (a changed key is always refused)"},
		},
		Action: logs,
	}
}

// logs streams a node's log; Ctrl-C ends a -f follow normally.
func logs(c *cli.Context) error {
	name, err := nodeArg(c)
	if err != nil {
		return err
	}
	_, groups, err := loadFile(c, c.Args().First())
	if err != nil {
		return err
	}
	g := groupOf(groups, name)
	o := ops.LogOptions{Lines: c.Int("lines"), Follow: c.Bool("follow"), AcceptNewHostKeys: c.Bool("accept-new-host-keys")}
	err = ops.StreamLog(c.Context, g.Inv, g.PB, name, o, c.App.Writer, c.App.ErrWriter)
	var usage *ops.UsageError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &usage):
		return cli.Exit(err.Error(), exitInput)
	case o.Follow && c.Context.Err() != nil:
		return nil // Ctrl-C is how a follow ends
	}
	return cli.Exit(err.Error(), exitFailed)
}

// lifecycleUsage describes start, stop and restart.
func lifecycleUsage(op string) string {
	switch op {
	case ops.OpStart:
		return "start the nodes that are not running: managers first, then workers"
	case ops.OpStop:
		return "stop the nodes: workers first, then managers"
	}
	return "rolling restart: one worker at a time, each rejoining before the next; managers last"
}

// lifecycleCommand is `carbonctl start`, `stop` or `restart` (op).
func lifecycleCommand(op string) *cli.Command {
	return &cli.Command{
		Name: op, Usage: lifecycleUsage(op), ArgsUsage: "INVENTORY",
		Flags:  append(runFlags("until the peers log \"Member joined\" for a (re)started node"), breakLockFlag()),
		Action: func(c *cli.Context) error { return lifecycle(c, op) },
	}
}

// lifecycle runs one of start, stop and restart.
func lifecycle(c *cli.Context, op string) error {
	_, groups, err := load(c)
	if err != nil {
		return err
	}
	began := time.Now()
	report, err := ops.Operate(c.Context, groups, options(c, true), op)
	if report == nil {
		return cli.Exit(err.Error(), exitInput)
	}
	report.PrintRecap(c.App.Writer, false)
	fmt.Fprintf(c.App.Writer, "\n%d changed, %s in %.2fs\n", report.Changed(), outcome(report, err), time.Since(began).Seconds())
	if err != nil {
		return cli.Exit("interrupted: "+err.Error(), exitFailed)
	}
	if report.Failed() {
		return cli.Exit("", exitFailed)
	}
	return nil
}
