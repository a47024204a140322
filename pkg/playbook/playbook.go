// Package playbook loads product playbooks: the per-product knowledge (which
// files to patch and how, which databases and scripts, how to start a node)
// kept as TOML data so that the engine stays product-agnostic.
package playbook

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/playbooks"
)

// Playbook is one product's list of steps.
type Playbook struct {
	Name        string `toml:"name"`
	Description string `toml:"description"`
	// Domain is the clustering domain used when the inventory sets none.
	Domain string `toml:"domain"`
	Start  Start  `toml:"start"`
	// Java lists the Java versions the product supports.
	Java Java `toml:"java"`
	// DepSync holds the product's defaults for [depsync] in the inventory.
	DepSync DepSync `toml:"depsync"`
	// Vars declares the product settings the templates use (.Vars.KEY),
	// each with its default and the pattern every value must match; an
	// inventory's [vars] may override them with values of the same type.
	Vars map[string]*Var `toml:"vars"`
	// Rules are the product guide's rules an inventory must follow.
	Rules []Rule `toml:"rule"`
	// Ports are the product's own ports beyond Carbon's (9443, 9763,
	// 8280, 8243), by name, before the node's port offset: e.g. MB's AMQP
	// port. validate checks them for clashes like Carbon's.
	Ports map[string]int `toml:"ports"`
	Steps []Step         `toml:"-"` // decoded by Parse through the step kinds
	// Source is where the playbook was read from (embedded name or path).
	Source string `toml:"-"`
}

// Rule is one rule of the product's guide, checked before anything runs.
type Rule struct {
	// Check is a template that must render "true" for every node of the
	// playbook (rendered with .Node set).
	Check string `toml:"check"`
	// Message explains the rule to the operator whose inventory breaks it.
	Message string `toml:"message"`
}

// Java is a playbook's [java] table.
type Java struct {
	// Versions are the Java versions the product runs on, as Java names
	// its feature releases: "1.7", "1.8", then "9", "11", "17"...
	Versions []string `toml:"versions"`
}

// Start describes how a node of the product is started and observed.
type Start struct {
	Script         string   `toml:"script"`          // relative to CARBON_HOME
	SetupArg       string   `toml:"setup_arg"`       // given to the manager on its very first start
	ManagerArgs    []string `toml:"manager_args"`    // always given to managers
	WorkerArgs     []string `toml:"worker_args"`     // always given to workers
	PidFile        string   `toml:"pid_file"`        // relative to CARBON_HOME
	Log            string   `toml:"log"`             // relative to CARBON_HOME
	StartedPattern string   `toml:"started_pattern"` // log text that says start-up finished
	JoinedPattern  string   `toml:"joined_pattern"`  // log text before "/IP:PORT" of a peer that joined
	LeftPattern    string   `toml:"left_pattern"`    // log text before "/IP:PORT" of a peer that left
	StartingLine   string   `toml:"starting_pattern"`
}

// Step is one entry of a playbook: its name, its type and when it applies;
// the fields of its type are the type's own (Kind), decoded by the kind
// that the registry names for Type.
type Step struct {
	Name string `toml:"name"`
	Type string `toml:"type"`
	// When is a template that must render "true" for the step to apply to a node.
	When string `toml:"when"`
	// Kind holds the fields of the step's type.
	Kind Kind `toml:"-"`
}

// Kind is the fields of one step type, decoded from the step's table and
// checked when the playbook loads.
type Kind interface {
	// Check reports what is wrong with the fields.
	Check() error
}

// Kinds is the registry of step types the loader consults.
type Kinds interface {
	// New returns a new, empty Kind of type typ to decode a step's fields
	// into, or false when no kind has that type.
	New(typ string) (Kind, bool)
}

// ExtraPorts lists Ports in name order.
func (pb *Playbook) ExtraPorts() []inventory.Port {
	names := make([]string, 0, len(pb.Ports))
	for k := range pb.Ports {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]inventory.Port, len(names))
	for i, k := range names {
		out[i] = inventory.Port{Name: k, Base: pb.Ports[k]}
	}
	return out
}

