// Package templates holds the text dsqlenv writes for people that belongs to no one shell:
// the starter profiles file. It is embedded so the binary is all a user installs. (A shell's
// hook and completion script live beside its renderer in emit; the Amazon root certificates
// are in internal/roots.)
package templates

import _ "embed"

// Profiles is the commented starter file `dsqlenv init` writes.
//
//go:embed profiles.yaml
var Profiles string
