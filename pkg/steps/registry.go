package steps

import "github.com/carbonctl/carbonctl/pkg/playbook"

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
