// Package templates holds the text dsqlenv writes for people: the starter profiles file and
// the shell snippets. They are embedded so the binary is all a user installs.
package templates

import _ "embed"

// Profiles is the commented starter file `dsqlenv init` writes.
//
//go:embed profiles.yaml
var Profiles string

// AmazonRootCA1 is the root that signs every Aurora DSQL endpoint's certificate, as published
// at amazontrust.com/repository/AmazonRootCA1.pem (a public certificate; SHA-256 of the DER
// 8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E, valid to 2038-01-17).
//
//go:embed AmazonRootCA1.pem
var AmazonRootCA1 []byte

// AmazonRootCA1SHA256 is the expected fingerprint of AmazonRootCA1's DER bytes.
const AmazonRootCA1SHA256 = "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e"

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
