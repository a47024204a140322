package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/carbonctl/carbonctl/pkg/engine"
	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/ops"
	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/steps"
	"github.com/carbonctl/carbonctl/playbooks"
)

// nodeRunFlags are the flags of add-node and remove-node: those of `up`
// without --limit (membership changes concern every node), plus --dry-run.
func nodeRunFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "dry-run", Usage: "show the inventory change and the plan of the new inventory; write and change nothing"},
		&cli.BoolFlag{Name: "diff", Usage: "show the diff of every file changed"},
		breakLockFlag(), allowDowntimeFlag(),
	}
	for _, f := range runFlags("until every node logs \"Member joined\" for every peer") {
		if f.Names()[0] != "limit" {
			flags = append(flags, f)
		}
	}
	return flags
}

// addNodeCommand is `carbonctl add-node`.
func addNodeCommand() *cli.Command {
	return &cli.Command{
		Name: "add-node", Usage: "append a node to INVENTORY, provision and start it, update its peers (rolling)", ArgsUsage: "INVENTORY",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "the new node's name", Required: true},
			&cli.StringFlag{Name: "host", Usage: "its IP address", Required: true},
			&cli.StringFlag{Name: "role", Usage: "worker or manager", Required: true},
			&cli.IntFlag{Name: "port-offset", Usage: "its port offset (default 0, or the next free one on a shared host)"},
			&cli.BoolFlag{Name: "wka", Usage: "make it a well-known member (every node's <members> list changes)"},
			&cli.StringFlag{Name: "product", Usage: "KEY of the [products.KEY] it runs (default [product])"},
		}, nodeRunFlags()...),
		Action: addNode,
	}
}

// removeNodeCommand is `carbonctl remove-node`.
func removeNodeCommand() *cli.Command {
	return &cli.Command{
		Name: "remove-node", Usage: "stop a node, take it out of INVENTORY and update its peers (rolling)", ArgsUsage: "INVENTORY",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "the node to remove", Required: true},
			&cli.BoolFlag{Name: "force", Usage: "remove the node even when it cannot be stopped (its host is down or gone)"},
		}, nodeRunFlags()...),
		Action: removeNode,
	}
}

// addNode runs `carbonctl add-node`.
func addNode(c *cli.Context) error {
	inv, raw, err := loadRaw(c)
	if err != nil {
		return err
	}
	entry := inventory.NodeEntry{Name: c.String("name"), Host: c.String("host"), Role: c.String("role"), WKA: c.Bool("wka"), Product: c.String("product")}
	if inv.Node(entry.Name) != nil {
		return cli.Exit(fmt.Sprintf("%s:%d: node %q already exists: choose another --name", inv.Path, inv.Node(entry.Name).Line, entry.Name), exitInput)
	}
	var offset *int
	if c.IsSet("port-offset") {
		k := c.Int("port-offset")
		offset = &k
	}
	note := inv.Place(&entry, offset)
	data, err := inventory.AppendNode(raw, entry)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%s: %v", inv.Path, err), exitInput)
	}
	newInv, groups, err := parseEdited(c, inv, data, "with node "+entry.Name+" appended")
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "add-node: %s gains this [[node]] table (line %d):\n\n%s\n", inv.Path, newInv.Node(entry.Name).Line, indent(inserted(raw, data)))
	if note != "" {
		fmt.Fprintln(w, note)
	}
	fail := fmt.Sprintf("node %s is in %s now: fix the problem and run `carbonctl up %s` again, or take it out with `carbonctl remove-node %s --name %s`",
		entry.Name, inv.Path, inv.Path, inv.Path, entry.Name)
	return applyEdit(c, inv, raw, data, groups, fail)
}

// removeNode runs `carbonctl remove-node`.
func removeNode(c *cli.Context) error {
	inv, raw, err := loadRaw(c)
	if err != nil {
		return err
	}
	name := c.String("name")
	n := inv.Node(name)
	if n == nil {
		return cli.Exit(fmt.Sprintf("%s: no node named %q", inv.Path, name), exitInput)
	}
	if inv.IsLastManager(*n) {
		return cli.Exit(fmt.Sprintf("%s:%d: %s is the last manager of its product: add another manager first (carbonctl add-node --role manager)", inv.Path, n.Line, name), exitInput)
	}
	data, pins, err := inv.WithoutNode(raw, name)
	if err != nil {
		return cli.Exit(fmt.Sprintf("%s: %v", inv.Path, err), exitInput)
	}
	_, groups, err := parseEdited(c, inv, data, "without node "+name)
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "remove-node: stop %s on %s, then take its [[node]] table (line %d) out of %s", name, n.Host, n.Line, inv.Path)
	for _, p := range pins {
		fmt.Fprintf(w, "\n  and pin %s", p)
	}
	fmt.Fprintln(w)
	if c.Bool("dry-run") {
		return applyEdit(c, inv, raw, data, groups, "")
	}
	if err := stopNode(c, inv, name); err != nil {
		if !c.Bool("force") {
			return cli.Exit(fmt.Sprintf("%v; %s is unchanged (--force removes the node anyway)", err, inv.Path), exitFailed)
		}
		fmt.Fprintf(w, "warning: %v; removing it anyway (--force): if its host comes back, stop it there by hand\n", err)
	}
	fail := fmt.Sprintf("%s no longer lists %s (the previous version is %s.bak): fix the problem and run `carbonctl up %s` again", inv.Path, name, inv.Path, inv.Path)
	return applyEdit(c, inv, raw, data, groups, fail)
}

