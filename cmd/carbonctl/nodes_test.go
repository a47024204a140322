package main

import (
	"os"
	"testing"
)

func TestNodeArguments(t *testing.T) {
	inv := sampleInventory(t)
	before, _ := os.ReadFile(inv)
	t.Setenv("CARBONCTL_DB_ADMIN_PASSWORD", "x")
	t.Setenv("CARBONCTL_DB_PASSWORD", "y")
	add := func(args ...string) []string { return append([]string{"carbonctl", "add-node", inv}, args...) }
	tests := []cliRun{
		{[]string{"carbonctl", "add-node", "--name", "w", "--host", "198.18.0.24", "--role", "worker"}, 2, "usage: carbonctl add-node INVENTORY"},
		{add("--host", "198.18.0.24", "--role", "worker"), 2, `"name" not set`},
		{add("--name", "wrk1", "--host", "198.18.0.24", "--role", "worker"), 2, `node "wrk1" already exists`},
		{add("--name", "wrk3", "--host", "198.18.0.22", "--role", "worker", "--port-offset", "0"), 2,
			"esb-lab.toml:56: node[4].port_offset: nodes wrk1 and wrk3 on 198.18.0.22 both use port offset 0"},
		{add("--name", "wrk3", "--host", "198.18.0.24", "--role", "boss"), 2, `esb-lab.toml:59: node[4].role: unknown role "boss"`},
		{add("--name", "wrk3", "--host", "wrk3.invalid", "--role", "worker"), 2, `node[4].host: node wrk3: host name "wrk3.invalid":`},
		{add("--name", "wrk3", "--host", "198.18.0.24", "--role", "worker", "--product", "nosuch"), 2, "nosuch"},
		{[]string{"carbonctl", "remove-node", inv, "--name", "mgr1"}, 2, "mgr1 is the last manager of its product"},
		{[]string{"carbonctl", "remove-node", inv, "--name", "nobody"}, 2, `no node named "nobody"`},
	}
	checkRuns(t, tests)
	if after, _ := os.ReadFile(inv); string(after) != string(before) {
		t.Errorf("a refused command changed the inventory")
	}
	if _, err := os.Stat(inv + ".bak"); err == nil {
		t.Errorf("a refused command wrote a backup")
	}
}
