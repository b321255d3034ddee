package emit

import _ "embed"

// bash reads the POSIX block (posix.go); what is its own is the prompt hook, which reads the
// clock with $EPOCHSECONDS or printf '%(%s)T', and the completion through complete -F.
var (
	//go:embed bash/hook.bash
	bashHook string
	//go:embed bash/completion.bash
	bashCompletion string
)
