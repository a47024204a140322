package steps

import (
	"regexp"
	"testing"
)

func TestJoinedIn(t *testing.T) {
	joined := regexp.MustCompile(`Member joined \[[^\]]*\]: /(\S+)`)
	log := "TID: [0] [] INFO {x} -  Member joined [abc]: /10.0.0.2:4000\n" +
		"TID: [0] [] INFO {x} -  Member left [abc]: /10.0.0.3:4000\n"
	if !joinedIn(log, "10.0.0.2:4000", joined.FindStringSubmatch) {
		t.Error("joined line for 10.0.0.2:4000 not found")
	}
	for _, addr := range []string{"10.0.0.3:4000", "10.0.0.2:4001", "10.0.0.2"} {
		if joinedIn(log, addr, joined.FindStringSubmatch) {
			t.Errorf("joinedIn(%q) = true", addr)
		}
	}
}
