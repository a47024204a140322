package playbook

import (
	"fmt"

	"github.com/carbonctl/carbonctl/pkg/depsync"
)

// DepSync is a playbook's [depsync] table: the product's defaults for the
// inventory's [depsync].
type DepSync struct {
	// Directories are synchronised by the rsync method when the inventory
	// names none, relative to CARBON_HOME; each only where the source node
	// has it.
	Directories []string `toml:"directories"`
	// SVNEmpty are emptied once on every node but the manager before the
	// svn method's first checkout, as the ESB guide asks, relative to
	// CARBON_HOME.
	SVNEmpty []string `toml:"svn_empty"`
}

// check validates the directories and cleans them (no trailing slash).
func (d *DepSync) check() error {
	for i, dir := range d.Directories {
		clean, err := depsync.CheckDirectory(dir)
		if err != nil {
			return fmt.Errorf("[depsync] directories: %v", err)
		}
		d.Directories[i] = clean
	}
	if outer, inner, found := depsync.Overlap(d.Directories); found {
		return fmt.Errorf("[depsync] directories: %q and %q overlap", outer, inner)
	}
	for i, dir := range d.SVNEmpty {
		clean, err := depsync.CheckDirectory(dir)
		if err != nil {
			return fmt.Errorf("[depsync] svn_empty: %v", err)
		}
		d.SVNEmpty[i] = clean
	}
	return nil
}
