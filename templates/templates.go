// Package templates holds the text dsqlenv writes for people: the starter profiles file and
// the shell snippets. They are embedded so the binary is all a user installs.
package templates

import _ "embed"

// Profiles is the commented starter file `dsqlenv init` writes.
//
//go:embed profiles.yaml
var Profiles string
