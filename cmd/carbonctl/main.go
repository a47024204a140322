// Command carbonctl turns a handful of bare Linux VMs into a working WSO2
// Carbon cluster over SSH, driven by a TOML inventory.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonctl/carbonctl/pkg/engine"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/ops"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/steps"
	"github.com/carbonctl/carbonctl/playbooks"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a step failed
	exitInput  = 2 // bad input or usage
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	go cancelOnSignal(cancel)
	// Everything printed may carry node output: no control characters.
	code := run(ctx, os.Args, engine.NewPrintableWriter(os.Stdout), engine.NewPrintableWriter(os.Stderr))
	cancel(nil)
	writeHeapProfile(os.Stderr)
	os.Exit(code)
}

// cancelOnSignal cancels the run on the first SIGINT (Ctrl-C) or SIGTERM,
// which stops its remote commands, and restores the default handling, so
// that a second one ends the process at once.
func cancelOnSignal(cancel context.CancelCauseFunc) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	sig := <-sigs
	signal.Stop(sigs)
	fmt.Fprintln(os.Stderr, "carbonctl: interrupted: stopping the remote commands of this run (Ctrl-C again to quit at once)")
	cancel(fmt.Errorf("%v signal received", sig))
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if name, ok := unknownCommand(app, args); ok {
		fmt.Fprintf(stderr, "carbonctl: unknown command %q: run carbonctl --help for the commands\n", name)
		return exitInput
	}
	err := app.RunContext(ctx, flagsFirst(app, args))
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := ec.Error(); msg != "" {
			fmt.Fprintln(stderr, "carbonctl:", msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintln(stderr, "carbonctl:", err)
	return exitInput
}

// unknownCommand returns the first argument when it names no command.
func unknownCommand(app *cli.App, args []string) (string, bool) {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return "", false
	}
	return args[1], app.Command(args[1]) == nil
}

// runFlags are the flags of every command that runs steps on the cluster;
// joinUsage says what --join-timeout bounds for that command.
func runFlags(joinUsage string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "limit", Usage: "work only on these nodes (comma-separated names)"},
		&cli.IntFlag{Name: "forks", Value: 10, Usage: "hosts worked on at once"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "connect and step timings; with plan, every dbscript statement"},
		&cli.BoolFlag{Name: "accept-new-host-keys", Usage: "record unknown host keys in known_hosts (a changed key is always refused)"},
		&cli.DurationFlag{Name: "start-timeout", Value: 5 * time.Minute, Usage: "per node, until the product logs that it started"},
		&cli.DurationFlag{Name: "join-timeout", Value: 2 * time.Minute, Usage: joinUsage},
	}
}

func newApp(stdout, stderr io.Writer) *cli.App {
	runFlags := runFlags("until every node logs \"Member joined\" for every peer")
	return &cli.App{
		Name:            "carbonctl",
		Usage:           "build and converge WSO2 Carbon clusters over SSH",
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		Commands: []*cli.Command{
			{
				Name: "up", Usage: "converge the cluster described by INVENTORY", ArgsUsage: "INVENTORY",
				Flags:  append([]cli.Flag{&cli.BoolFlag{Name: "diff", Usage: "show the diff of every file changed"}, breakLockFlag(), allowDowntimeFlag()}, runFlags...),
				Action: func(c *cli.Context) error { return converge(c, true) },
			},
			{
				Name: "plan", Usage: "show what `up` would change (files with diffs, SQL, starts); changes nothing", ArgsUsage: "INVENTORY",
				Flags:  runFlags,
				Action: func(c *cli.Context) error { return converge(c, false) },
			},
			{
				Name: "validate", Usage: "check INVENTORY and its playbook without connecting anywhere", ArgsUsage: "INVENTORY",
				Action: validate,
			},
			syncCommand(),
			statusCommand(),
			logsCommand(),
			lifecycleCommand(ops.OpStart), lifecycleCommand(ops.OpStop), lifecycleCommand(ops.OpRestart),
			addNodeCommand(), removeNodeCommand(),
			{
				Name: "playbooks", Usage: "list the built-in playbooks",
				Action: listPlaybooks,
			},
			{
				Name: "version", Usage: "print the version",
				Action: func(c *cli.Context) error { fmt.Fprintln(c.App.Writer, "carbonctl", version()); return nil },
			},
		},
	}
}