// stopNode stops the node called name with the inventory that still lists
// it, under the run lock; the error says why it could not.
func stopNode(c *cli.Context, inv *inventory.Inventory, name string) error {
	groups, err := checkedGroups(inv)
	if err != nil {
		return err
	}
	o := options(c, true)
	o.Limit = []string{name}
	report, err := ops.Operate(c.Context, groups, o, ops.OpRetire)
	if report != nil && err == nil && !report.Failed() {
		return nil
	}
	if report != nil {
		report.PrintRecap(c.App.Writer, false)
	}
	if err == nil {
		err = errors.New("the stop step failed (see above)")
	}
	return fmt.Errorf("could not stop %s: %w", name, err)
}

// loadRaw loads and checks the inventory and reads its bytes.
func loadRaw(c *cli.Context) (*inventory.Inventory, []byte, error) {
	if c.NArg() != 1 {
		return nil, nil, cli.Exit(fmt.Sprintf("usage: carbonctl %s INVENTORY --name NAME ...", c.Command.Name), exitInput)
	}
	inv, _, err := loadFile(c, c.Args().First())
	if err != nil {
		return nil, nil, err
	}
	raw, err := os.ReadFile(inv.Path)
	if err != nil {
		return nil, nil, cli.Exit(err.Error(), exitInput)
	}
	return inv, raw, nil
}

// parseEdited validates the edited inventory data like Load and `validate`
// do; how says what the edit was, for the message.
func parseEdited(c *cli.Context, inv *inventory.Inventory, data []byte, how string) (*inventory.Inventory, []engine.Group, error) {
	newInv, err := inventory.Parse(inv.Path, inv.Dir, data, os.LookupEnv, inventory.Options{CheckFiles: true})
	if err == nil {
		var groups []engine.Group
		if groups, err = checkedGroups(newInv); err == nil {
			return newInv, groups, nil
		}
	}
	return nil, nil, cli.Exit(fmt.Sprintf("%s %s would not be valid (%s is unchanged; line numbers are those of the edited file):\n%v", inv.Path, how, inv.Path, err), exitInput)
}

// checkedGroups splits inv into product groups and checks them.
func checkedGroups(inv *inventory.Inventory) ([]engine.Group, error) {
	groups, err := engine.Groups(inv, func(name string) (*playbook.Playbook, error) { return playbook.Load(playbooks.FS, name, steps.Kinds()) })
	if err != nil {
		return nil, err
	}
	return groups, engine.Check(groups)
}

// applyEdit plans the new inventory (--dry-run), or writes it and converges
// the cluster with it; fail is the advice printed when `up` fails.
func applyEdit(c *cli.Context, inv *inventory.Inventory, raw, data []byte, groups []engine.Group, fail string) error {
	w := c.App.Writer
	apply := !c.Bool("dry-run")
	if err := engine.ResolveNames(c.Context, groups); err != nil { // before the file is written
		return cli.Exit(fmt.Sprintf("%v\n%s is unchanged", err, inv.Path), exitInput)
	}
	if apply {
		if err := inventory.Replace(inv.Path, raw, data); err != nil {
			return cli.Exit(err.Error(), exitFailed)
		}
		fmt.Fprintf(w, "wrote %s (the previous version is %s.bak)\n", inv.Path, inv.Path)
	} else {
		fmt.Fprintf(w, "dry run: %s is not written; the plan of the new inventory follows\n", inv.Path)
	}
	began := time.Now()
	report, err := engine.Run(c.Context, groups, options(c, apply))
	if report == nil {
		return cli.Exit(fmt.Sprintf("%v\n%s", err, fail), exitFailed)
	}
	report.PrintRecap(w, !apply)
	verb := map[bool]string{true: "changed", false: "to change"}[apply]
	fmt.Fprintf(w, "\n%d %s, %s in %.2fs\n", report.Changed(), verb, outcome(report, err), time.Since(began).Seconds())
	switch {
	case err != nil:
		return cli.Exit("interrupted: "+err.Error()+"\n"+fail, exitFailed)
	case report.Failed() && apply:
		return cli.Exit(fail, exitFailed)
	case report.Failed():
		return cli.Exit("", exitFailed)
	}
	return nil
}

// inserted returns the bytes that data has and raw has not, when data is
// raw with one run of bytes inserted.
func inserted(raw, data []byte) []byte {
	i := 0
	for i < len(raw) && raw[i] == data[i] {
		i++
	}
	j := 0
	for j < len(raw)-i && raw[len(raw)-1-j] == data[len(data)-1-j] {
		j++
	}
	return data[i : len(data)-j]
}

// indent prefixes every non-empty line of text with four spaces.
func indent(text []byte) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString("    " + strings.TrimRight(l, "\r"))
		}
		b.WriteString("\n")
	}
	return b.String()
}
