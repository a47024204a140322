package playbook

// Exported for the external tests of the fragment expansion.
var (
	ExpandFragments = expandFragments
	LoadFragment    = loadFragment
	ParseWith       = parseWith
)