// load reads the inventory and its product groups; errors exit with code 2.
func load(c *cli.Context) (*inventory.Inventory, []engine.Group, error) {
	if c.NArg() != 1 {
		return nil, nil, cli.Exit(fmt.Sprintf("usage: carbonctl %s INVENTORY", c.Command.Name), exitInput)
	}
	return loadFile(c, c.Args().First())
}

// loadFile reads the inventory at p, splits it into product groups with
// their playbooks and checks it against them (variables and the guides'
// rules); errors exit with code 2.
func loadFile(c *cli.Context, p string) (*inventory.Inventory, []engine.Group, error) {
	inv, err := inventory.Load(p, os.LookupEnv)
	if err != nil {
		return nil, nil, cli.Exit(err.Error(), exitInput)
	}
	for _, w := range inv.Warnings {
		fmt.Fprintln(c.App.ErrWriter, "warning:", w)
	}
	groups, err := engine.Groups(inv, func(name string) (*playbook.Playbook, error) { return playbook.Load(playbooks.FS, name, steps.Kinds()) })
	if err == nil {
		err = engine.Check(groups)
	}
	if err != nil {
		return nil, nil, cli.Exit(err.Error(), exitInput)
	}
	return inv, groups, nil
}

// count says "1 step" or "N steps".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// groupOf returns the group that holds node name, or the first group.
func groupOf(groups []engine.Group, name string) engine.Group {
	for _, g := range groups {
		if g.Inv.Node(name) != nil {
			return g
		}
	}
	return groups[0]
}

// converge runs the playbook: applying for `up`, planning for `plan`.
func converge(c *cli.Context, apply bool) error {
	_, groups, err := load(c)
	if err != nil {
		return err
	}
	began := time.Now()
	report, err := engine.Run(c.Context, groups, options(c, apply))
	if report == nil {
		return cli.Exit(err.Error(), exitInput)
	}
	report.PrintRecap(c.App.Writer, !apply)
	verb := "changed"
	if !apply {
		verb = "to change"
	}
	fmt.Fprintf(c.App.Writer, "\n%d %s, %s in %.2fs\n", report.Changed(), verb, outcome(report, err), time.Since(began).Seconds())
	if err != nil {
		return cli.Exit("interrupted: "+err.Error()+" (re-run to converge)", exitFailed)
	}
	if report.Failed() {
		return cli.Exit("", exitFailed)
	}
	return nil
}

func outcome(r *engine.Report, err error) string {
	switch {
	case err != nil:
		return "interrupted"
	case r.Failed():
		return "FAILED"
	}
	return "ok"
}

func validate(c *cli.Context) error {
	inv, groups, err := load(c)
	if err != nil {
		return err
	}
	var parts []string
	for _, g := range groups {
		managers, workers := 0, 0
		for _, n := range g.Inv.Nodes {
			if n.Role == inventory.RoleManager {
				managers++
			} else {
				workers++
			}
		}
		parts = append(parts, fmt.Sprintf("playbook %s (%s, %s), %d manager(s), %d worker(s)", g.PB.Name,
			count(len(g.PB.Steps), "step"), count(len(g.PB.Rules), "rule"), managers, workers))
	}
	fmt.Fprintf(c.App.Writer, "%s: ok — cluster %s, %s, database %s:%d, %s\n",
		inv.Path, inv.Cluster.Name, strings.Join(parts, "; "), inv.Database.Host, inv.Database.Port, steps.JavaSummary(inv))
	return nil
}

func listPlaybooks(c *cli.Context) error {
	for _, name := range playbook.Names(playbooks.FS) {
		pb, err := playbook.Load(playbooks.FS, name, steps.Kinds())
		if err != nil {
			return cli.Exit(err.Error(), exitFailed)
		}
		fmt.Fprintf(c.App.Writer, "%-24s %s\n", pb.Name, pb.Description)
	}
	return nil
}

// flagsFirst moves a command's flags in front of its arguments, so that
// `carbonctl up inv.toml --diff` works like `carbonctl up --diff inv.toml`
// (urfave/cli stops parsing flags at the first argument). "--" ends flags.
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		tv, ok := f.(interface{ TakesValue() bool })
		for _, name := range f.Names() {
			takesValue[name] = ok && tv.TakesValue()
		}
	}
	var flags, positional []string
	rest := args[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			positional = append(positional, rest[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
			i++
			flags = append(flags, rest[i])
		}
	}
	out := append([]string{args[0], args[1]}, flags...)
	return append(out, positional...)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// version reports the module version or VCS revision the binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
