// Package templates holds the text dsqlenv writes for people: the starter profiles file and
// the shell snippets. They are embedded so the binary is all a user installs. (The Amazon root
// certificates are in internal/roots.)
package templates

import _ "embed"

// Profiles is the commented starter file `dsqlenv init` writes.
//
//go:embed profiles.yaml
var Profiles string

// The prompt hooks `dsqlenv hook SHELL` prints; {{.Bin}} is the binary's quoted path.
var (
	//go:embed hook.bash
	HookBash string
	//go:embed hook.zsh
	HookZsh string
	//go:embed hook.fish
	HookFish string
	//go:embed hook.ps1
	HookPowerShell string
)

// The completion scripts `dsqlenv completion SHELL` prints; {{.Bin}} as in the hooks.
var (
	//go:embed completion.bash
	CompletionBash string
	//go:embed completion.zsh
	CompletionZsh string
	//go:embed completion.fish
	CompletionFish string
	//go:embed completion.ps1
	CompletionPowerShell string
)