// Load returns the built-in playbook called nameOrPath, or reads the file at
// nameOrPath when it looks like a path.
func Load(builtin fs.FS, nameOrPath string, kinds Kinds) (*Playbook, error) {
	if strings.Contains(nameOrPath, "/") || strings.HasSuffix(nameOrPath, ".toml") {
		data, err := inventory.ReadRegular(nameOrPath, inventory.MaxInventorySize)
		if err != nil {
			return nil, fmt.Errorf("playbook %s: %w", nameOrPath, err)
		}
		return Parse(nameOrPath, data, kinds)
	}
	data, err := fs.ReadFile(builtin, nameOrPath+".toml")
	if err != nil {
		return nil, fmt.Errorf("unknown playbook %q (built-in: %s)", nameOrPath, strings.Join(Names(builtin), ", "))
	}
	return Parse(nameOrPath, data, kinds)
}

// Names lists the built-in playbooks.
func Names(builtin fs.FS) []string {
	matches, _ := fs.Glob(builtin, "*.toml")
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(filepath.Base(m), ".toml"))
	}
	sort.Strings(names)
	return names
}

// Parse decodes and checks a playbook, after expanding the built-in
// fragments it uses; kinds knows the step types and decodes each step's
// fields.
func Parse(source string, data []byte, kinds Kinds) (*Playbook, error) {
	return parseWith(source, data, kinds, playbooks.FS)
}

// parseWith is Parse with the fragments in fragments.
func parseWith(source string, data []byte, kinds Kinds, fragments fs.FS) (*Playbook, error) {
	expanded, err := expandFragments(source, data, fragments)
	if err != nil {
		return nil, err
	}
	// Lines of an expanded document are not the playbook's: errors then
	// name the step and key only.
	where := "playbook " + source
	if !bytes.Equal(expanded, data) {
		where += " (with its fragments expanded)"
	}
	data = expanded
	var raw struct {
		Playbook
		Steps []toml.Primitive `toml:"step"`
	}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		return nil, fmt.Errorf("playbook %s: %w", source, err)
	}
	pb := raw.Playbook
	for i, prim := range raw.Steps {
		s, err := decodeStep(md, prim, kinds)
		if err != nil {
			if where != "playbook "+source {
				err = errors.New(expandedLine.ReplaceAllString(err.Error(), "toml: "))
			}
			return nil, fmt.Errorf("%s: step %d (%s): %w", where, i+1, s.Name, err)
		}
		pb.Steps = append(pb.Steps, s)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("playbook %s: unknown key %s", source, und[0])
	}
	pb.Source = source
	if err := pb.check(); err != nil {
		return nil, fmt.Errorf("playbook %s: %w", source, err)
	}
	return &pb, nil
}

// decodeStep decodes one [[step]] table: its name, type and when, then the
// fields of its type into the kind the registry names.
func decodeStep(md toml.MetaData, prim toml.Primitive, kinds Kinds) (Step, error) {
	var s Step
	if err := md.PrimitiveDecode(prim, &s); err != nil {
		return s, err
	}
	kind, ok := kinds.New(s.Type)
	if !ok {
		return s, fmt.Errorf("unknown type %q", s.Type)
	}
	if err := md.PrimitiveDecode(prim, kind); err != nil {
		return s, err
	}
	s.Kind = kind
	return s, nil
}

func (pb *Playbook) check() error {
	if pb.Name == "" {
		return fmt.Errorf("name is missing")
	}
	seen := map[string]bool{}
	for i, s := range pb.Steps {
		where := fmt.Sprintf("step %d (%s)", i+1, s.Name)
		if s.Name == "" {
			return fmt.Errorf("step %d: name is missing", i+1)
		}
		if seen[s.Name] {
			return fmt.Errorf("%s: duplicate step name", where)
		}
		seen[s.Name] = true
		if err := s.Kind.Check(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	for i, r := range pb.Rules {
		if r.Check == "" || r.Message == "" {
			return fmt.Errorf("rule %d needs check and message", i+1)
		}
	}
	for k, p := range pb.Ports {
		if p < 1 || p > 65535 {
			return fmt.Errorf("[ports] %s = %d: want a port number", k, p)
		}
	}
	if err := checkVars(pb.Vars); err != nil {
		return err
	}
	if pb.Start.Script == "" || pb.Start.PidFile == "" || pb.Start.Log == "" || pb.Start.StartedPattern == "" {
		return fmt.Errorf("[start] needs script, pid_file, log and started_pattern")
	}
	if len(pb.Java.Versions) == 0 {
		return fmt.Errorf("[java] versions is missing: list the Java versions the product supports, e.g. versions = [\"1.7\", \"1.8\"]")
	}
	return pb.DepSync.check()
}
