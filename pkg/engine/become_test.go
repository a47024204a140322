package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/inventory"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

func TestCheckBecome(t *testing.T) {
	refused := &remote.BecomeError{Host: "n2", User: "ops", Msg: "Sorry, try again."}
	tests := []struct {
		name string
		errs map[string]error // host address -> its connection error
		want string           // "" = no refusal
	}{
		{"every host fine", map[string]error{"n1": nil, "n2": nil}, ""},
		{"an unreachable host fails alone", map[string]error{"n1": errors.New("connection refused"), "n2": nil}, ""},
		{"a refused become password stops the run", map[string]error{"n1": nil, "n2": refused},
			"sudo on n2 refused the become password of login user ops"},
		{"wrapped too", map[string]error{"n1": nil, "n2": errors.Join(errors.New("read state of n2"), refused)},
			"the run stops before any step, on every host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Engine{Inv: &inventory.Inventory{}, Hosts: map[string]*Host{}}
			e.Inv.Cluster.Name = "c1"
			for addr, err := range tt.errs {
				h := NewHost(addr)
				h.Err = err
				e.Hosts[addr] = h
			}
			r := e.checkBecome()
			if tt.want == "" {
				if r != nil {
					t.Fatalf("refused: %v", r.Err)
				}
				return
			}
			if r == nil || r.Status != Failed || r.Target != "c1" || !strings.Contains(r.Err.Error(), tt.want) {
				t.Fatalf("got %+v, want a failed result for c1 saying %q", r, tt.want)
			}
		})
	}
}
