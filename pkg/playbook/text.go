package playbook

import (
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/textedit"
)

// checkText checks a text step: a file and edits whose op and fields fit.
// Templates are checked when rendered; a pattern without a template is
// compiled here already.
func (s Step) checkText() error {
	if s.File == "" || len(s.Edits) == 0 {
		return fmt.Errorf("text needs file and at least one edit")
	}
	for j, e := range s.Edits {
		op, err := textedit.ParseOp(e.Op)
		if err != nil {
			return fmt.Errorf("edit %d: %w", j+1, err)
		}
		switch {
		case op == textedit.Property && (e.Key == "" || e.Pattern != "" || e.Path != ""):
			return fmt.Errorf("edit %d: property needs key (and no pattern or path)", j+1)
		case op == textedit.Replace && (e.Pattern == "" || e.Key != "" || e.Path != ""):
			return fmt.Errorf("edit %d: replace needs pattern (and no key or path)", j+1)
		}
		if op == textedit.Replace && !strings.Contains(e.Pattern, "{{") {
			if err := (textedit.Edit{Op: op, Pattern: e.Pattern}).Check(); err != nil {
				return fmt.Errorf("edit %d: %w", j+1, err)
			}
		}
	}
	return nil
}
