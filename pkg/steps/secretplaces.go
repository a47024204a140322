package steps

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/xmlpatch"
)

// Masking by place: a secret is masked wherever a playbook writes one, in
// the file's current content as well as in the new one. Masking by value
// alone knows only today's secrets; the password a rotation replaces is
// in the file, at the place the playbook writes the new one.

// secretProbe stands in for every secret when the places are derived: an
// edit whose rendered value holds it writes a secret.
const secretProbe = "carbonctl-secret-probe-5f1c"

// secretPlace is where a playbook writes a secret in an XML file: the text
// of the element at path, or its attribute attr.
type secretPlace struct{ path, attr string }

// withProbes returns v with every secret replaced by secretProbe.
func withProbes(v engine.Vars) engine.Vars {
	v.DB.Password = secretProbe
	v.DepSync.SvnPassword = secretProbe
	v.Product.AdminPassword = secretProbe
	return v
}

// withAdminProbe returns v with only the admin console password replaced
// by secretProbe.
func withAdminProbe(v engine.Vars) engine.Vars {
	v.Product.AdminPassword = secretProbe
	return v
}

// secretPlaces lists the places of an xml step's edits that write a secret
// on the node whose data is v: edits marked `secret = true`, and edits
// whose value comes from a secret (.DB.Password, .DepSync.SvnPassword,
// .Product.AdminPassword), whether or not their `when` holds. Inside an
// ensure or inner fragment, the places are the elements and attributes the
// secret lands in (all of them for a marked edit).
func secretPlaces(s playbook.Step, f *engine.FileEdits, v engine.Vars) ([]secretPlace, error) {
	return probedPlaces(s, f, v, withProbes(v), true)
}

// adminPasswordPlaces lists the places where the step writes the admin
// console password.
func adminPasswordPlaces(s playbook.Step, f *engine.FileEdits, v engine.Vars) ([]secretPlace, error) {
	return probedPlaces(s, f, v, withAdminProbe(v), false)
}

// probedPlaces lists the places whose value, rendered with probe, holds
// secretProbe, and with marked those of edits marked `secret = true`.
func probedPlaces(s playbook.Step, f *engine.FileEdits, v, probe engine.Vars, marked bool) ([]secretPlace, error) {
	var places []secretPlace
	for i, ed := range f.Edits {
		// A place is secret on every node, whether or not the edit
		// applies to this one: a skipped edit's old secret may still
		// show as a diff's context.
		name := fmt.Sprintf("%s edit %d", s.Name, i+1)
		value, err := probe.Render(name+".value", ed.Value)
		if err != nil {
			if ok, _ := v.When(name+".when", ed.When); !ok {
				continue
			}
			return nil, err
		}
		holds := func(s string) bool { return marked && ed.Secret || strings.Contains(s, secretProbe) }
		if !holds(value) {
			continue
		}
		p, err := v.Render(name+".path", ed.Path)
		if err != nil {
			return nil, err
		}
		switch ed.Op {
		case "set":
			places = append(places, secretPlace{path: p})
		case "attr":
			places = append(places, secretPlace{path: p, attr: ed.Attr})
		case "ensure", "inner":
			places = append(places, fragmentPlaces(p, value, ed.Op == "ensure", holds)...)
		}
	}
	return places, nil
}

// fragmentPlaces lists the elements and attributes of an XML fragment
// whose text holds (by holds) a secret. The fragment is the content of the
// element at base (inner), or with ensured set that element itself.
func fragmentPlaces(base, fragment string, ensured bool, holds func(string) bool) []secretPlace {
	dec := xml.NewDecoder(strings.NewReader(fragment))
	dec.Strict = false
	var stack []string
	var text strings.Builder
	var places []secretPlace
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return places
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			text.Reset()
			at := fragmentPath(base, stack, ensured)
			for _, a := range t.Attr {
				if holds(a.Value) {
					places = append(places, secretPlace{path: at, attr: a.Name.Local})
				}
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if s := strings.TrimSpace(text.String()); s != "" && holds(s) {
				places = append(places, secretPlace{path: fragmentPath(base, stack, ensured)})
			}
			text.Reset()
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// fragmentPath is the path of the fragment element at the end of stack.
func fragmentPath(base string, stack []string, ensured bool) string {
	if ensured {
		stack = stack[1:]
	}
	if len(stack) == 0 {
		return base
	}
	return base + "/" + strings.Join(stack, "/")
}

// placeValues returns the non-empty values at places in an XML document;
// places that are absent or ambiguous in it are skipped.
func placeValues(doc []byte, places []secretPlace) []string {
	var out []string
	for _, pl := range places {
		var v string
		var ok bool
		var err error
		if pl.attr != "" {
			v, ok, err = xmlpatch.GetAttr(doc, pl.path, pl.attr)
		} else {
			v, ok, err = xmlpatch.Get(doc, pl.path)
		}
		if err == nil && ok && v != "" {
			out = append(out, v)
		}
	}
	return out
}
