package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpsArguments(t *testing.T) {
	inv := filepath.Join("..", "..", "fixtures", "inventories", "esb-lab.toml")
	t.Setenv("CARBONCTL_DB_ADMIN_PASSWORD", "x")
	t.Setenv("CARBONCTL_DB_PASSWORD", "y")
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"carbonctl", "status"}, 2, "usage: carbonctl status INVENTORY"},
		{[]string{"carbonctl", "status", "--output", "xml", inv}, 2, `--output: "xml" is neither table nor json`},
		{[]string{"carbonctl", "status", "--limit", "nobody", inv}, 2, `no node named "nobody"`},
		{[]string{"carbonctl", "logs", inv}, 2, "usage: carbonctl logs INVENTORY NODE"},
		{[]string{"carbonctl", "logs", inv, "nobody"}, 2, `no node named "nobody"`},
		{[]string{"carbonctl", "logs", inv, "mgr1", "-n", "-3"}, 2, "cannot be negative"},
		{[]string{"carbonctl", "restart"}, 2, "usage: carbonctl restart INVENTORY"},
		{[]string{"carbonctl", "stop", "--limit", "nobody", inv}, 2, `no node named "nobody"`},
		{[]string{"carbonctl", "start", "--no-such-flag", inv}, 2, "no-such-flag"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tt.args, &out, &errOut)
		all := out.String() + errOut.String()
		if code != tt.code || !strings.Contains(all, tt.out) {
			t.Errorf("%v: exit %d, output %q; want exit %d containing %q", tt.args, code, all, tt.code, tt.out)
		}
	}
}
