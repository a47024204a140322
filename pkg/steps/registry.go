package steps

import (
	"sort"

	"github.com/carbonctl/carbonctl/pkg/playbook"
)

// Kinds is the registry of every step kind carbonctl implements, one line
// each: adding a kind is its own file and one line here.
func Kinds() Registry {
	return Registry{kinds: map[string]func() playbook.Kind{
		"product":             kind[Product],
		"java":                kind[Java],
		"copy":                kind[Copy],
		"xml":                 kind[XML],
		"text":                kind[Text],
		"hosts":               kind[Hosts],
		"databases":           kind[Databases],
		"registry-collection": kind[RegistryCollection],
		"service":             kind[Service],
		"start":               kind[Start],
		"truststore":          kind[Truststore],
		"lb-certs":            kind[LBCerts],
		"lb-vhosts":           kind[LBVHosts],
		"depsync":             kind[DepSync],
	}}
}

// Registry names the step kinds by their type.
type Registry struct {
	kinds map[string]func() playbook.Kind
}

// New returns a new, empty kind of type typ (playbook.Kinds).
func (r Registry) New(typ string) (playbook.Kind, bool) {
	f, ok := r.kinds[typ]
	if !ok {
		return nil, false
	}
	return f(), true
}

// Types lists the registered step types in order.
func (r Registry) Types() []string {
	var out []string
	for t := range r.kinds {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// kind returns a new, empty kind of type T: the registry's constructor.
func kind[T any, P interface {
	*T
	playbook.Kind
}]() playbook.Kind {
	return P(new(T))
}
