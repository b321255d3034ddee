// Package templates holds the text dsqlenv writes for people: the starter profiles file and
// the shell snippets. They are embedded so the binary is all a user installs.
package templates

import _ "embed"

// Profiles is the commented starter file `dsqlenv init` writes.
//
//go:embed profiles.yaml
var Profiles string

// AmazonRoots is the default sslrootcert: Amazon Root CA 1 to 4, concatenated PEM, byte for
// byte as Debian's ca-certificates ships them (/usr/share/ca-certificates/mozilla/
// Amazon_Root_CA_{1..4}.crt, from Mozilla's store; also at amazontrust.com/repository/).
// Every Aurora DSQL endpoint's chain ends at Root CA 1 today; 2 to 4 are Amazon's other roots,
// so a change of chain keeps verifying. Public certificates.
//
//go:embed AmazonRootCAs.pem
var AmazonRoots []byte

// AmazonRootsSHA256 are the SHA-256 fingerprints of AmazonRoots' certificates (DER), in order:
// Root CA 1 (RSA 2048, to 2038-01-17), 2 (RSA 4096, to 2040), 3 (P-256, to 2040) and 4 (P-384,
// to 2040). dsqlenv refuses to hand out a bundle that does not match.
var AmazonRootsSHA256 = []string{
	"8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
	"1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
	"18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
	"e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
}

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
