package textdiff

// differ computes which lines of a are deleted and which lines of b are
// inserted, using Myers' O(ND) algorithm with the linear-space "middle
// snake" divide and conquer.
type differ struct {
	a, b []int // lines interned as integers
	del  []bool
	ins  []bool
}

// diffLines returns the edit script turning a into b.
func diffLines(a, b []string) []edit {
	ids := map[string]int{}
	d := &differ{a: intern(a, ids), b: intern(b, ids), del: make([]bool, len(a)), ins: make([]bool, len(b))}
	d.compare(0, len(a), 0, len(b))
	kinds := make([]opKind, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && d.del[i]:
			kinds = append(kinds, opDelete)
			i++
		case j < len(b) && d.ins[j]:
			kinds = append(kinds, opInsert)
			j++
		default:
			kinds = append(kinds, opEqual)
			i++
			j++
		}
	}
	slideDown(kinds, d.a, d.b)
	return positions(kinds)
}

// slideDown moves each run of only insertions (or only deletions) down
// while the line after the run equals its first line, as diff(1) does.
// The diff stays minimal, but an inserted XML element then reads as one
// block: "+</a>\n+<a>\n+ x\n </a>" becomes "+<a>\n+ x\n+</a>".
func slideDown(kinds []opKind, a, b []int) {
	pos := positions(kinds) // stays valid at run starts: sliding keeps counts
	for i := 0; i < len(kinds); {
		k := kinds[i]
		if k == opEqual || (i > 0 && kinds[i-1] != opEqual) {
			i++
			continue
		}
		j := i
		for j < len(kinds) && kinds[j] == k {
			j++
		}
		lines, first := b, pos[i].bi
		if k == opDelete {
			lines, first = a, pos[i].ai
		}
		n := j - i
		for j < len(kinds) && kinds[j] == opEqual && lines[first] == lines[first+n] {
			kinds[i], kinds[j] = opEqual, k
			i, j, first = i+1, j+1, first+1
		}
		i = j
	}
}

// positions numbers the script: the a and b lines each entry refers to.
func positions(kinds []opKind) []edit {
	out := make([]edit, len(kinds))
	ai, bi := 0, 0
	for n, k := range kinds {
		out[n] = edit{k, ai, bi}
		if k != opInsert {
			ai++
		}
		if k != opDelete {
			bi++
		}
	}
	return out
}

func intern(lines []string, ids map[string]int) []int {
	out := make([]int, len(lines))
	for i, l := range lines {
		id, ok := ids[l]
		if !ok {
			id = len(ids)
			ids[l] = id
		}
		out[i] = id
	}
	return out
}

// compare diffs a[aLo:aHi] against b[bLo:bHi].
func (d *differ) compare(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
		aLo++
		bLo++
	}
	for aLo < aHi && bLo < bHi && d.a[aHi-1] == d.b[bHi-1] {
		aHi--
		bHi--
	}
	if aLo == aHi || bLo == bHi {
		d.mark(aLo, aHi, bLo, bHi)
		return
	}
	x, y, ok := d.bisect(aLo, aHi, bLo, bHi)
	if !ok || (x == aLo && y == bLo) || (x == aHi && y == bHi) {
		d.mark(aLo, aHi, bLo, bHi)
		return
	}
	d.compare(aLo, x, bLo, y)
	d.compare(x, aHi, y, bHi)
}

// mark records a[aLo:aHi] as deleted and b[bLo:bHi] as inserted.
func (d *differ) mark(aLo, aHi, bLo, bHi int) {
	for i := aLo; i < aHi; i++ {
		d.del[i] = true
	}
	for j := bLo; j < bHi; j++ {
		d.ins[j] = true
	}
}

// bisect finds the middle snake of the two ranges and returns the point
// where it ends (absolute offsets), splitting the problem in two. ok is
// false when the ranges have nothing in common.
func (d *differ) bisect(aLo, aHi, bLo, bHi int) (x, y int, ok bool) {
	a, b := d.a[aLo:aHi], d.b[bLo:bHi]
	n, m := len(a), len(b)
	maxD := (n + m + 1) / 2
	off := maxD
	size := 2*maxD + 2
	v1 := make([]int, size)
	v2 := make([]int, size)
	for i := range v1 {
		v1[i], v2[i] = -1, -1
	}
	v1[off+1], v2[off+1] = 0, 0
	delta := n - m
	front := delta%2 != 0
	k1start, k1end, k2start, k2end := 0, 0, 0, 0
	for dd := 0; dd < maxD; dd++ {
		for k1 := -dd + k1start; k1 <= dd-k1end; k1 += 2 {
			i1 := off + k1
			var x1 int
			if k1 == -dd || (k1 != dd && v1[i1-1] < v1[i1+1]) {
				x1 = v1[i1+1]
			} else {
				x1 = v1[i1-1] + 1
			}
			y1 := x1 - k1
			for x1 < n && y1 < m && a[x1] == b[y1] {
				x1++
				y1++
			}
			v1[i1] = x1
			switch {
			case x1 > n:
				k1end += 2
			case y1 > m:
				k1start += 2
			case front:
				i2 := off + delta - k1
				if i2 >= 0 && i2 < size && v2[i2] != -1 && x1 >= n-v2[i2] {
					return aLo + x1, bLo + y1, true
				}
			}
		}
		for k2 := -dd + k2start; k2 <= dd-k2end; k2 += 2 {
			i2 := off + k2
			var x2 int
			if k2 == -dd || (k2 != dd && v2[i2-1] < v2[i2+1]) {
				x2 = v2[i2+1]
			} else {
				x2 = v2[i2-1] + 1
			}
			y2 := x2 - k2
			for x2 < n && y2 < m && a[n-x2-1] == b[m-y2-1] {
				x2++
				y2++
			}
			v2[i2] = x2
			switch {
			case x2 > n:
				k2end += 2
			case y2 > m:
				k2start += 2
			case !front:
				i1 := off + delta - k2
				if i1 >= 0 && i1 < size && v1[i1] != -1 {
					x1 := v1[i1]
					y1 := off + x1 - i1
					if x1 >= n-x2 {
						return aLo + x1, bLo + y1, true
					}
				}
			}
		}
	}
	return 0, 0, false
}
